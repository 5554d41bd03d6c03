"""The compiled scope sections of one level: tools, shell, files, network.

Each votes on an action with ``vote(state, out)``, appending MatchedRules, and only on the actions it is
about (``tools``: actions with a tool; ``shell``: kind shell; ``files``: kind file; ``network``: http
actions and any action carrying a URL). ``ids()`` lists every rule id a section can produce, so coverage
(``agentgov policy test``) can name the ones no case reached. The conditions (data, schedule, budget) are
in :mod:`~agentgov.policy.lang.conditions`.
"""

from __future__ import annotations

from agentgov.contracts.events import MatchedRule
from agentgov.policy.lang import model
from agentgov.policy.lang.globs import GlobSet
from agentgov.policy.lang.hosts import HostError, HostSet
from agentgov.policy.lang.state import State


class ToolsSection:
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
            out.append(
                MatchedRule(
                    id="tools.deny", effect="deny", reason=f"tool {tool!r} matches deny pattern {p!r}", scope=self.scope
                )
            )
        if p := self.review.match(tool):
            out.append(
                MatchedRule(
                    id="tools.review",
                    effect="review",
                    reason=f"tool {tool!r} matches review pattern {p!r}",
                    scope=self.scope,
                )
            )
        if self.allow:
            if p := self.allow.match(tool):
                out.append(
                    MatchedRule(
                        id="tools.allow",
                        effect="allow",
                        reason=f"tool {tool!r} matches allow pattern {p!r}",
                        scope=self.scope,
                    )
                )
            else:
                out.append(
                    MatchedRule(
                        id="tools.not_allowed",
                        effect="deny",
                        reason=f"tool {tool!r} is not in the allow list",
                        scope=self.scope,
                    )
                )


class ShellSection:
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
        for effect, globs in (("deny", self.deny), ("review", self.review)):
            if not globs:
                continue
            for text in (cmd.line, *cmd.parts):
                if p := globs.match(text):
                    reason = f"command {text!r} matches {effect} pattern {p!r}"
                    out.append(MatchedRule(id=f"shell.{effect}", effect=effect, reason=reason, scope=self.scope))  # type: ignore[arg-type]
                    break
        if not self.allow:
            return
        if cmd.substitution:
            why = "the command line runs commands inside $(…), backticks or <(…), which no pattern can allow"
            out.append(MatchedRule(id="shell.not_allowed", effect="deny", reason=why, scope=self.scope))
            return
        for part in cmd.parts or ("",):
            if not self.allow.match(part):
                why = f"command {part!r} matches no allow pattern"
                out.append(MatchedRule(id="shell.not_allowed", effect="deny", reason=why, scope=self.scope))
                return
        why = f"every command in {cmd.line!r} matches an allow pattern"
        out.append(MatchedRule(id="shell.allow", effect="allow", reason=why, scope=self.scope))


class FilesSection:
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
            out.append(MatchedRule(id="files.sensitive", effect=self.sensitive_effect, reason=why, scope=self.scope))
        if not self.closed:
            return
        if p := self.write.match(path):
            out.append(
                MatchedRule(
                    id="files.write",
                    effect="allow",
                    reason=f"{verb} of {path} is inside write scope {p!r}",
                    scope=self.scope,
                )
            )
        elif not writing and (p := self.read.match(path)):
            out.append(
                MatchedRule(
                    id="files.read",
                    effect="allow",
                    reason=f"{verb} of {path} is inside read scope {p!r}",
                    scope=self.scope,
                )
            )
        else:
            where = "the write scope" if writing else "the read and write scopes"
            why = f"{verb} of {label} {path} is outside {where}"
            out.append(MatchedRule(id="files.outside_scope", effect="deny", reason=why, scope=self.scope))


class NetworkSection:
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
                out.append(MatchedRule(id="network.bad_url", effect="deny", reason=str(target), scope=self.scope))
                continue
            host = target.host or str(target.ip)
            if p := self.deny.match(target):
                out.append(
                    MatchedRule(
                        id="network.deny",
                        effect="deny",
                        reason=f"host {host} matches deny pattern {p!r}",
                        scope=self.scope,
                    )
                )
            if self.allow:
                if p := self.allow.match(target):
                    out.append(
                        MatchedRule(
                            id="network.allow",
                            effect="allow",
                            reason=f"host {host} matches allow pattern {p!r}",
                            scope=self.scope,
                        )
                    )
                else:
                    why = f"host {host} (port {target.port}) of {url!r} is not in the allow list"
                    out.append(MatchedRule(id="network.not_allowed", effect="deny", reason=why, scope=self.scope))


def _ids(prefix: str, **sets: GlobSet | HostSet) -> list[str]:
    return [f"{prefix}.{name}" for name, s in sets.items() if s]
