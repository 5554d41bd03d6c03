"""The shared parts of reading a level: ids, globs, host lists, ``match`` blocks, zones, CEL problems.

:class:`SectionReader` is the base of :class:`~agentgov.policy.lang.parse_sections.LevelReader`; every method
reports problems through the :class:`~agentgov.policy.lang.source.Reader` and returns what it could read.
"""

from __future__ import annotations

from typing import Final

import yaml

from agentgov.policy.lang import model
from agentgov.policy.lang.celexpr import CelProblem
from agentgov.policy.lang.globs import GlobError, GlobKind, glob_regex
from agentgov.policy.lang.hosts import HostError, parse_pattern
from agentgov.policy.lang.schedule import zone
from agentgov.policy.lang.source import Node, Reader, loc

VERDICTS: Final = ("allow", "review", "deny", "redact")
"""The effects a vote may ask for."""


class SectionReader:
    """Reads the parts sections share; ``where`` prefixes messages (``teams.payments``)."""

    def __init__(self, r: Reader, where: str, ids: dict[str, dict[str, int]]) -> None:
        self.r = r
        self.where = where
        self.ids = ids
        """Rule and rate-limit ids seen so far in the bundle, with their lines (to report duplicates)."""

    def _w(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

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


def hint(key: str) -> str:
    if key == "allow":
        return "an empty allow list has no effect; to block everything write deny: ['*']"
    return "leave it out"
