"""Reading YAML with positions: compose the node tree, then typed accessors that report diagnostics.

PyYAML's ``compose`` keeps every node's start mark, so each diagnostic points at the exact line and column
of the offending key or value. Values are built from scalar nodes one at a time (YAML 1.1 rules of the safe
loader), mappings are walked by hand so duplicate keys are caught (the safe loader silently keeps the last).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Final

import yaml

from agentgov.policy.lang.diagnostics import Sink, suggest

Node = yaml.Node

_TYPE_NAMES: Final = {
    "tag:yaml.org,2002:str": "a string",
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:null": "nothing (null)",
    "tag:yaml.org,2002:seq": "a list",
    "tag:yaml.org,2002:map": "a mapping",
}


@dataclass(frozen=True, slots=True)
class Loc:
    """A 1-based line and column in the source."""

    line: int
    column: int


def loc(node: Node) -> Loc:
    """Where a node starts."""
    return Loc(node.start_mark.line + 1, node.start_mark.column + 1)


def compose(source: str, sink: Sink) -> Node | None:
    """The root node of a single-document YAML text, or None after reporting why not."""
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        sink.add("AG001", f"{exc.context + ', ' if exc.context else ''}{exc.problem}", line, col)
        return None
    except yaml.YAMLError as exc:
        sink.add("AG001", str(exc), 1, 1)
        return None
    if root is None:
        sink.add("AG003", "the document is empty; a bundle starts with apiVersion, kind and metadata", 1, 1)
        return None
    if not isinstance(root, yaml.MappingNode):
        at = loc(root)
        sink.add("AG003", f"a bundle is a mapping, not {type_name(root)}", at.line, at.column)
        return None
    return root


def type_name(node: Node) -> str:
    """A node's YAML type in words (``a list``)."""
    return _TYPE_NAMES.get(node.tag, "a tagged value")


class Reader:
    """Typed access to nodes; every accessor reports what is wrong and returns None instead of raising."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._loader = yaml.SafeLoader("")

    def error(self, code: str, node: Node, message: str, suggestion: str | None = None) -> None:
        """Report a diagnostic at ``node``."""
        at = loc(node)
        self.sink.add(code, message, at.line, at.column, suggestion)

    def value(self, node: Node) -> object:
        """The Python value of a scalar node (None for collections)."""
        if isinstance(node, yaml.ScalarNode):
            return self._loader.construct_object(node, deep=True)
        return None

    def mapping(
        self, node: Node, what: str, allowed: Collection[str], required: Collection[str] = ()
    ) -> dict[str, tuple[Node, Node]] | None:
        """A mapping's entries by key (key node, value node); reports unknown, duplicate and missing keys."""
        if not isinstance(node, yaml.MappingNode):
            self.error("AG102", node, f"{what} must be a mapping, not {type_name(node)}")
            return None
        out: dict[str, tuple[Node, Node]] = {}
        for knode, vnode in node.value:
            key = self.value(knode)
            if not isinstance(key, str):
                self.error("AG102", knode, f"keys of {what} must be strings, not {type_name(knode)}")
                continue
            if key in out:
                first = loc(out[key][0])
                self.error("AG002", knode, f"{what}: key {key!r} appears twice (first at line {first.line})")
                continue
            if key not in allowed:
                choices = sorted(allowed)
                self.error(
                    "AG101",
                    knode,
                    f"{what}: unknown key {key!r}; expected one of {', '.join(choices)}",
                    suggest(key, choices),
                )
                continue
            out[key] = (knode, vnode)
        for key in required:
            if key not in out:
                self.error("AG103", node, f"{what}: missing required key {key!r}")
        return out

    def entries(self, node: Node, what: str) -> Iterator[tuple[str, Node, Node]]:
        """The entries of a mapping with free-form keys (team and agent ids, tool globs)."""
        if not isinstance(node, yaml.MappingNode):
            self.error("AG102", node, f"{what} must be a mapping, not {type_name(node)}")
            return
        seen: dict[str, Node] = {}
        for knode, vnode in node.value:
            key = self.value(knode)
            if not isinstance(key, str):
                self.error("AG102", knode, f"keys of {what} must be strings, not {type_name(knode)}")
                continue
            if key in seen:
                self.error("AG002", knode, f"{what}: key {key!r} appears twice (first at line {loc(seen[key]).line})")
                continue
            seen[key] = knode
            yield key, knode, vnode

    def sequence(self, node: Node, what: str, empty_hint: str) -> list[Node] | None:
        """A list's items; an empty list is reported (warning) and read as absent (None)."""
        if not isinstance(node, yaml.SequenceNode):
            self.error("AG102", node, f"{what} must be a list, not {type_name(node)}")
            return None
        if not node.value:
            self.error("AG401", node, f"{what} is empty, which is the same as leaving it out; {empty_hint}")
            return None
        return list(node.value)

    def string(self, node: Node, what: str) -> str | None:
        """A non-empty string scalar."""
        v = self.value(node)
        if not isinstance(v, str):
            self.error("AG102", node, f"{what} must be a string, not {type_name(node)}")
            return None
        if not v.strip():
            self.error("AG104", node, f"{what} must not be empty")
            return None
        return v

    def strings(self, node: Node, what: str, empty_hint: str) -> list[tuple[str, Node]] | None:
        """A non-empty list of strings with their nodes."""
        items = self.sequence(node, what, empty_hint)
        if items is None:
            return None
        return [(s, item) for item in items if (s := self.string(item, f"an item of {what}")) is not None]

    def integer(self, node: Node, what: str, lo: int | None = None, hi: int | None = None) -> int | None:
        """An integer (not a boolean) within [lo, hi]."""
        v = self.value(node)
        if not isinstance(v, int) or isinstance(v, bool):
            self.error("AG102", node, f"{what} must be an integer, not {type_name(node)}")
            return None
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
            self.error("AG109", node, f"{what} must be {bounds}, not {v}")
            return None
        return v

    def number(self, node: Node, what: str) -> float | None:
        """A non-negative number (int or float)."""
        v = self.value(node)
        if not isinstance(v, int | float) or isinstance(v, bool):
            self.error("AG102", node, f"{what} must be a number, not {type_name(node)}")
            return None
        if v < 0:
            self.error("AG109", node, f"{what} must not be negative, not {v}")
            return None
        return float(v)

    def choice(self, node: Node, what: str, choices: Collection[str]) -> str | None:
        """One of ``choices``; a near miss gets a suggestion."""
        v = self.value(node)
        if not isinstance(v, str):
            self.error("AG102", node, f"{what} must be one of {', '.join(choices)}, not {type_name(node)}")
            return None
        if v not in choices:
            self.error("AG104", node, f"{what} must be one of {', '.join(choices)}, not {v!r}", suggest(v, choices))
            return None
        return v
