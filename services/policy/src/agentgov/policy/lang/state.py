"""The scratch state of one evaluation: the input, and everything derived from it at most once.

Sections ask for what they need (the parsed command line, the checked paths, the URL hosts, the local
time in a zone, the CEL context) and get it computed on first use and cached for the rest of this one
evaluation. Nothing here outlives the evaluation, so evaluation stays pure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import cel
import msgspec

from agentgov.policy.lang import model
from agentgov.policy.lang.celcache import ContextCache, Entry
from agentgov.policy.lang.celneeds import Needs, merge, project
from agentgov.policy.lang.hosts import HostError, Target, parse_url
from agentgov.policy.lang.inputs import EvalInput
from agentgov.policy.lang.paths import CheckedPath, check_path
from agentgov.policy.lang.scanner import Finding
from agentgov.policy.lang.schedule import local_time
from agentgov.policy.lang.shell import CommandLine, parse_command

_MICROS: Final = 1_000_000


class State:
    """Derived facts about one action, computed lazily."""

    def __init__(self, inp: EvalInput, findings: list[Finding], contexts: ContextCache | None = None) -> None:
        self.inp = inp
        self._contexts = contexts
        self.action = inp.action
        self.findings = findings
        self.pre_risk = 0
        """Risk before rules: findings and tool settings."""
        self.errors: list[str] = []
        self.rule_approvals: dict[tuple[str, str], model.Approvals] = {}
        """The ``approval`` of each review rule that matched and has one, by (scope, rule id)."""
        self._command: CommandLine | None = None
        self._paths: list[tuple[str, CheckedPath]] | None = None
        self._urls: list[tuple[str, Target | HostError]] | None = None
        self._args_bytes: int | None = None
        self._local: dict[str, datetime] = {}
        self._ctx: Any = None
        self._ctx_needs: Needs = {}
        self._ctx_zone = ""
        self._entry: Entry | None = None

    # -- derived facts -------------------------------------------------------------------------------

    def command(self) -> CommandLine:
        """The shell command line (the action's target), split and normalized."""
        if self._command is None:
            self._command = parse_command(self.action.target or "")
        return self._command

    def paths(self) -> list[tuple[str, CheckedPath]]:
        """The file paths to check: the target, and ``args.resolved`` when it differs."""
        if self._paths is None:
            args = self.action.args
            cwd = args.get("cwd")
            target = self.action.target
            first = check_path(target, cwd) if target else CheckedPath("", "relative_path", "the action names no path")
            self._paths = [("path", first)]
            resolved = args.get("resolved")
            if isinstance(resolved, str) and resolved != target:
                self._paths.append(("resolved path", check_path(resolved, cwd)))
        return self._paths

    def urls(self) -> list[tuple[str, Target | HostError]]:
        """Every URL the action carries (an http target, ``args.url``, ``args.arguments.url``), parsed."""
        if self._urls is None:
            raw: list[str] = []
            if self.action.kind == "http":
                raw.append(self.action.target or "")
            args = self.action.args
            inner = args.get("arguments")
            for holder in (args, inner if isinstance(inner, dict) else {}):
                url = holder.get("url")
                if isinstance(url, str) and url not in raw:
                    raw.append(url)
            self._urls = []
            for url in raw:
                try:
                    self._urls.append((url, parse_url(url)))
                except HostError as exc:
                    self._urls.append((url, exc))
        return self._urls

    def args_bytes(self) -> int:
        """The size of the arguments as JSON."""
        if self._args_bytes is None:
            self._args_bytes = len(msgspec.json.encode(self.action.args))
        return self._args_bytes

    def local(self, tz: ZoneInfo) -> datetime:
        """The evaluation time as wall-clock time in ``tz``."""
        got = self._local.get(tz.key)
        if got is None:
            got = self._local[tz.key] = local_time(self.inp.now_ns, tz)
        return got

    # -- the CEL context -----------------------------------------------------------------------------

    def cel_context(self, needs: Needs, tz: ZoneInfo) -> Any:
        """The one CEL context of this evaluation, holding at least ``needs`` (``time`` in ``tz``).

        Built on first use; a later level whose rules read more gets the missing parts added (a variable is
        converted again only when what is read of it grows, or when ``time`` is wanted in another zone).
        """
        if self._ctx is None:
            if self._contexts is None:
                self._ctx = cel.Context()
            else:
                self._entry = self._contexts.entry(self.inp.agent)
                self._ctx = self._entry.ctx
                if self._entry.spec is not False:
                    self._ctx_needs["agent"] = self._entry.spec  # type: ignore[assignment]
        have = self._ctx_needs
        for name, wanted in needs.items():
            spec = wanted
            zone_changed = name == "time" and self._ctx_zone != tz.key
            if name in have and not zone_changed:
                if have[name] == spec:
                    continue
                spec = merge({name: have[name]}, {name: spec})[name]
                if spec == have[name]:
                    continue
            if name == "time":
                self._ctx_zone = tz.key
            self._ctx.add_variable(name, project(name, self._variable(name, tz), spec))
            have[name] = spec
            if name == "agent" and self._entry is not None:
                self._entry.spec = spec
        return self._ctx

    def _time(self, tz: ZoneInfo) -> dict[str, Any]:
        t = self.local(tz)
        return {
            "hour": t.hour,
            "minute": t.minute,
            "weekday": t.weekday(),
            "date": t.date().isoformat(),
            "unix": self.inp.now_ns // 1_000_000_000,
        }

    def _variable(self, name: str, tz: ZoneInfo) -> Any:
        inp, a = self.inp, self.action
        if name == "time":
            return self._time(tz)
        if name == "action":
            return {"kind": a.kind, "tool": a.tool, "target": a.target, "args": a.args}
        if name == "agent":
            g = inp.agent
            return {
                "id": g.id,
                "org": g.org,
                "team": g.team,
                "parent": g.parent,
                "lineage": list(g.lineage),
                "depth": g.depth,
                "trust": g.trust,
                "labels": g.labels,
            }
        if name == "request":
            est = inp.estimated_usd_micros
            return {"context": inp.request_context, "estimated_usd": None if est is None else est / _MICROS}
        if name == "session":
            view = inp.session_view
            return {"id": inp.session, "labels": sorted(view.labels) if view is not None else []}
        if name == "risk":
            return {"score": self.pre_risk}
        if name == "findings":
            return [
                {"category": f.category, "kind": f.kind, "severity": f.severity, "field": f.field}
                for f in self.findings
            ]
        if name == "budget":
            left = inp.budget.remaining_usd_micros if inp.budget is not None else None
            known = left is not None or (inp.budget is not None and inp.budget.unlimited)
            return {"known": known, "remaining_usd": None if left is None else left / _MICROS}
        raise KeyError(name)  # unreachable: compile_when rejects unknown variables
