"""Shell command analysis: parse with tree-sitter-bash, walk the tree, report risky constructs.

``analyze(command)`` is pure and deterministic. It walks pipelines, lists, subshells, command and process
substitution, and parses again the strings that are themselves shell (``sh -c``, ``eval``, ``su -c``,
``watch``, ``find -exec sh -c``), mapping the inner findings' offsets back into the outer command.
Interpreter one-liners (``python -c``, ``perl -e``, ``ruby -e``, ``node -e``, ``php -r``, ``awk``) are
matched against socket / exec / system patterns. Wrappers (``sudo``, ``env``, ``nohup``, ``timeout``,
``xargs``…) are unwrapped and the wrapped command analysed as well.

Spans are UTF-8 byte offsets into ``command``; a finding's span covers the offending command node (for an
inner string, the mapped span of the inner node). Findings are deduplicated by (category, span) keeping
the highest severity, and sorted by start offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import tree_sitter as ts
import tree_sitter_bash as tsb

from agentgov.policy.detect import shell_rules as r
from agentgov.policy.detect.shell_argv import SHELL_PATH, base, check_argv, unwrap
from agentgov.policy.detect.shell_code import code_findings

_PARSER = ts.Parser(ts.Language(tsb.language()))
_MAX_DEPTH = 4
_SNIPPET = 120


@dataclass(frozen=True, slots=True)
class ShellFinding:
    """One risky construct: category, severity 0-100, UTF-8 byte span, one-line detail, and the text."""

    category: str
    severity: int
    start: int
    end: int
    detail: str
    snippet: str


@dataclass(frozen=True, slots=True)
class _Token:
    """One argv word after quote removal; ``offsets[i]`` is the top-level byte offset of byte ``i``."""

    text: str
    raw: bytes
    offsets: tuple[int, ...]
    node: ts.Node | None
    start: int
    end: int


def analyze(command: str) -> list[ShellFinding]:
    """Findings for one shell command line (or script); never raises on odd input."""
    data = command.encode("utf-8", errors="surrogatepass")
    walker = _Walker(data)
    walker.source(data, tuple(range(len(data) + 1)), 0, top=True)
    return walker.result()


class _Walker:
    def __init__(self, top: bytes) -> None:
        self._top = top
        self._found: dict[tuple[str, int, int], tuple[int, str]] = {}

    def result(self) -> list[ShellFinding]:
        out = []
        for (category, start, end), (severity, detail) in self._found.items():
            snippet = self._top[start:end].decode("utf-8", errors="replace")
            if len(snippet) > _SNIPPET:
                snippet = snippet[: _SNIPPET - 1] + "…"
            out.append(ShellFinding(category, severity, start, end, detail, snippet))
        out.sort(key=lambda f: (f.start, -f.severity, f.category, f.end))
        return out

    def emit(self, category: str, severity: int, start: int, end: int, detail: str) -> None:
        key = (category, start, max(end, start))
        if key not in self._found or self._found[key][0] < severity:
            self._found[key] = (severity, detail)

    # -- sources ---------------------------------------------------------------------------------------

    def source(self, data: bytes, offsets: tuple[int, ...], depth: int, *, top: bool = False) -> None:
        """Parse ``data`` (whose byte ``i`` sits at top-level offset ``offsets[i]``) and walk it."""
        if depth > _MAX_DEPTH:
            return
        tree = _PARSER.parse(data)
        src = _Src(data, offsets, depth)
        if tree.root_node.has_error and top:
            self.emit("parse_error", 30, 0, len(self._top), "the command does not parse as bash")
        self.walk(tree.root_node, src)

    def reparse(self, token: _Token, src: _Src) -> None:
        """Analyse a token's text as shell (``sh -c STRING``), offsets mapped back."""
        self.source(token.raw, token.offsets, src.depth + 1)

    # -- tree walk -------------------------------------------------------------------------------------

    def walk(self, node: ts.Node, src: _Src) -> None:
        kind = node.type
        if kind == "command":
            self.command(node, src)
        elif kind == "pipeline":
            self.pipeline(node, src)
        elif kind == "redirected_statement":
            self.redirects(node, src)
        elif kind == "unset_command" and re.search(rb"\bHIST(?:FILE|SIZE|FILESIZE)\b", src.text(node)):
            self.emit_node(src, node, "evasion", 80, "disables shell history")
        elif kind == "function_definition":
            self.function(node, src)
        elif kind == "variable_assignment":
            self.assignment(node, src)
        elif kind == "ansi_c_string" and len(re.findall(rb"\\(?:x[0-9a-fA-F]|u[0-9a-fA-F])", src.text(node))) >= 2:
            self.emit_node(src, node, "evasion", 70, "ANSI-C quoted string with hex escapes hides its text")
        elif kind == "expansion" and src.text(node).startswith(b"${!"):
            self.emit_node(src, node, "evasion", 75, "variable indirection ${!name}")
        for child in node.children:
            self.walk(child, src)

    def emit_node(self, src: _Src, node: ts.Node, category: str, severity: int, detail: str) -> None:
        start, end = src.span(node.start_byte, node.end_byte)
        self.emit(category, severity, start, end, detail)

    def command(self, node: ts.Node, src: _Src) -> None:
        name = node.child_by_field_name("name")
        if name is None:
            return
        if any(c.type in {"simple_expansion", "expansion"} for c in _descend(name, {"command_substitution"})):
            parts = list(name.named_children)
            inner = parts[0].named_children if len(parts) == 1 and parts[0].type == "concatenation" else parts
            if len(inner) > 1:
                self.emit_node(src, node, "evasion", 80, "command name assembled from variables")
        if _contains_command(name, r.DOWNLOADERS):
            self.emit_node(src, node, "download_exec", 95, "downloaded content run as a command")
        tokens = [_token(n, src) for n in [name, *node.children_by_field_name("argument")]]
        Argv(self, src, node, tokens).run(wrapped=False)

    def pipeline(self, node: ts.Node, src: _Src) -> None:
        stages = [_head_argv(c, src) for c in node.named_children]
        names = [s[0] if s else "" for s in stages]
        for i, argv in enumerate(stages):
            later = names[i + 1 :]
            if not argv or not later:
                continue
            name = argv[0]
            sink = next((n for n in later if n in r.SHELLS or n in r.INTERPRETERS or n == "source"), None)
            if name in r.DOWNLOADERS and sink:
                self.emit_node(src, node, "download_exec", 95, f"{name} output piped into {sink}")
            if _is_decoder(argv) and sink:
                self.emit_node(src, node, "evasion", 90, f"decoded payload piped into {sink}")
            if name in {"nc", "ncat", "netcat", "telnet", "socat"} or argv[:2] == ["openssl", "s_client"]:
                shells = [n for n in names if n in r.SHELLS]
                if shells and ("-l" in argv or "-lp" in argv or "-lvp" in argv or "-lnvp" in argv):
                    self.emit_node(src, node, "bind_shell", 90, f"{name} listener connected to a shell")
                elif shells:
                    self.emit_node(src, node, "reverse_shell", 95, f"{name} connection piped to/from a shell")
            net = next((n for n in later if n in r.NETWORK), None)
            if net and (_reads_secret(argv) or name in {"env", "printenv", "set", "export"}):
                self.emit_node(src, node, "exfiltration", 90, f"sensitive data from {name} sent to {net}")

    def redirects(self, node: ts.Node, src: _Src) -> None:
        body = node.child_by_field_name("body")
        argv = _head_argv(body, src) if body is not None else []
        for red in node.children_by_field_name("redirect"):
            if red.type != "file_redirect":
                continue
            dest = red.child_by_field_name("destination")
            if dest is None:
                continue
            path = _token(dest, src).text
            op = next((c.type for c in red.children if not c.is_named), ">")
            writes = op in {">", ">>", "&>", "&>>", ">|"}
            if path.startswith(("/dev/tcp/", "/dev/udp/")):
                self.emit_node(src, node, "reverse_shell", 95, "redirection to a /dev/tcp socket")
            elif writes:
                payload = [x for x in argv[1:] if SHELL_PATH.search(x)] if argv[:1] in (["echo"], ["printf"]) else []
                if payload and not all(x.startswith("#!") for x in payload):
                    self.emit_node(src, node, "shell_escape", 70, "writes a shell-spawning payload to a file")
                blank = not argv or argv[0] in {"echo", "cat", "true", ":", "printf"}
                self.write_target(src, node, path, truncate=blank and op in {">", ">|", "&>"})
            elif r.CREDENTIAL_PATH.search(path):
                if argv and argv[0] in r.NETWORK:
                    self.emit_node(src, node, "exfiltration", 90, f"credential file fed to {argv[0]}")
                else:
                    self.emit_node(src, node, "credential_access", 70, "reads a credential file")

    def write_target(self, src: _Src, node: ts.Node, path: str, *, truncate: bool) -> None:
        """Rules for a file the command writes (redirect, tee, cp/mv target)."""
        if r.DEVICE.match(path):
            self.emit_node(src, node, "destructive", 95, f"overwrites block device {path}")
        elif r.PRIV_FILES.match(path):
            self.emit_node(src, node, "privilege_escalation", 85, f"writes {path}")
        elif r.PERSIST_PATH.search(path):
            self.emit_node(src, node, "persistence", 75, f"writes autostart or access file {path}")
        elif truncate and r.LOG_PATH.search(path):
            self.emit_node(src, node, "evasion", 80, f"truncates log or history {path}")

    def function(self, node: ts.Node, src: _Src) -> None:
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name is None or body is None:
            return
        fname = src.text(name)
        calls = [c for c in _descend(body, set()) if c.type == "command_name" and src.text(c) == fname]
        if len(calls) >= 2 and any(c.type == "pipeline" for c in _descend(body, set())):
            self.emit_node(src, node, "destructive", 100, "fork bomb: a function that pipes into itself")

    def assignment(self, node: ts.Node, src: _Src) -> None:
        text = src.text(node).decode("utf-8", errors="replace")
        value = node.child_by_field_name("value")
        parent = node.parent
        prefix = value is not None and parent is not None and parent.type == "command"
        if prefix and value is not None and parent is not None and SHELL_PATH.search(_token(value, src).text):
            self.emit_node(src, parent, "shell_escape", 80, "environment variable makes the program run a shell")
        if re.match(r"^(?:HISTFILE=(?:/dev/null|$)|HISTSIZE=0|HISTFILESIZE=0|HISTCONTROL=ignorespace)", text):
            self.emit_node(src, node, "evasion", 80, "disables shell history")


