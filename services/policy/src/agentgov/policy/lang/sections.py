"""The compiled scope sections of one level: tools, shell, files, network.

Each votes on an action with ``vote(state, out)``, appending MatchedRules, and only on the actions it is
about (``tools``: actions with a tool; ``shell``: kind shell; ``files``: kind file; ``network``: http
actions and any action carrying a URL). ``ids()`` lists every rule id a section can produce, so coverage
(``agentgov policy test``) can name the ones no case reached. The conditions (data, schedule, budget) are
in :mod:`~agentgov.policy.lang.conditions`.
"""

from __future__ import annotations

from agentgov.contracts.events import MatchedRule, Verdict
from agentgov.policy.lang import model
from agentgov.policy.lang.globs import GlobSet
from agentgov.policy.lang.hosts import HostError, HostSet
from agentgov.policy.lang.state import State


class _Section:
    """What every section shares: the scope it votes for."""

    scope: str

    def _vote(self, out: list[MatchedRule], rule_id: str, effect: Verdict, reason: str) -> None:
        out.append(MatchedRule(id=rule_id, effect=effect, reason=reason, scope=self.scope))


class ToolsSection(_Section):
    """``tools.allow|deny|review``."""

    def __init__(self, scope: str, s: model.Tools) -> None:
        self.scope = scope
        self.allow = GlobSet(s.allow or (), "name")
        self.deny = GlobSet(s.deny or (), "name")
        self.review = GlobSet(s.review or (), "name")

    def ids(self) -> list[str]:
        """Rule ids this section can produce."""
        return _ids(deny=self.deny, review=self.review, allow=self.allow, not_allowed=self.allow, prefix="tools")

    def vote(self, st: State, out: list[MatchedRule]) -> None:
        """Vote on the action's tool."""
        tool = st.action.tool
        if tool is None:
            return
        if p := self.deny.match(tool):
            self._vote(out, "tools.deny", "deny", f"tool {tool!r} matches deny pattern {p!r}")
        if p := self.review.match(tool):
            self._vote(out, "tools.review", "review", f"tool {tool!r} matches review pattern {p!r}")
        if self.allow:
            if p := self.allow.match(tool):
                self._vote(out, "tools.allow", "allow", f"tool {tool!r} matches allow pattern {p!r}")
            else:
                self._vote(out, "tools.not_allowed", "deny", f"tool {tool!r} is not in the allow list")


class ShellSection(_Section):
    """``shell.allow|deny|review`` over the simple commands of a command line."""

    def __init__(self, scope: str, s: model.Shell) -> None:
        self.scope = scope
        self.allow = GlobSet(s.allow or (), "command")
        self.deny = GlobSet(s.deny or (), "name")
        self.review = GlobSet(s.review or (), "name")

    def ids(self) -> list[str]:
        """Rule ids this section can produce."""
        return _ids(deny=self.deny, review=self.review, allow=self.allow, not_allowed=self.allow, prefix="shell")

    def vote(self, st: State, out: list[MatchedRule]) -> None:
        """Vote on a shell action's command line."""
        if st.action.kind != "shell":
            return
        cmd = st.command()
        votes: tuple[tuple[Verdict, GlobSet], ...] = (("deny", self.deny), ("review", self.review))
        for effect, globs in votes:
            if not globs:
                continue
            for text in (cmd.line, *cmd.parts):
                if p := globs.match(text):
                    reason = f"command {text!r} matches {effect} pattern {p!r}"
                    self._vote(out, f"shell.{effect}", effect, reason)
                    break
        if not self.allow:
            return
        if cmd.substitution:
            why = "the command line runs commands inside $(…), backticks or <(…), which no pattern can allow"
            self._vote(out, "shell.not_allowed", "deny", why)
            return
        for part in cmd.parts or ("",):
            if not self.allow.match(part):
                why = f"command {part!r} matches no allow pattern"
                self._vote(out, "shell.not_allowed", "deny", why)
                return
        why = f"every command in {cmd.line!r} matches an allow pattern"
        self._vote(out, "shell.allow", "allow", why)


