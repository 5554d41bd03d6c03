"""Shell command analysis: parse with tree-sitter-bash, walk the tree, report risky constructs.

``analyze(command)`` is pure and deterministic. It walks pipelines, lists, subshells, command and process
substitution, and parses again the strings that are themselves shell (``sh -c``, ``eval``, ``su -c``,
``watch``, ``find -exec sh -c``), mapping the inner findings' offsets back into the outer command.
Interpreter one-liners (``python -c``, ``perl -e``, ``ruby -e``, ``node -e``, ``php -r``, ``awk``) are
matched against socket / exec / system patterns. Wrappers (``sudo``, ``env``, ``nohup``, ``timeout``,
``xargs``…) are unwrapped and the wrapped command analysed as well.

Strings that another program runs (``find -exec sh -c``, ``xargs``, hook options such as
``--password-command=…``, ``echo … | at now``) are parsed with ``spawned`` set: inside them a bare
interactive shell is a shell spawned by that program, the GTFOBins breakout shape.

Work is bounded: a command over ``MAX_BYTES`` is cut (at a character boundary) and only its head is
analysed; at most ``MAX_NODES`` syntax nodes are visited (none deeper than ``MAX_LEVEL``) and
``MAX_PARSES`` strings parsed. Hitting a bound adds a ``truncated`` finding of severity
``TRUNCATED_SEVERITY`` (60, review): the unanalysed rest could hide anything, so it is never auto-allowed.

Spans are UTF-8 byte offsets into ``command``; a finding's span covers the offending command node (for an
inner string, the mapped span of the inner node). Findings are deduplicated by (category, span) keeping
the highest severity, and sorted by start offset.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import tree_sitter as ts
import tree_sitter_bash as tsb

from agentgov.policy.detect import shell_rules as r
from agentgov.policy.detect.shell_argv import SHELL_PATH, base, check_argv, unwrap
from agentgov.policy.detect.shell_code import code_findings
from agentgov.policy.detect.shell_exec import is_program, is_shell_payload

_PARSER = ts.Parser(ts.Language(tsb.language()))
#: Node types with a rule in ``_Walker.visit``; every other node is only descended into.
_NODE_RULES = frozenset(
    {
        "command",
        "pipeline",
        "redirected_statement",
        "unset_command",
        "function_definition",
        "variable_assignment",
        "ansi_c_string",
        "expansion",
    }
)
_UNSET_HIST = re.compile(rb"\bHIST(?:FILE|SIZE|FILESIZE)\b")
_HEX_ESCAPE = re.compile(rb"\\(?:x[0-9a-fA-F]|u[0-9a-fA-F])")
#: Every expansion or substitution in a word starts with one of these.
_DYNAMIC = re.compile(rb"[$`]|[<>]\(")
#: Every command or process substitution starts with one of these.
_SUBST = re.compile(rb"\$\(|`|[<>]\(")
_MAX_DEPTH = 4
#: Bounds on the work for one command: bytes read, syntax nodes visited, strings parsed (the command and
#: every ``sh -c`` / ``eval`` string in it). Past a bound a ``truncated`` finding says what was skipped.
MAX_BYTES = 1536
MAX_NODES = 2_500
MAX_LEVEL = 100  # syntax-tree depth
MAX_WRAPPED = 16  # wrappers unwrapped in one command (sudo env nice … cmd)
_MAX_DESCEND = 1_000  # nodes one rule looks at under a node
MAX_PARSES = 64
TRUNCATED_SEVERITY = 60
_SNIPPET = 120
#: Redirections that bind a shell to the terminal or to inherited descriptors (``</dev/tty``, ``0<&2``,
#: ``1>&0``, ``>$(tty)``): only useful to break a shell out of a program that captured its stdio.
_TTY_REDIRECT = re.compile(rb"\d?[<>]&\s*\d|/dev/tty|\$\(tty\)|`tty`")
#: Standard input from a file, here-document or here-string: the shell reads a script, not a person.
_SCRIPT_STDIN = re.compile(rb"(?<![<>&\d])<(?![&(])\s*(?!/dev/tty)\S|<<")
_LOAD_WORD = re.compile(r"(?i)load|module|plugin|preload|engine")
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})
_NOT_ARGUMENT = _REDIRECTS | {"comment", "subshell"}


@dataclass(frozen=True, slots=True)
class ShellFinding:
    """One risky construct: category, severity 0-100, UTF-8 byte span, one-line detail, and the text."""

    category: str
    severity: int
    start: int
    end: int
    detail: str
    snippet: str


class _Token:
    """One argv word after quote removal, with the node it came from.

    ``text`` is computed eagerly (every rule reads it); the per-byte offset map back into the top-level
    command is only needed when the word is analysed again as shell, so ``mapped()`` builds it on demand.
    """

    __slots__ = ("node", "src", "text")

    def __init__(self, node: ts.Node, src: _Src) -> None:
        self.node = node
        self.src = src
        self.text = _unquote_fast(node, src.data).decode("utf-8", errors="replace")

    def mapped(self) -> tuple[bytes, tuple[int, ...]]:
        """The unquoted bytes and, for each byte (plus one past the end), its top-level offset."""
        src, node = self.src, self.node
        raw, idx = _unquote(node, src.data)
        offsets = src.offsets
        end_off = offsets[node.end_byte] if node.end_byte < len(offsets) else offsets[-1]
        return raw, (*(offsets[i] for i in idx), end_off)


def analyze(command: str) -> list[ShellFinding]:
    """Findings for one shell command line (or script); never raises on odd input."""
    data = command.encode("utf-8", errors="surrogatepass")
    walker = _Walker(data)
    head = data
    if len(data) > MAX_BYTES:
        cut = MAX_BYTES
        while cut > 0 and data[cut] & 0xC0 == 0x80:  # back to the start of a UTF-8 character
            cut -= 1
        head = data[:cut]
        walker.emit(
            "truncated",
            TRUNCATED_SEVERITY,
            cut,
            len(data),
            f"command longer than {MAX_BYTES} bytes; the rest is unread",
        )
    walker.source(head, range(len(head) + 1), 0, top=True)
    return walker.result()


class _Walker:
    """One analysis: the findings so far and the work budget left (nodes visited, strings re-parsed)."""

    def __init__(self, top: bytes) -> None:
        self._top = top
        self._found: dict[tuple[str, int, int], tuple[int, str]] = {}
        self._nodes = MAX_NODES
        self._parses = MAX_PARSES

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

    def source(
        self, data: bytes, offsets: Sequence[int], depth: int, *, top: bool = False, spawned: bool = False
    ) -> None:
        """Parse ``data`` (whose byte ``i`` sits at top-level offset ``offsets[i]``) and walk it.

        ``spawned``: the string is run by another program (``find -exec sh -c``, a hook option).
        """
        if depth > _MAX_DEPTH:
            return
        if self._parses <= 0:
            self.exhausted()
            return
        self._parses -= 1
        tree = _parse(data)
        src = _Src(data, offsets, depth, spawned)
        if tree.root_node.has_error and top:
            self.emit("parse_error", 30, 0, len(self._top), "the command does not parse as bash")
            self.foreign_code(data)
        self.walk(tree.root_node, src)

    def foreign_code(self, data: bytes) -> None:
        """Input that is not bash (lines typed into a REPL: ``jshell``, ``jjs``, ``tclsh``) checked as code."""
        for category, severity, detail in code_findings("code", data.decode("utf-8", errors="replace")):
            self.emit(category, severity, 0, len(self._top), f"{detail} (text that is not shell)")

    def reparse(self, token: _Token, src: _Src, *, spawned: bool = False) -> None:
        """Analyse a token's text as shell (``sh -c STRING``), offsets mapped back."""
        raw, offsets = token.mapped()
        self.source(raw, offsets, src.depth + 1, spawned=spawned or src.spawned)

    def exhausted(self) -> None:
        """Record, once, that the work budget ran out and part of the command went unanalysed."""
        self.emit("truncated", TRUNCATED_SEVERITY, 0, len(self._top), "command too complex; only part was analysed")

    # -- tree walk -------------------------------------------------------------------------------------

    def walk(self, root: ts.Node, src: _Src) -> None:
        """Apply the node rules to ``root`` and everything under it, in document order (preorder)."""
        stack = [(root, 0)]
        while stack:
            node, level = stack.pop()
            self._nodes -= 1
            if self._nodes < 0 or level > MAX_LEVEL:
                self.exhausted()
                return
            kind = node.type
            if kind in _NODE_RULES:
                self.visit(node, kind, src)
            # a leaf carries no rule unless it is an ANSI-C string; skipping it saves most of the work
            stack.extend(
                (child, level + 1)
                for child in reversed(node.children)
                if child.child_count or child.type == "ansi_c_string"
            )

    def visit(self, node: ts.Node, kind: str, src: _Src) -> None:
        """The rule for one node whose type is in ``_NODE_RULES``."""
        if kind == "command":
            self.command(node, src)
        elif kind == "pipeline":
            self.pipeline(node, src)
        elif kind == "redirected_statement":
            self.redirects(node, src)
        elif kind == "unset_command" and _UNSET_HIST.search(src.text(node)):
            self.emit_node(src, node, "evasion", 80, "disables shell history")
        elif kind == "function_definition":
            self.function(node, src)
        elif kind == "variable_assignment":
            self.assignment(node, src)
        elif kind == "ansi_c_string" and len(_HEX_ESCAPE.findall(src.text(node))) >= 2:
            self.emit_node(src, node, "evasion", 70, "ANSI-C quoted string with hex escapes hides its text")
        elif kind == "expansion" and src.text(node).startswith(b"${!"):
            self.emit_node(src, node, "evasion", 75, "variable indirection ${!name}")

    def emit_node(self, src: _Src, node: ts.Node, category: str, severity: int, detail: str) -> None:
        start, end = src.span(node.start_byte, node.end_byte)
        self.emit(category, severity, start, end, detail)

    def command(self, node: ts.Node, src: _Src) -> None:
        name = _command_name(node)
        if name is None:
            return
        if _DYNAMIC.search(src.text(name)):  # expansions and substitutions all start with $ ` <( or >(
            self.dynamic_name(node, name, src)
        Argv(self, src, node, _command_tokens(node, src)).run(wrapped=src.spawned)

    def dynamic_name(self, node: ts.Node, name: ts.Node, src: _Src) -> None:
        """Rules for a command name built from expansions or substitutions."""
        if any(c.type in {"simple_expansion", "expansion"} for c in _descend(name, {"command_substitution"})):
            parts = list(name.named_children)
            inner = parts[0].named_children if len(parts) == 1 and parts[0].type == "concatenation" else parts
            if len(inner) > 1:
                self.emit_node(src, node, "evasion", 80, "command name assembled from variables")
        if _contains_command(name, r.DOWNLOADERS):
            self.emit_node(src, node, "download_exec", 95, "downloaded content run as a command")

    def pipeline(self, node: ts.Node, src: _Src) -> None:
        stages = [_head_argv(c, src) for c in node.named_children]
        names = [s[0] if s else "" for s in stages]
        sinks = _first_later(names, lambda n: n in r.SHELLS or n in r.INTERPRETERS or n in r.STDIN_RUNNERS)
        nets = _first_later(names, lambda n: n in r.NETWORK)
        shells = [n for n in names if n in r.SHELLS]
        for i, argv in enumerate(stages):
            if not argv or i + 1 >= len(names):
                continue
            name = argv[0]
            sink = sinks[i]
            if name in r.DOWNLOADERS and sink:
                self.emit_node(src, node, "download_exec", 95, f"{name} output piped into {sink}")
            if _is_decoder(argv) and sink:
                self.emit_node(src, node, "evasion", 90, f"decoded payload piped into {sink}")
            if name in {"nc", "ncat", "netcat", "telnet", "socat"} or argv[:2] == ["openssl", "s_client"]:
                if shells and ("-l" in argv or "-lp" in argv or "-lvp" in argv or "-lnvp" in argv):
                    self.emit_node(src, node, "bind_shell", 90, f"{name} listener connected to a shell")
                elif shells:
                    self.emit_node(src, node, "reverse_shell", 95, f"{name} connection piped to/from a shell")
            net = nets[i]
            if net and (_reads_secret(argv) or name in {"env", "printenv", "set", "export"}):
                self.emit_node(src, node, "exfiltration", 90, f"sensitive data from {name} sent to {net}")
            nxt = names[i + 1]
            if name in {"echo", "printf"} and (nxt in r.CODE_RUNNERS or nxt in r.STDIN_RUNNERS):
                self.piped_text(node, node.named_children[i], nxt, src)
            elif nxt in {"passwd", "chpasswd"}:
                self.emit_node(src, node, "privilege_escalation", 60, f"sets an account password through {nxt}")

    def piped_text(self, pipeline: ts.Node, stage: ts.Node, sink: str, src: _Src) -> None:
        """``echo TEXT | PROG`` where PROG runs what it reads: the text is a program."""
        cmd = stage if stage.type == "command" else None
        tokens = _command_tokens(cmd, src)[1:] if cmd is not None and _command_name(cmd) is not None else []
        literal = [t for t in tokens if not t.text.startswith("-")]
        text = " ".join(t.text for t in literal)
        if sink in r.STDIN_RUNNERS:
            self.emit_node(src, pipeline, "persistence", 60, f"schedules a command with {sink}")
        if sink in r.STDIN_RUNNERS or sink in r.SHELLS:
            for tok in literal:
                self.reparse(tok, src, spawned=sink in r.STDIN_RUNNERS)
        elif is_shell_payload(text):
            self.emit_node(src, pipeline, "shell_escape", 90, f"feeds {sink} text that spawns a shell")
        else:
            for category, severity, detail in code_findings("code", text):
                self.emit_node(src, pipeline, category, severity, f"{detail} (piped into {sink})")

    def redirects(self, node: ts.Node, src: _Src) -> None:
        children = node.children
        body = children[0] if children and children[0].type not in _REDIRECTS else None
        argv = _head_argv(body, src) if body is not None else []
        for red in children:
            if red.type != "file_redirect":
                continue
            dest = next((c for c in red.named_children if c.type != "file_descriptor"), None)
            if dest is None:
                continue
            path = _token(dest, src).text
            op = next((c.type for c in red.children if not c.is_named), ">")
            writes = op in {">", ">>", "&>", "&>>", ">|"}
            if path.startswith(("/dev/tcp/", "/dev/udp/")):
                self.emit_node(src, node, "reverse_shell", 95, "redirection to a /dev/tcp socket")
            elif writes:
                text = " ".join(argv[1:]) if argv[:1] in (["echo"], ["printf"]) else self.heredoc(node, src)
                if path != "/etc/shells" and is_shell_payload(text):
                    self.emit_node(src, node, "shell_escape", 90, "writes text that spawns a shell to a file")
                elif r.LIBRARY_PATH.search(text) and _LOAD_WORD.search(text):
                    self.emit_node(src, node, "library_load", 75, "writes configuration that loads a native library")
                blank = not argv or argv[0] in {"echo", "cat", "true", ":", "printf"}
                self.write_target(src, node, path, truncate=blank and op in {">", ">|", "&>"})
            elif r.CREDENTIAL_PATH.search(path):
                if argv and argv[0] in r.NETWORK:
                    self.emit_node(src, node, "exfiltration", 90, f"credential file fed to {argv[0]}")
                else:
                    self.emit_node(src, node, "credential_access", 70, "reads a credential file")

    @staticmethod
    def heredoc(node: ts.Node, src: _Src) -> str:
        """The body of the here-document of a redirected statement (empty if there is none)."""
        for red in node.children:
            if red.type == "heredoc_redirect":
                for part in red.children:
                    if part.type == "heredoc_body":
                        return src.text(part).decode("utf-8", errors="replace")
        return ""

    def write_target(self, src: _Src, node: ts.Node, path: str, *, truncate: bool) -> None:
        """Rules for a file the command writes (redirect, tee, cp/mv target)."""
        if r.DEVICE.match(path):
            self.emit_node(src, node, "destructive", 95, f"overwrites block device {path}")
        elif r.PRIV_FILES.match(path):
            self.emit_node(src, node, "privilege_escalation", 90, f"writes {path}")
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
        name, _, _ = text.partition("=")
        value = node.children[-1] if len(node.children) == 3 else None
        if name in r.LIBRARY_VARS and value is not None:
            severity = 90 if name in r.PRELOAD_VARS else 60
            self.emit_node(src, node, "library_load", severity, f"{name} makes programs load a native library")
        if value is not None and name != "SHELL":
            hook = bool(r.HOOK_VAR.search(name)) or name.endswith(r.HOOK_VAR_SUFFIXES)
            run = _token(value, src).text
            parent = node.parent
            prefix = parent is not None and parent.type == "command"
            target = parent if parent is not None and prefix else node
            if (hook or prefix) and (SHELL_PATH.search(run) or is_shell_payload(run)):
                self.emit_node(src, target, "shell_escape", 90, f"{name} makes the program run a shell")
            elif hook and is_program(run):
                self.emit_node(src, target, "shell_escape", 60, f"{name} makes the program run {run.split()[0]}")
        if re.match(r"^(?:HISTFILE=(?:/dev/null|$)|HISTSIZE=0|HISTFILESIZE=0|HISTCONTROL=ignorespace)", text):
            self.emit_node(src, node, "evasion", 80, "disables shell history")