@dataclass(frozen=True, slots=True)
class _Src:
    data: bytes
    offsets: tuple[int, ...]
    depth: int

    def text(self, node: ts.Node) -> bytes:
        return self.data[node.start_byte : node.end_byte]

    def span(self, start: int, end: int) -> tuple[int, int]:
        lo = self.offsets[min(start, len(self.offsets) - 1)]
        hi = self.offsets[min(max(end - 1, start), len(self.offsets) - 1)] + (1 if end > start else 0)
        return lo, hi


class Argv:
    """Rules over one command's argv, unwrapping ``sudo``/``env``/``xargs``… into the wrapped argv."""

    def __init__(self, walker: _Walker, src: _Src, node: ts.Node, tokens: Sequence[_Token]) -> None:
        self.w = walker
        self.src = src
        self.node = node
        self.tokens = list(tokens)
        self.args = [t.text for t in self.tokens]

    def flag(self, category: str, severity: int, detail: str) -> None:
        self.w.emit_node(self.src, self.node, category, severity, detail)

    def run(self, *, wrapped: bool) -> None:
        if self.args:
            check_argv(self, wrapped=wrapped)

    def sub(self, tokens: Sequence[_Token], *, wrapped: bool) -> None:
        Argv(self.w, self.src, self.node, tokens).run(wrapped=wrapped)

    def reparse(self, token: _Token) -> None:
        self.w.reparse(token, self.src)

    def substitutions(self, token: _Token) -> list[str]:
        """Texts of the command and process substitutions inside one argument."""
        if token.node is None:
            return []
        subs = [n for n in _descend(token.node, set()) if n.type in {"command_substitution", "process_substitution"}]
        if token.node.type in {"command_substitution", "process_substitution"}:
            subs.append(token.node)
        return [self.src.text(n).decode("utf-8", errors="replace") for n in subs]

    def write(self, path: str, *, truncate: bool, append: bool = True) -> None:
        del append  # tee without -a truncates too, but it is how logs are written, not cleared
        self.w.write_target(self.src, self.node, path, truncate=truncate)

    def code(self, lang: str, token: _Token) -> None:
        for category, severity, detail in code_findings(lang, token.text):
            self.flag(category, severity, detail)


