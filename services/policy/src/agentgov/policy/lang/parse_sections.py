"""Reading the sections of one level (the bundle top, ``teams.<team>``, ``agents.<agent>``) into the model.

Every reader reports all it finds through the :class:`~agentgov.policy.lang.source.Reader` and returns what
it could read; a section with an error still yields its other parts, so one run lists every problem.
"""

from __future__ import annotations

from typing import Final, cast

from agentgov.contracts.units import parse_duration, parse_rate
from agentgov.policy.lang import model
from agentgov.policy.lang.celexpr import CelProblem, compile_when
from agentgov.policy.lang.globs import GlobError, glob_regex
from agentgov.policy.lang.parse_anomaly import read_anomaly
from agentgov.policy.lang.parse_base import VERDICTS, SectionReader, hint
from agentgov.policy.lang.schedule import ScheduleError, Window, parse_days, parse_hours
from agentgov.policy.lang.source import Node

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
    "approvals",
    "anomaly",
)
_NOT_REDACT: Final = ("allow", "review", "deny")
_RULE_KEYS: Final = ("id", "when", "effect", "reason", "match", "risk", "approval")
MAX_APPROVAL_TIMEOUT_S: Final = 86_400
"""The longest an approval may stay pending (a day): policy replicas remember grants and their use that long."""


class LevelReader(SectionReader):
    """Reads one level's sections."""

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
            "approvals": self.approvals,
            "anomaly": self.anomaly,
        }
        values = {k: rd[k](node) for k, node in get.items()}
        return model.Policy(**{k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]

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
            k: self.globs(m[k][1], f"tools.{k}", "name", hint(k)) if k in m else None
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
        got = {k: self.globs(m[k][1], f"shell.{k}", "command", hint(k)) if k in m else None for k in m}
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
            effect = (
                self.r.choice(m["sensitive_effect"][1], self._w("files.sensitive_effect"), ("deny", "review")) or "deny"
            )
        return model.Files(got.get("read"), got.get("write"), got.get("sensitive"), cast(model.Effect, effect))

    def network(self, node: Node) -> model.Network | None:
        """``network: {allow, deny}``."""
        m = self.r.mapping(node, self._w("network"), ("allow", "deny"))
        if m is None:
            return None
        got = {k: self.hosts(m[k][1], f"network.{k}", hint(k)) for k in ("allow", "deny") if k in m}
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

    def approvals(self, node: Node) -> model.Approvals | None:
        """``approvals: {timeout_s, fallback}`` (15 minutes and deny unless given)."""
        return self.approval_settings(node, self._w("approvals"))

    def approval_settings(self, node: Node, what: str) -> model.Approvals | None:
        """``{timeout_s, fallback}``, the ``approvals`` section or a rule's ``approval``; keys left out are the
        defaults (15 minutes, deny), not a wider level's."""
        m = self.r.mapping(node, what, ("timeout_s", "fallback"))
        if m is None:
            return None
        timeout = (
            self.r.integer(m["timeout_s"][1], f"{what}.timeout_s", 1, MAX_APPROVAL_TIMEOUT_S)
            if "timeout_s" in m
            else None
        )
        fallback = self.r.choice(m["fallback"][1], f"{what}.fallback", ("allow", "deny")) if "fallback" in m else None
        return model.Approvals(timeout or 900, cast(model.Fallback, fallback or "deny"))

    def rule_approval(self, key: Node, node: Node, what: str, effect: str | None) -> model.Approvals | None:
        """A rule's ``approval``: checked like the ``approvals`` section, and only on a review rule."""
        settings = self.approval_settings(node, what)
        if effect is not None and effect != "review":
            why = f"{what}: only a rule whose effect is review waits for an approval; this rule's effect is {effect}"
            self.r.error("AG111", key, why)
            return None
        return settings

    def anomaly(self, node: Node) -> model.Anomaly | None:
        """``anomaly: {...}``: the anomaly service's thresholds (see :mod:`.parse_anomaly`)."""
        return read_anomaly(self, node)

    def rules(self, node: Node) -> tuple[model.Rule, ...] | None:
        """``rules: [{id, when, effect, reason, match, risk, approval}]``."""
        items = self.r.sequence(node, self._w("rules"), "leave it out")
        out: list[model.Rule] = []
        for item in items or ():
            m = self.r.mapping(item, self._w("rules[]"), _RULE_KEYS, ("id", "effect"))
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
            approval = None
            if "approval" in m:
                approval = self.rule_approval(*m["approval"], self._w(f"rules[{rid}].approval"), effect)
            if rid and effect:
                line = item.start_mark.line + 1
                rule = model.Rule(rid, cast(model.Effect, effect), when, reason, match, risk, line, approval)
                out.append(rule)
        return tuple(out)
