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
import time
from collections.abc import Sequence
from dataclasses import dataclass

import tree_sitter as ts

from agentgov.policy.detect import shell_gates as g
from agentgov.policy.detect import shell_rules as r
from agentgov.policy.detect.shell_argv import SHELL_PATH, base, check_argv, unwrap
from agentgov.policy.detect.shell_code import code_findings
from agentgov.policy.detect.shell_exec import is_program, is_shell_payload
from agentgov.policy.detect.shell_tokens import LANGUAGE, Src, Token, command_tokens, descend, kind_ids

_PARSER = ts.Parser(LANGUAGE)
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
_NODE_RULE_IDS = kind_ids(*_NODE_RULES)
_ANSI_C_STRING = kind_ids("ansi_c_string")
_COMMAND_SUBSTITUTION = frozenset({"command_substitution"})
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
MAX_PARSES = 64
PARSE_SECONDS = 0.012  # parse time of all the long strings of one command (see ``_Walker.parse``)
_WATCHED = 160  # strings longer than this are parsed under the progress budget
_HARD_HEAD = 160  # bytes analysed of a string whose parse ran out of budget
TRUNCATED_SEVERITY = 60
_SNIPPET = 120
#: Redirections that bind a shell to the terminal or to inherited descriptors (``</dev/tty``, ``0<&2``,
#: ``1>&0``, ``>$(tty)``): only useful to break a shell out of a program that captured its stdio.
_TTY_REDIRECT = re.compile(rb"\d?[<>]&\s*\d|/dev/tty|\$\(tty\)|`tty`")
#: Standard input from a file, here-document or here-string: the shell reads a script, not a person.
_SCRIPT_STDIN = re.compile(rb"(?<![<>&\d])<(?![&(])\s*(?!/dev/tty)\S|<<")
_LOAD_WORD = re.compile(r"(?i)load|module|plugin|preload|engine")
_REDIRECTS = frozenset({"file_redirect", "heredoc_redirect", "herestring_redirect"})


