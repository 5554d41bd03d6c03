"""Reading the sections of one level (the bundle top, ``teams.<team>``, ``agents.<agent>``) into the model.

Every reader reports all it finds through the :class:`~agentgov.policy.lang.source.Reader` and returns what
it could read; a section with an error still yields its other parts, so one run lists every problem.
"""

from __future__ import annotations

from typing import Final, cast

import yaml

from agentgov.policy.lang import model
from agentgov.policy.lang.celexpr import CelProblem, compile_when
from agentgov.policy.lang.globs import GlobError, GlobKind, glob_regex
from agentgov.policy.lang.hosts import HostError, parse_pattern
from agentgov.policy.lang.schedule import ScheduleError, Window, parse_days, parse_hours, zone
from agentgov.policy.lang.source import Node, Reader, loc
from agentgov.policy.lang.units import parse_duration, parse_rate

LEVEL_KEYS: Final = (
    "timezone",
    "risk",
    "tools",
    "shell",
    "files",
    "network",
    "data",
    "schedule",
    "rate_limits",
    "budget",
    "rules",
)
VERDICTS: Final = ("allow", "review", "deny", "redact")
_NOT_REDACT: Final = ("allow", "review", "deny")


class LevelReader:
    """Reads one level's sections; ``where`` prefixes messages (``teams.payments``)."""

    def __init__(self, r: Reader, where: str, ids: dict[str, dict[str, int]]) -> None:
        self.r = r
        self.where = where
        self.ids = ids
        """Rule and rate-limit ids seen so far in the bundle, with their lines (to report duplicates)."""

    def _w(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def level(self, entries: dict[str, tuple[Node, Node]]) -> model.Policy:
        """The Policy made of the level keys present in ``entries``."""
        get = {k: v for k, (_, v) in entries.items() if k in LEVEL_KEYS}
        rd = {
            "timezone": self.timezone,
            "risk": self.risk,
            "tools": self.tools,
            "shell": self.shell,
            "files": self.files,
            "network": self.network,
            "data": self.data,
            "schedule": self.schedule,
            "rate_limits": self.rate_limits,
            "budget": self.budget,
            "rules": self.rules,
        }
        values = {k: rd[k](node) for k, node in get.items()}
        return model.Policy(**{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]

    # -- small parts ---------------------------------------------------------------------------------

    def globs(self, node: Node, what: str, kind: GlobKind, hint: str) -> tuple[str, ...] | None:
        """A list of globs, each checked."""
        items = self.r.strings(node, self._w(what), hint)
        if items is None:
            return None
        out: list[str] = []
        for text, item in items:
            if kind == "path" and not text.startswith(("/", "~/", "**")):
                self.r.error("AG202", item, f"{self._w(what)}: {text!r} must start with '/', '~/' or '**'")
                continue
            try:
                glob_regex(text, kind)
            except GlobError as exc:
                self.r.error("AG201", item, f"{self._w(what)}: bad glob {text!r}: {exc}")
                continue
            out.append(text)
        return tuple(out)

    def hosts(self, node: Node, what: str, hint: str) -> tuple[str, ...] | None:
        """A list of host patterns, each checked."""
        items = self.r.strings(node, self._w(what), hint)
        if items is None:
            return None
        out: list[str] = []
        for text, item in items:
            try:
                parse_pattern(text)
            except HostError as exc:
                self.r.error(exc.code, item, f"{self._w(what)}: {exc}")
                continue
            out.append(text)
        return tuple(out)

    def match(self, node: Node, what: str) -> model.Match:
        """A ``match`` mapping: kinds and tool globs."""
        m = self.r.mapping(node, self._w(what), ("kinds", "tools"))
        if m is None:
            return model.Match()
        kinds: tuple[str, ...] | None = None
        if "kinds" in m:
            items = self.r.strings(m["kinds"][1], self._w(f"{what}.kinds"), "leave it out to match every kind")
            if items is not None:
                kinds = tuple(k for k, n in items if self.r.choice(n, f"an item of {self._w(what)}.kinds", model.KINDS))
        tools = None
        if "tools" in m:
            tools = self.globs(m["tools"][1], f"{what}.tools", "name", "leave it out to match every tool")
        return model.Match(kinds, tools)

    def cel_error(self, node: Node, label: str, problem: CelProblem) -> None:
        """Report a CEL problem; a syntax error on a one-line ``when`` points at its exact column."""
        at = loc(node)
        line, column = at.line, at.column
        if problem.position is not None and node.start_mark.line == node.end_mark.line:
            quoted = isinstance(node, yaml.ScalarNode) and node.style in ("'", '"')
            column += problem.position[1] - 1 + int(quoted)
        self.r.sink.add(problem.code, f"rule {label}: {problem.message}", line, column, problem.suggestion)

    def claim_id(self, node: Node, space: str, what: str) -> str | None:
        """A rule or limit id: a subject-safe token, unique in the bundle within ``space``."""
        text = self.r.string(node, what)
        if text is None:
            return None
        if text == "default" or not text.replace("-", "").replace("_", "").isalnum() or not text[0].isalnum():
            self.r.error("AG107", node, f"{what} {text!r} must be letters, digits, '-' and '_' (not 'default')")
            return None
        seen = self.ids.setdefault(space, {})
        if text in seen:
            self.r.error("AG108", node, f"{what} {text!r} is already used at line {seen[text]}")
            return None
        seen[text] = node.start_mark.line + 1
        return text

    # -- sections ------------------------------------------------------------------------------------

    def timezone(self, node: Node) -> str | None:
        """An IANA zone name."""
        name = self.r.string(node, self._w("timezone"))
        if name is None:
            return None
        try:
            zone(name)
        except ValueError:
            self.r.error(
                "AG205", node, f"{self._w('timezone')}: {name!r} is not an IANA time zone (e.g. Europe/Berlin)"
            )
            return None
        return name

    def risk(self, node: Node) -> model.Risk | None:
        """``risk: {review_at, deny_at}``."""
        m = self.r.mapping(node, self._w("risk"), ("review_at", "deny_at"))
        if m is None:
            return None
        review = self.r.integer(m["review_at"][1], self._w("risk.review_at"), 0, 100) if "review_at" in m else None
        deny = self.r.integer(m["deny_at"][1], self._w("risk.deny_at"), 0, 100) if "deny_at" in m else None
        if review is not None and deny is not None and review >= deny:
            self.r.error("AG209", node, f"{self._w('risk')}: review_at ({review}) must be below deny_at ({deny})")
        return model.Risk(review, deny)

    def tools(self, node: Node) -> model.Tools | None:
        """``tools: {allow, deny, review, settings}``."""
        m = self.r.mapping(node, self._w("tools"), ("allow", "deny", "review", "settings"))
        if m is None:
            return None
        lists = {
            k: self.globs(m[k][1], f"tools.{k}", "name", _hint(k)) if k in m else None
            for k in ("allow", "deny", "review")
        }
        settings: list[model.ToolSetting] = []
        if "settings" in m:
            for glob, knode, vnode in self.r.entries(m["settings"][1], self._w("tools.settings")):
                try:
                    glob_regex(glob, "name")
                except GlobError as exc:
                    self.r.error("AG201", knode, f"{self._w('tools.settings')}: bad glob {glob!r}: {exc}")
                    continue
                s = self.setting(glob, vnode)
                if s is not None:
                    settings.append(s)
        return model.Tools(lists["allow"], lists["deny"], lists["review"], tuple(settings))

    def setting(self, glob: str, node: Node) -> model.ToolSetting | None:
        """One ``tools.settings.<glob>`` entry."""
        what = self._w(f"tools.settings.{glob}")
        m = self.r.mapping(node, what, ("risk", "rate", "effect", "max_args_bytes"))
        if m is None:
            return None
        rate = None
        if "rate" in m:
            try:
                rate = parse_rate(self.r.value(m["rate"][1]))
            except ValueError as exc:
                self.r.error("AG207", m["rate"][1], f"{what}.rate: {exc}")
        return model.ToolSetting(
            glob=glob,
            line=node.start_mark.line + 1,
            risk=self.r.integer(m["risk"][1], f"{what}.risk", 0, 100) if "risk" in m else None,
            rate=rate,
            effect=cast(model.Effect | None, self.r.choice(m["effect"][1], f"{what}.effect", VERDICTS))
            if "effect" in m
            else None,
            max_args_bytes=self.r.integer(m["max_args_bytes"][1], f"{what}.max_args_bytes", 1)
            if "max_args_bytes" in m
            else None,
        )

    def shell(self, node: Node) -> model.Shell | None:
        """``shell: {allow, deny, review}``."""
        m = self.r.mapping(node, self._w("shell"), ("allow", "deny", "review"))
        if m is None:
            return None
        got = {k: self.globs(m[k][1], f"shell.{k}", "command", _hint(k)) if k in m else None for k in m}
        return model.Shell(got.get("allow"), got.get("deny"), got.get("review"))

    def files(self, node: Node) -> model.Files | None:
        """``files: {read, write, sensitive, sensitive_effect}``."""
        m = self.r.mapping(node, self._w("files"), ("read", "write", "sensitive", "sensitive_effect"))
        if m is None:
            return None
        hints = {
            "read": "to allow no reads write read: ['/nonexistent'] or deny with a rule",
            "write": "an absent write list still closes writes when read is given",
            "sensitive": "leave it out",
        }
        got = {k: self.globs(m[k][1], f"files.{k}", "path", hints[k]) for k in ("read", "write", "sensitive") if k in m}
        effect = "deny"
        if "sensitive_effect" in m:
            effect = self.r.choice(m["sensitive_effect"][1], self._w("files.sensitive_effect"), ("deny", "review")) or "deny"
        return model.Files(got.get("read"), got.get("write"), got.get("sensitive"), cast(model.Effect, effect))

    def network(self, node: Node) -> model.Network | None:
        """``network: {allow, deny}``."""
        m = self.r.mapping(node, self._w("network"), ("allow", "deny"))
        if m is None:
            return None
        got = {k: self.hosts(m[k][1], f"network.{k}", _hint(k)) for k in ("allow", "deny") if k in m}
        return model.Network(got.get("allow"), got.get("deny"))

    def data(self, node: Node) -> model.Data | None:
        """``data: {secrets, pii}``."""
        m = self.r.mapping(node, self._w("data"), ("secrets", "pii"))
        if m is None:
            return None
        secrets = (
            self.r.choice(m["secrets"][1], self._w("data.secrets"), ("redact", "block", "alert"))
            if "secrets" in m
            else None
        )
        pii = (
            self.r.choice(m["pii"][1], self._w("data.pii"), ("redact", "block", "alert", "ignore"))
            if "pii" in m
            else None
        )
        return model.Data(cast(model.DataMode | None, secrets), cast(model.DataMode | None, pii))

    def schedule(self, node: Node) -> model.Schedule | None:
        """``schedule: {timezone, active, outside, match}``."""
        m = self.r.mapping(node, self._w("schedule"), ("timezone", "active", "outside", "match"), ("active",))
        if m is None or "active" not in m:
            return None
        tz = self.timezone(m["timezone"][1]) if "timezone" in m else None
        windows: list[Window] = []
        items = self.r.sequence(
            m["active"][1],
            self._w("schedule.active"),
            "to block every time write outside: deny with active: [{days: [mon], hours: '00:00-00:01'}] or use a rule",
        )
        for item in items or ():
            w = self.window(item)
            if w is not None:
                windows.append(w)
        outside = (
            self.r.choice(m["outside"][1], self._w("schedule.outside"), ("review", "deny"))
            if "outside" in m
            else "deny"
        )
        match = self.match(m["match"][1], "schedule.match") if "match" in m else model.Match()
        if not windows:
            return None
        return model.Schedule(tuple(windows), cast(model.Effect, outside or "deny"), tz, match)

    def window(self, node: Node) -> Window | None:
        """One ``{days, hours}`` window."""
        what = self._w("schedule.active[]")
        m = self.r.mapping(node, what, ("days", "hours"))
        if m is None:
            return None
        days: frozenset[int] | None = frozenset(range(7))
        if "days" in m:
            items = self.r.strings(m["days"][1], f"{what}.days", "leave it out for every day")
            try:
                days = parse_days([t for t, _ in items]) if items else days
            except ScheduleError as exc:
                self.r.error("AG208", m["days"][1], f"{what}.days: {exc}")
                days = None
        start, end = 0, 24 * 60
        if "hours" in m:
            text = self.r.string(m["hours"][1], f"{what}.hours")
            if text is None:
                return None
            try:
                start, end = parse_hours(text)
            except ScheduleError as exc:
                self.r.error("AG208", m["hours"][1], f"{what}.hours: {exc}")
                return None
        if days is None:
            return None
        return Window(days, start, end)

    def rate_limits(self, node: Node) -> tuple[model.RateLimit, ...] | None:
        """``rate_limits: [{id, match, limit, per, key}]``."""
        items = self.r.sequence(node, self._w("rate_limits"), "leave it out")
        out: list[model.RateLimit] = []
        for item in items or ():
            m = self.r.mapping(
                item, self._w("rate_limits[]"), ("id", "match", "limit", "per", "key"), ("id", "limit", "per")
            )
            if m is None or not {"id", "limit", "per"} <= m.keys():
                continue
            rid = self.claim_id(m["id"][1], "rate_limits", "rate limit id")
            limit = self.r.integer(m["limit"][1], self._w("rate_limits[].limit"), 1)
            try:
                per = parse_duration(self.r.value(m["per"][1]))
            except ValueError as exc:
                self.r.error("AG206", m["per"][1], f"{self._w('rate_limits[].per')}: {exc}")
                per = None
            key = (
                self.r.choice(m["key"][1], self._w("rate_limits[].key"), ("agent", "team", "org"))
                if "key" in m
                else "agent"
            )
            match = self.match(m["match"][1], "rate_limits[].match") if "match" in m else model.Match()
            if rid and limit and per and key:
                out.append(model.RateLimit(rid, limit, per, cast(model.LimitKey, key), match, item.start_mark.line + 1))
        return tuple(out)

    def budget(self, node: Node) -> model.Budget | None:
        """``budget: {review_when_estimate_over_usd, deny_when_remaining_below_usd, when_unknown}``."""
        keys = ("review_when_estimate_over_usd", "deny_when_remaining_below_usd", "when_unknown")
        m = self.r.mapping(node, self._w("budget"), keys)
        if m is None:
            return None
        usd = {k: self.r.number(m[k][1], self._w(f"budget.{k}")) for k in keys[:2] if k in m}
        micros = {k: round(v * 1_000_000) if v is not None else None for k, v in usd.items()}
        unknown = (
            self.r.choice(m["when_unknown"][1], self._w("budget.when_unknown"), _NOT_REDACT)
            if "when_unknown" in m
            else "allow"
        )
        return model.Budget(micros.get(keys[0]), micros.get(keys[1]), cast(model.Default, unknown or "allow"))

    def rules(self, node: Node) -> tuple[model.Rule, ...] | None:
        """``rules: [{id, when, effect, reason, match, risk}]``."""
        items = self.r.sequence(node, self._w("rules"), "leave it out")
        out: list[model.Rule] = []
        for item in items or ():
            m = self.r.mapping(
                item, self._w("rules[]"), ("id", "when", "effect", "reason", "match", "risk"), ("id", "effect")
            )
            if m is None or not {"id", "effect"} <= m.keys():
                continue
            rid = self.claim_id(m["id"][1], "rules", "rule id")
            label = rid or str(self.r.value(m["id"][1]))
            effect = self.r.choice(m["effect"][1], self._w(f"rules[{rid}].effect"), VERDICTS)
            when = self.r.string(m["when"][1], self._w(f"rules[{rid}].when")) if "when" in m else None
            if when is not None:
                got = compile_when(when)
                if isinstance(got, CelProblem):
                    self.cel_error(m["when"][1], label, got)
                    continue
            reason = (self.r.string(m["reason"][1], self._w(f"rules[{rid}].reason")) or "") if "reason" in m else ""
            risk = self.r.integer(m["risk"][1], self._w(f"rules[{rid}].risk"), 0, 100) if "risk" in m else None
            match = self.match(m["match"][1], f"rules[{rid}].match") if "match" in m else model.Match()
            if rid and effect:
                out.append(
                    model.Rule(rid, cast(model.Effect, effect), when, reason, match, risk, item.start_mark.line + 1)
                )
        return tuple(out)


def _hint(key: str) -> str:
    if key == "allow":
        return "an empty allow list has no effect; to block everything write deny: ['*']"
    return "leave it out"