def _parse(data: bytes) -> ts.Tree:
    """Parse ``data``, terminated by a newline when that cannot change the tree.

    tree-sitter-bash is ~10x slower on a pipeline of three or more stages that runs to end of input
    (``a|b|c`` takes ~100 µs, ``a|b|c\\n`` ~8 µs). A final newline ends the last statement the way bash's
    own reader does; it changes the tree only where the input is already broken (an unterminated quote,
    substitution or here-document) or where it would join a line (a trailing backslash). So the newline is
    added unless the input ends with a backslash. A broken input is not parsed a second time exactly as
    given: error recovery is the slowest part of parsing (up to milliseconds), the extra byte only widens
    the error node, and spans are clamped to the input (``_Src.span``).
    """
    if not data or data.endswith((b"\\", b"\n")):
        return _PARSER.parse(data)
    return _PARSER.parse(data + b"\n")


@dataclass(frozen=True, slots=True)
class _Src:
    data: bytes
    offsets: Sequence[int]  # a ``range`` at top level (identity), a tuple inside a re-parsed string
    depth: int
    spawned: bool  # run by another program (``find -exec sh -c STRING``, a hook option's value)
    #: argv tokens of each command node (by ``Node.id``), shared by the command and pipeline rules
    argv: dict[int, list[_Token]] = field(default_factory=dict)

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
        self.level = 0
        #: whether the command holds a command or process substitution (``$(``, backquote, ``<(``, ``>(``)
        self.dynamic = bool(_SUBST.search(src.text(node)))

    def flag(self, category: str, severity: int, detail: str) -> None:
        self.w.emit_node(self.src, self.node, category, severity, detail)

    def run(self, *, wrapped: bool) -> None:
        if self.args:
            check_argv(self, wrapped=wrapped)

    def sub(self, tokens: Sequence[_Token], *, wrapped: bool) -> None:
        """Run the rules on a wrapped command's argv (``sudo ARGV``, ``find -exec ARGV``)."""
        if self.level >= MAX_WRAPPED:
            self.w.exhausted()
            return
        inner = Argv(self.w, self.src, self.node, tokens)
        inner.level = self.level + 1
        inner.run(wrapped=wrapped)

    def reparse(self, token: _Token, *, spawned: bool = False) -> None:
        self.w.reparse(token, self.src, spawned=spawned)

    def reparse_tail(self, token: _Token, value: str) -> None:
        """Analyse the end of a token (the value of ``--opt=VALUE``) as a command line another program runs."""
        raw, offsets = token.mapped()
        tail = value.encode("utf-8", errors="surrogatepass")
        if raw.endswith(tail):
            k = len(raw) - len(tail)
            self.w.source(raw[k:], offsets[k:], self.src.depth + 1, spawned=True)

    def stdio(self) -> tuple[bool, bool]:
        """(bound to the terminal or inherited descriptors, reads a script) for this command's stdin/out.

        A pipeline stage after the first reads its script from the pipe.
        """
        parent = self.node.parent
        if parent is None:
            return False, False
        if parent.type == "pipeline" and parent.children[0].id != self.node.id:
            return False, True
        if parent.type != "redirected_statement":
            return False, False
        text = self.src.text(parent)[self.node.end_byte - parent.start_byte :]
        return bool(_TTY_REDIRECT.search(text)), bool(_SCRIPT_STDIN.search(text))

    def substitutions(self, token: _Token) -> list[str]:
        """Texts of the command and process substitutions inside one argument."""
        if token.node is None or not _SUBST.search(self.src.text(token.node)):
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
    """The nodes under ``node`` (not below a ``stop`` type), at most ``_MAX_DESCEND`` of them."""
    stack = list(node.children)
    budget = _MAX_DESCEND
    while stack and budget > 0:
        budget -= 1
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
    return _Token(node, src)