@dataclass(frozen=True, slots=True)
class ShellFinding:
    """One risky construct: category, severity 0-100, UTF-8 byte span, one-line detail, and the text."""

    category: str
    severity: int
    start: int
    end: int
    detail: str
    snippet: str


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
        self._deadline = 0.0  # set by the first parse that runs under the time bound

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
        tree = self.parse(data)
        if tree is None:  # error recovery ran out of its budget: analyse what a bounded head holds
            self.emit("truncated", TRUNCATED_SEVERITY, 0, len(self._top), "too hard to parse; only a head was analysed")
            data, offsets = data[:_HARD_HEAD], offsets[: _HARD_HEAD + 1]
            tree = _parse(data)
        src = Src(data, offsets, depth, spawned)
        if tree.root_node.has_error and top:
            self.emit("parse_error", 30, 0, len(self._top), "the command does not parse as bash")
            self.foreign_code(data)
        self.walk(tree.root_node, src)

    def parse(self, data: bytes) -> ts.Tree | None:
        """``_parse(data)``, or None when the parser's error recovery used up this analysis's time.

        Error recovery is superlinear: 1.5 KB of ``[]`` or ``![a](`` took 30-45 ms to parse, where the
        slowest command of the shell corpus takes about 2 ms. A string over ``_WATCHED`` bytes is parsed
        through tree-sitter's progress callback (called every hundred parse steps), which cancels the parse
        once all the parses of one command have taken ``PARSE_SECONDS``. This is the one bound measured
        in time, not steps: the steps of error recovery differ 20-fold in cost (the same count of steps is
        2 ms for ``""…`` and 43 ms for ``[]…``). With a margin of six over the slowest real command it
        only ever cuts pathological input, and a cut is reported (``truncated``, reviewed). Shorter strings
        cost at most a few ms each, and their count is bounded, so they skip the callback's overhead.
        """
        if len(data) <= _WATCHED:
            return _parse(data)
        body = data if data.endswith((b"\\", b"\n")) else data + b"\n"
        if self._deadline == 0.0:
            self._deadline = time.perf_counter() + PARSE_SECONDS

        def read(offset: int, _point: object) -> bytes:
            return body[offset:]

        def progress(_offset: int, _has_error: bool) -> bool:
            return time.perf_counter() > self._deadline

        try:
            return _PARSER.parse(read, progress_callback=progress)
        except ValueError:  # cancelled; a cancelled parser would resume that parse on its next call
            _PARSER.reset()
            return None

    def foreign_code(self, data: bytes) -> None:
        """Input that is not bash (lines typed into a REPL: ``jshell``, ``jjs``, ``tclsh``) checked as code."""
        for category, severity, detail in code_findings("code", data.decode("utf-8", errors="replace")):
            self.emit(category, severity, 0, len(self._top), f"{detail} (text that is not shell)")

    def reparse(self, token: Token, src: Src, *, spawned: bool = False) -> None:
        """Analyse a token's text as shell (``sh -c STRING``), offsets mapped back."""
        raw, offsets = token.mapped()
        self.source(raw, offsets, src.depth + 1, spawned=spawned or src.spawned)

    def exhausted(self) -> None:
        """Record, once, that the work budget ran out and part of the command went unanalysed."""
        self.emit("truncated", TRUNCATED_SEVERITY, 0, len(self._top), "command too complex; only part was analysed")

    # -- tree walk -------------------------------------------------------------------------------------

    def walk(self, root: ts.Node, src: Src) -> None:
        """Apply the node rules to ``root`` and everything under it, in document order (preorder)."""
        stack = [(root, 0)]
        pop, push = stack.pop, stack.append
        while stack:
            node, level = pop()
            self._nodes -= 1
            if self._nodes < 0 or level > MAX_LEVEL:
                self.exhausted()
                return
            if node.kind_id in _NODE_RULE_IDS:
                self.visit(node, node.type, src)
            children = node.children
            if children:
                # a leaf carries no rule unless it is an ANSI-C string; skipping it saves most of the work
                level += 1
                for child in reversed(children):
                    if child.child_count or child.kind_id in _ANSI_C_STRING:
                        push((child, level))

    def visit(self, node: ts.Node, kind: str, src: Src) -> None:
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

    def emit_node(self, src: Src, node: ts.Node, category: str, severity: int, detail: str) -> None:
        start, end = src.span(node.start_byte, node.end_byte)
        self.emit(category, severity, start, end, detail)

    def command(self, node: ts.Node, src: Src) -> None:
        tokens = command_tokens(node, src)
        if not tokens:  # no command name
            return
        name = tokens[0].node
        if _DYNAMIC.search(src.text(name)):  # expansions and substitutions all start with $ ` <( or >(
            self.dynamic_name(node, name, src)
        Argv(self, src, node, tokens).run(wrapped=src.spawned)

    def dynamic_name(self, node: ts.Node, name: ts.Node, src: Src) -> None:
        """Rules for a command name built from expansions or substitutions."""
        if any(c.type in {"simple_expansion", "expansion"} for c in descend(name, _COMMAND_SUBSTITUTION)):
            parts = list(name.named_children)
            inner = parts[0].named_children if len(parts) == 1 and parts[0].type == "concatenation" else parts
            if len(inner) > 1:
                self.emit_node(src, node, "evasion", 80, "command name assembled from variables")
        if _contains_command(name, r.DOWNLOADERS, src):
            self.emit_node(src, node, "download_exec", 95, "downloaded content run as a command")

    def pipeline(self, node: ts.Node, src: Src) -> None:
        children = node.named_children
        if len(children) < 2:  # every rule below looks at a stage and a later one
            return
        stages = [_head_argv(c, src) for c in children]
        names = [s[0] if s else "" for s in stages]
        sinks = _first_later(names, _SINKS)
        nets = _first_later(names, r.NETWORK)
        shells = any(n in r.SHELLS for n in names)
        for i, argv in enumerate(stages):
            if not argv or i + 1 >= len(names):
                continue
            name = argv[0]
            sink = sinks[i]
            if name in r.DOWNLOADERS and sink:
                self.emit_node(src, node, "download_exec", 95, f"{name} output piped into {sink}")
            if sink and _is_decoder(argv):
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

    def piped_text(self, pipeline: ts.Node, stage: ts.Node, sink: str, src: Src) -> None:
        """``echo TEXT | PROG`` where PROG runs what it reads: the text is a program."""
        cmd = stage if stage.type == "command" else None
        tokens = command_tokens(cmd, src)[1:] if cmd is not None else []
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

    def redirects(self, node: ts.Node, src: Src) -> None:
        children = node.children
        body = children[0] if children and children[0].type not in _REDIRECTS else None
        argv = _head_argv(body, src) if body is not None else []
        for red in children:
            if red.type != "file_redirect":
                continue
            dest = next((c for c in red.named_children if c.type != "file_descriptor"), None)
            if dest is None:
                continue
            path = Token(dest, src).text
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
            elif g.CREDENTIAL_PATH.search(path):
                if argv and argv[0] in r.NETWORK:
                    self.emit_node(src, node, "exfiltration", 90, f"credential file fed to {argv[0]}")
                else:
                    self.emit_node(src, node, "credential_access", 70, "reads a credential file")

    @staticmethod
    def heredoc(node: ts.Node, src: Src) -> str:
        """The body of the here-document of a redirected statement (empty if there is none)."""
        for red in node.children:
            if red.type == "heredoc_redirect":
                for part in red.children:
                    if part.type == "heredoc_body":
                        return src.text(part).decode("utf-8", errors="replace")
        return ""

    def write_target(self, src: Src, node: ts.Node, path: str, *, truncate: bool) -> None:
        """Rules for a file the command writes (redirect, tee, cp/mv target)."""
        if r.DEVICE.match(path):
            self.emit_node(src, node, "destructive", 95, f"overwrites block device {path}")
        elif r.PRIV_FILES.match(path):
            self.emit_node(src, node, "privilege_escalation", 90, f"writes {path}")
        elif g.PERSIST_PATH.search(path):
            self.emit_node(src, node, "persistence", 75, f"writes autostart or access file {path}")
        elif truncate and r.LOG_PATH.search(path):
            self.emit_node(src, node, "evasion", 80, f"truncates log or history {path}")

    def function(self, node: ts.Node, src: Src) -> None:
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name is None or body is None:
            return
        fname = src.text(name)
        calls = [c for c in descend(body) if c.type == "command_name" and src.text(c) == fname]
        if len(calls) >= 2 and any(c.type == "pipeline" for c in descend(body)):
            self.emit_node(src, node, "destructive", 100, "fork bomb: a function that pipes into itself")

    def assignment(self, node: ts.Node, src: Src) -> None:
        text = src.text(node).decode("utf-8", errors="replace")
        name, _, _ = text.partition("=")
        value = node.children[-1] if len(node.children) == 3 else None
        if name in r.LIBRARY_VARS and value is not None:
            severity = 90 if name in r.PRELOAD_VARS else 60
            self.emit_node(src, node, "library_load", severity, f"{name} makes programs load a native library")
        if value is not None and name != "SHELL":
            hook = bool(r.HOOK_VAR.search(name)) or name.endswith(r.HOOK_VAR_SUFFIXES)
            run = Token(value, src).text
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
    the error node, and spans are clamped to the input (``Src.span``).
    """
    if not data or data.endswith((b"\\", b"\n")):
        return _PARSER.parse(data)
    return _PARSER.parse(data + b"\n")


class Argv:
    """Rules over one command's argv, unwrapping ``sudo``/``env``/``xargs``… into the wrapped argv."""

    __slots__ = ("args", "dynamic", "level", "node", "src", "tokens", "w")

    def __init__(self, walker: _Walker, src: Src, node: ts.Node, tokens: Sequence[Token]) -> None:
        self.w = walker
        self.src = src
        self.node = node
        self.tokens = tokens  # never changed: a rule reads ``tokens`` and may rewrite only ``args``
        self.args = [t.text for t in tokens]
        self.level = 0
        #: whether the command holds a command or process substitution (``$(``, backquote, ``<(``, ``>(``)
        self.dynamic = bool(_SUBST.search(src.text(node)))

    def flag(self, category: str, severity: int, detail: str) -> None:
        self.w.emit_node(self.src, self.node, category, severity, detail)

    def run(self, *, wrapped: bool) -> None:
        if self.args:
            check_argv(self, wrapped=wrapped)

    def sub(self, tokens: Sequence[Token], *, wrapped: bool) -> None:
        """Run the rules on a wrapped command's argv (``sudo ARGV``, ``find -exec ARGV``)."""
        if self.level >= MAX_WRAPPED:
            self.w.exhausted()
            return
        inner = Argv(self.w, self.src, self.node, tokens)
        inner.level = self.level + 1
        inner.run(wrapped=wrapped)

    def reparse(self, token: Token, *, spawned: bool = False) -> None:
        self.w.reparse(token, self.src, spawned=spawned)

    def reparse_tail(self, token: Token, value: str) -> None:
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

    def substitutions(self, token: Token) -> list[str]:
        """Texts of the command and process substitutions inside one argument."""
        if token.node is None or not _SUBST.search(self.src.text(token.node)):
            return []
        subs = [n for n in descend(token.node) if n.type in {"command_substitution", "process_substitution"}]
        if token.node.type in {"command_substitution", "process_substitution"}:
            subs.append(token.node)
        return [self.src.text(n).decode("utf-8", errors="replace") for n in subs]

    def write(self, path: str, *, truncate: bool, append: bool = True) -> None:
        del append  # tee without -a truncates too, but it is how logs are written, not cleared
        self.w.write_target(self.src, self.node, path, truncate=truncate)

    def code(self, lang: str, token: Token) -> None:
        for category, severity, detail in code_findings(lang, token.text):
            self.flag(category, severity, detail)