def _descend(node: ts.Node, stop: set[str]) -> Iterator[ts.Node]:
    stack = list(node.children)
    while stack:
        cur = stack.pop()
        yield cur
        if cur.type not in stop:
            stack.extend(cur.children)


def _contains_command(node: ts.Node, names: frozenset[str]) -> bool:
    for sub in _descend(node, set()):
        if sub.type in {"command_substitution", "process_substitution"}:
            for cmd in _descend(sub, set()):
                text = cmd.text if cmd.type == "command_name" else None
                if text is not None and base(text.decode("utf-8", errors="replace")) in names:
                    return True
    return False


_ESCAPABLE = frozenset(b'"\\$`\n')


def _token(node: ts.Node, src: _Src) -> _Token:
    raw, idx = _unquote(node, src.data)
    offsets = tuple(src.offsets[i] for i in idx)
    end_off = src.offsets[node.end_byte] if node.end_byte < len(src.offsets) else src.offsets[-1]
    start, end = src.span(node.start_byte, node.end_byte)
    text = raw.decode("utf-8", errors="replace")
    return _Token(text, raw, (*offsets, end_off), node, start, end)


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


def _head_argv(node: ts.Node, src: _Src) -> list[str]:
    """The argv (quote-removed, wrappers like sudo removed) of a pipeline stage's first command."""
    cmd = node if node.type == "command" else next((c for c in _descend(node, set()) if c.type == "command"), None)
    if cmd is None or cmd.child_by_field_name("name") is None:
        return []
    nodes = [cmd.child_by_field_name("name"), *cmd.children_by_field_name("argument")]
    argv = [_token(n, src).text for n in nodes if n is not None]
    return unwrap(argv) or [base(argv[0])]


def _is_decoder(argv: list[str]) -> bool:
    name = argv[0]
    rest = set(argv[1:])
    if name in {"base64", "base32", "basenc"}:
        return bool(rest & {"-d", "--decode", "-D", "-di"})
    if name == "xxd":
        return bool(rest & {"-r", "-r -p", "-rp", "-p -r"}) or "-r" in "".join(argv[1:])
    if name == "openssl":
        return "-d" in rest
    return name in {"rev", "uudecode", "gunzip", "zcat"}


def _reads_secret(argv: list[str]) -> bool:
    return bool(argv) and argv[0] in r.READERS and any(r.CREDENTIAL_PATH.search(a) for a in argv[1:])