def _command_name(cmd: ts.Node) -> ts.Node | None:
    """The ``command_name`` child (cheaper than ``child_by_field_name``)."""
    for child in cmd.children:
        if child.type == "command_name":
            return child
    return None


def _command_tokens(cmd: ts.Node, src: _Src) -> list[_Token]:
    """The argv tokens (name, then arguments) of a ``command`` node that has a name; computed once.

    The arguments are the children after the name that are not redirections: the same nodes as
    ``children_by_field_name("argument")``, which costs ~2.5 µs a call.
    """
    tokens = src.argv.get(cmd.id)
    if tokens is None:
        tokens = []
        named = False
        for child in cmd.children:
            if named:
                if child.type not in _NOT_ARGUMENT:
                    tokens.append(_Token(child, src))
            elif child.type == "command_name":
                named = True
                tokens.append(_Token(child, src))
        src.argv[cmd.id] = tokens
    return tokens


def _unquote_fast(node: ts.Node, data: bytes) -> bytes:
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
    if kind == "command_name":
        named = node.named_children
        return _unquote_fast(named[0], data) if named else data[s:e]
    if kind == "concatenation":
        out, pos = bytearray(), s
        for child in node.children:
            out += data[pos : child.start_byte]
            out += _unquote_fast(child, data)
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


def _head_argv(node: ts.Node, src: _Src) -> list[str]:
    """The argv (quote-removed, wrappers like sudo removed) of a pipeline stage's first command."""
    cmd = node if node.type == "command" else next((c for c in _descend(node, set()) if c.type == "command"), None)
    if cmd is None or _command_name(cmd) is None:
        return []
    argv = [t.text for t in _command_tokens(cmd, src)]
    return unwrap(argv) or [base(argv[0])]


def _first_later(names: list[str], pick: Callable[[str], bool]) -> list[str | None]:
    """For each stage ``i``, the first name after it that ``pick`` accepts (one right-to-left pass)."""
    out: list[str | None] = [None] * len(names)
    found: str | None = None
    for i in range(len(names) - 1, -1, -1):
        out[i] = found
        if pick(names[i]):
            found = names[i]
    return out


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
