"""Words of a parsed command: argv tokens after quote removal, and the source text they map back to.

A ``Src`` is one parsed string (the command, or a string re-parsed as shell) with the top-level offset of
each of its bytes; a ``Token`` is one argv word of a ``command`` node. Quote removal follows bash: single
quotes keep everything, double quotes drop the backslash before ``"\\$`` and newline, a bare word drops
every backslash. Node text is read by slicing the UTF-8 bytes of the ``Src`` (``Node.text`` copies).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

import tree_sitter as ts
import tree_sitter_bash as tsb

LANGUAGE: Final = ts.Language(tsb.language())


def kind_ids(*names: str) -> frozenset[int]:
    """Every kind id with one of these names: a name can have several ids, and ``Node.kind_id`` (an int)
    costs half of ``Node.type`` (a new string each call)."""
    return frozenset(i for i in range(LANGUAGE.node_kind_count) if LANGUAGE.node_kind_for_id(i) in names)


#: Children of a ``command`` after its name that are not arguments.
_REDIRECTS: Final = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
_NOT_ARGUMENT: Final = _REDIRECTS | {"comment", "subshell"}
_NOT_ARGUMENT_IDS: Final = kind_ids(*_NOT_ARGUMENT)
_WORD_IDS: Final = kind_ids("word")
_COMMAND_NAME_IDS: Final = kind_ids("command_name")
_ESCAPABLE: Final = frozenset(b'"\\$`\n')
_MAX_DESCEND: Final = 1_000  # nodes one rule looks at under a node
_NO_STOP: Final[frozenset[str]] = frozenset()


class Src:
    """One parsed string: its bytes, where each byte sits in the top-level command, how deep it is nested.

    ``offsets`` is a ``range`` at top level (identity) and a tuple inside a re-parsed string; ``spawned``
    says the string is run by another program (``find -exec sh -c STRING``, a hook option's value).
    ``argv`` caches the tokens of each command node (by ``Node.id``), shared by the command and pipeline
    rules.
    """

    __slots__ = ("argv", "data", "depth", "offsets", "spawned")

    def __init__(self, data: bytes, offsets: Sequence[int], depth: int, spawned: bool) -> None:
        self.data = data
        self.offsets = offsets
        self.depth = depth
        self.spawned = spawned
        self.argv: dict[int, list[Token]] = {}

    def text(self, node: ts.Node) -> bytes:
        return self.data[node.start_byte : node.end_byte]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The top-level span of bytes ``start:end`` of this string."""
        offsets = self.offsets
        last = len(offsets) - 1
        lo = offsets[min(start, last)]
        hi = offsets[min(max(end - 1, start), last)] + (1 if end > start else 0)
        return lo, hi


class Token:
    """One argv word after quote removal, with the node it came from.

    ``text`` is computed eagerly (every rule reads it); the per-byte offset map back into the top-level
    command is only needed when the word is analysed again as shell, so ``mapped()`` builds it on demand.
    """

    __slots__ = ("node", "src", "text")

    def __init__(self, node: ts.Node, src: Src) -> None:
        self.node = node
        self.src = src
        self.text = unquote_fast(node, src.data).decode("utf-8", errors="replace")

    def mapped(self) -> tuple[bytes, tuple[int, ...]]:
        """The unquoted bytes and, for each byte (plus one past the end), its top-level offset."""
        src, node = self.src, self.node
        raw, idx = _unquote(node, src.data)
        offsets = src.offsets
        end_off = offsets[node.end_byte] if node.end_byte < len(offsets) else offsets[-1]
        return raw, (*(offsets[i] for i in idx), end_off)


def _word_token(node: ts.Node, src: Src, data: bytes, s: int, e: int) -> Token:
    """A ``Token`` for a ``word`` node without backslashes: its text is the slice itself."""
    token = Token.__new__(Token)
    token.node = node
    token.src = src
    token.text = data[s:e].decode("utf-8", errors="replace")
    return token


def descend(node: ts.Node, stop: frozenset[str] = _NO_STOP) -> Iterator[ts.Node]:
    """The nodes under ``node`` (not below a ``stop`` type), at most ``_MAX_DESCEND`` of them.

    The order is the walk's: last child first, each node before the nodes under it.
    """
    stack = list(node.children)
    budget = _MAX_DESCEND
    while stack and budget > 0:
        budget -= 1
        cur = stack.pop()
        yield cur
        if not stop or cur.type not in stop:
            stack.extend(cur.children)


def command_name(cmd: ts.Node) -> ts.Node | None:
    """The ``command_name`` child (cheaper than ``child_by_field_name``)."""
    for child in cmd.children:
        if child.type == "command_name":
            return child
    return None


def command_tokens(cmd: ts.Node, src: Src) -> list[Token]:
    """The argv tokens (name, then arguments) of a ``command`` node that has a name; computed once.

    The arguments are the children after the name that are not redirections: the same nodes as
    ``children_by_field_name("argument")``, which costs ~2.5 µs a call.
    """
    tokens = src.argv.get(cmd.id)
    if tokens is not None:
        return tokens
    tokens = []
    named = False
    data = src.data
    for child in cmd.children:
        kind = child.kind_id
        if named:
            if kind in _WORD_IDS:
                s, e = child.start_byte, child.end_byte
                if data.find(b"\\", s, e) < 0:
                    tokens.append(_word_token(child, src, data, s, e))
                    continue
            if kind not in _NOT_ARGUMENT_IDS:
                tokens.append(Token(child, src))
        elif kind in _COMMAND_NAME_IDS:
            named = True
            tokens.append(Token(child, src))
    src.argv[cmd.id] = tokens
    return tokens


def unquote_fast(node: ts.Node, data: bytes) -> bytes:
    """The bytes of ``_unquote`` without the offset map: slices unless a backslash needs removing."""
    kind = node.type
    s, e = node.start_byte, node.end_byte
    if kind == "word":
        return data[s:e] if data.find(b"\\", s, e) < 0 else _unescape(data, s, e, None)[0]
    if kind == "raw_string" and e - s >= 2:
        return data[s + 1 : e - 1]
    if kind == "string" and e - s >= 2:
        return (
            data[s + 1 : e - 1] if data.find(b"\\", s + 1, e - 1) < 0 else _unescape(data, s + 1, e - 1, _ESCAPABLE)[0]
        )
    if kind == "command_name":  # its first named child (``named_children`` builds a new list)
        for child in node.children:
            if child.is_named:
                return unquote_fast(child, data)
        return data[s:e]
    if kind == "concatenation":
        out, pos = bytearray(), s
        for child in node.children:
            out += data[pos : child.start_byte]
            out += unquote_fast(child, data)
            pos = child.end_byte
        return bytes(out)
    return data[s:e]


def _unquote(node: ts.Node, data: bytes) -> tuple[bytes, list[int]]:
    """Quote removal with, for each output byte, its offset in ``data``."""
    kind = node.type
    s, e = node.start_byte, node.end_byte
    if kind == "command_name" and node.named_children:
        return _unquote(node.named_children[0], data)
    if kind == "concatenation":
        out, pos = bytearray(), s
        idx: list[int] = []
        for child in node.children:
            out += data[pos : child.start_byte]
            idx += range(pos, child.start_byte)
            b, i = _unquote(child, data)
            out += b
            idx += i
            pos = child.end_byte
        return bytes(out), idx
    if kind == "raw_string" and e - s >= 2:
        return data[s + 1 : e - 1], list(range(s + 1, e - 1))
    if kind == "string" and e - s >= 2:
        return _unescape(data, s + 1, e - 1, _ESCAPABLE)
    if kind == "word":
        return _unescape(data, s, e, None)
    return data[s:e], list(range(s, e))


def _unescape(data: bytes, s: int, e: int, only: frozenset[int] | None) -> tuple[bytes, list[int]]:
    out, i = bytearray(), s
    idx: list[int] = []
    while i < e:
        if data[i] == 0x5C and i + 1 < e and (only is None or data[i + 1] in only):
            i += 1
        out.append(data[i])
        idx.append(i)
        i += 1
    return bytes(out), idx
