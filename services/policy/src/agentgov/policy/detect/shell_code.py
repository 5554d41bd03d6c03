"""Interpreter one-liners (``python -c``, ``perl -e``, ``awk '…'``): what the code string does, by pattern.

Not a parser for each language: the patterns recognise the shapes of socket + exec reverse shells,
``system("/bin/sh")``-style shell spawns, generic command execution and native library loading.
"""

from __future__ import annotations

from agentgov.policy.detect import shell_gates as g
from agentgov.policy.detect import shell_rules as r


def code_findings(lang: str, code: str) -> list[tuple[str, int, str]]:
    """(category, severity, detail) for one code string run by interpreter ``lang``."""
    sock = g.CODE_SOCKET.search(code)
    exe = g.CODE_EXEC.search(code)
    shell = g.CODE_SHELL.search(code)
    if lang in {"awk", "gawk", "mawk", "nawk"}:
        if "/inet/" in code:
            return [("bind_shell", 90, "awk network listener") if "/0/0" in code else _reverse(lang)]
        if shell and ("system" in code or "|" in code):
            return [("shell_escape", 90, "awk program spawns a shell")]
        if "system(" in code.replace(" ", ""):
            return [("shell_escape", 60, "awk program runs system commands")]
        return []
    if lang == "code" and exe is not None and exe.group() == "`":
        exe = None  # a backtick in text that is not code says nothing
    if sock and (exe or shell):
        if r.CODE_LISTEN.search(code):
            return [("bind_shell", 90, f"{lang} one-liner binds a socket to a command loop")]
        return [_reverse(lang)]
    if exe and shell:
        return [("shell_escape", 90, f"{lang} one-liner spawns a shell")]
    if g.CODE_LIBRARY.search(code):
        return [("library_load", 90, f"{lang} one-liner loads a native library")]
    if exe:
        return [("shell_escape", 60, f"{lang} one-liner runs system commands")]
    return []


def _reverse(lang: str) -> tuple[str, int, str]:
    return ("reverse_shell", 95, f"{lang} one-liner connects a socket to a command loop")