class FilesSection(_Section):
    """``files.read|write|sensitive``; the path checks (relative, traversal) come with the section."""

    def __init__(self, scope: str, s: model.Files) -> None:
        self.scope = scope
        self.read = GlobSet(s.read or (), "path")
        self.write = GlobSet(s.write or (), "path")
        self.sensitive = GlobSet(s.sensitive or (), "path")
        self.sensitive_effect = s.sensitive_effect
        self.closed = bool(self.read or self.write)

    def ids(self) -> list[str]:
        """Rule ids this section can produce."""
        named = {"read": self.read, "write": self.write, "outside_scope": self.closed, "sensitive": self.sensitive}
        return ["files.relative_path", "files.path_traversal", *(f"files.{k}" for k, on in named.items() if on)]

    def vote(self, st: State, out: list[MatchedRule]) -> None:
        """Vote on a file action's path (and its resolved path, when the SDK sent a different one)."""
        if st.action.kind != "file":
            return
        op = st.action.args.get("op")
        writing = op not in ("read", "list")
        verb = f"{op}" if isinstance(op, str) else "write"
        seen: set[str] = set()
        for label, checked in st.paths():
            votes: list[MatchedRule] = []
            if checked.problem is not None:
                votes.append(
                    MatchedRule(id=f"files.{checked.problem}", effect="deny", reason=checked.why, scope=self.scope)
                )
            else:
                self._scope_votes(label, checked.path, verb, writing, votes)
            for v in votes:
                if v.id not in seen:
                    seen.add(v.id)
                    out.append(v)

    def _scope_votes(self, label: str, path: str, verb: str, writing: bool, out: list[MatchedRule]) -> None:
        if p := self.sensitive.match(path):
            why = f"{label} {path} matches sensitive pattern {p!r}"
            self._vote(out, "files.sensitive", self.sensitive_effect, why)
        if not self.closed:
            return
        if p := self.write.match(path):
            self._vote(out, "files.write", "allow", f"{verb} of {path} is inside write scope {p!r}")
        elif not writing and (p := self.read.match(path)):
            self._vote(out, "files.read", "allow", f"{verb} of {path} is inside read scope {p!r}")
        else:
            where = "the write scope" if writing else "the read and write scopes"
            why = f"{verb} of {label} {path} is outside {where}"
            self._vote(out, "files.outside_scope", "deny", why)


class NetworkSection(_Section):
    """``network.allow|deny`` over every URL an action carries."""

    def __init__(self, scope: str, s: model.Network) -> None:
        self.scope = scope
        self.allow = HostSet(s.allow or ())
        self.deny = HostSet(s.deny or ())

    def ids(self) -> list[str]:
        """Rule ids this section can produce."""
        return ["network.bad_url", *_ids(deny=self.deny, allow=self.allow, not_allowed=self.allow, prefix="network")]

    def vote(self, st: State, out: list[MatchedRule]) -> None:
        """Vote on each URL's host."""
        for url, target in st.urls():
            if isinstance(target, HostError):
                self._vote(out, "network.bad_url", "deny", str(target))
                continue
            host = target.host or str(target.ip)
            if p := self.deny.match(target):
                self._vote(out, "network.deny", "deny", f"host {host} matches deny pattern {p!r}")
            if self.allow:
                if p := self.allow.match(target):
                    self._vote(out, "network.allow", "allow", f"host {host} matches allow pattern {p!r}")
                else:
                    why = f"host {host} (port {target.port}) of {url!r} is not in the allow list"
                    self._vote(out, "network.not_allowed", "deny", why)


def _ids(prefix: str, **sets: GlobSet | HostSet) -> list[str]:
    return [f"{prefix}.{name}" for name, s in sets.items() if s]