def _contains_command(node: ts.Node, names: frozenset[str], src: Src) -> bool:
    for sub in descend(node):
        if sub.type in {"command_substitution", "process_substitution"}:
            for cmd in descend(sub):
                if cmd.type == "command_name" and base(src.text(cmd).decode("utf-8", errors="replace")) in names:
                    return True
    return False


def _head_argv(node: ts.Node, src: Src) -> list[str]:
    """The argv (quote-removed, wrappers like sudo removed) of a pipeline stage's first command."""
    cmd = node if node.type == "command" else next((c for c in descend(node) if c.type == "command"), None)
    tokens = command_tokens(cmd, src) if cmd is not None else None
    if not tokens:  # no command, or one without a name
        return []
    argv = [t.text for t in tokens]
    return unwrap(argv) or [base(argv[0])]


def _first_later(names: list[str], pick: frozenset[str]) -> list[str | None]:
    """For each stage ``i``, the first name after it that is in ``pick`` (one right-to-left pass)."""
    out: list[str | None] = [None] * len(names)
    found: str | None = None
    for i in range(len(names) - 1, -1, -1):
        out[i] = found
        if names[i] in pick:
            found = names[i]
    return out


#: Programs that run what a pipeline feeds them.
_SINKS = r.SHELLS | r.INTERPRETERS | r.STDIN_RUNNERS


def _is_decoder(argv: list[str]) -> bool:
    name = argv[0]
    if name in {"base64", "base32", "basenc"}:
        return bool(set(argv[1:]) & {"-d", "--decode", "-D", "-di"})
    if name == "xxd":
        return bool(set(argv[1:]) & {"-r", "-r -p", "-rp", "-p -r"}) or "-r" in "".join(argv[1:])
    if name == "openssl":
        return "-d" in argv[1:]
    return name in {"rev", "uudecode", "gunzip", "zcat"}


def _reads_secret(argv: list[str]) -> bool:
    return bool(argv) and argv[0] in r.READERS and any(g.CREDENTIAL_PATH.search(a) for a in argv[1:])
