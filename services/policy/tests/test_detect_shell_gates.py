"""The literal gates in front of the shell analyzer's widest patterns never change what a search returns."""

from __future__ import annotations

import re

import pytest

from agentgov.policy.detect import shell_gates as g

#: For each gate, one text per alternative of its pattern (each must get through the gate and match).
_MATCHING: dict[str, tuple[str, ...]] = {
    "CREDENTIAL_PATH": (
        "~/.ssh/id_rsa",
        "~/.ssh/work_ed25519",
        "~/.aws/credentials",
        ".env",
        "app/.env.local",
        "/proc/1/environ",
        "/etc/shadow",
        "/etc/gshadow",
        "~/.git-credentials",
        "~/.netrc",
        "~/.pgpass",
        "~/.docker/config.json",
        "~/.kube/config",
        "~/.npmrc",
        "~/.pypirc",
        "~/.gnupg/x",
        "~/.config/gcloud/x",
        "~/.azure/x",
        "Default/Login Data",
        "logins.json",
        "key4.db",
        "cookies.sqlite",
        "~/.mozilla/firefox/x",
        "google-chrome/x",
        "Google/Chrome/x",
        "~/Library/Keychains",
        "login.keychain-db",
        "~/.bash_history",
    ),
    "EXFIL_HOST": (
        "https://PASTEBIN.com/x",
        "paste.ee",
        "hastebin",
        "ghostbin",
        "transfer.sh",
        "0x0.st",
        "ix.io",
        "termbin.com",
        "x.ngrok-free.app",
        "webhook.site",
        "requestbin",
        "pipedream.net",
        "hookbin",
        "beeceptor",
        "trycloudflare.com",
        "serveo.net",
        "loca.lt",
        "interact.sh",
        "x.oast.fun",
        "burpcollaborator.net",
        "file.io",
        "anonfiles",
    ),
    "PERSIST_PATH": (
        "/etc/cron.d/x",
        "/var/spool/cron/x",
        "/etc/systemd/system/x",
        "~/.config/systemd/user/x",
        "/etc/init.d/x",
        "/etc/rc.local",
        "~/.bashrc",
        "~/.bash_profile",
        "~/.profile",
        "~/.zshrc",
        "~/.zprofile",
        "~/.zshenv",
        "~/.ssh/authorized_keys2",
        "/etc/environment",
        "/etc/ld.so.preload",
        ".git/hooks/pre-commit",
        "~/Library/LaunchAgents/x",
        "/Library/LaunchDaemons/x",
    ),
    "HOOK_OPTION": (
        "on-error",
        "command",
        "cmd",
        "exec",
        "script",
        "hook",
        "pager",
        "editor",
        "askpass",
        "filter",
        "wrapper",
        "rsh",
        "program",
        "invoke",
        "core_pattern",
        "action",
        "PASSWORD-COMMAND",
    ),
    "MODULE_OPTION": ("default-auth", "plugin-dir", "ENGINE", "pkcs11", "provider"),
    "CODE_SOCKET": ("TCPSocket", "fsockopen", "net.connect", "require('net')", "/inet/tcp/", "connect ("),
    "CODE_EXEC": (
        "os.system",
        "subprocess",
        "pty.spawn",
        "os.execv",
        "exec(",
        "system (",
        "IO.popen",
        "child_process",
        "proc_open",
        "shell_exec",
        "passthru",
        "popen(",
        "ProcessBuilder",
        "Runtime.getRuntime",
        "dup2",
        "callCommand",
        "Process.Start",
        "esyscmd(",
        "run(`",
        "exec $x",
        "run-shell-command",
        "(system ",
        "`",
    ),
    "CODE_SHELL": ("'/bin/sh'", "/bin/bash"),
    "CODE_LIBRARY": ("ctypes", "cdll", "dlopen", "Fiddle", "LoadLibrary", "DynaLoader", "ffi.load", "System.load"),
}
_OTHER = ("", "ls -la /tmp", "sort -n -k2,2 file.csv", "--password-command=/x", "ſcript", "\u212acmd", "é.env")


@pytest.mark.parametrize("name", sorted(_MATCHING))
def test_gate_passes_every_alternative(name: str) -> None:
    """Every alternative of the gated pattern gets through its gate and matches."""
    gate: g.Gated = getattr(g, name)
    for text in _MATCHING[name]:
        assert gate.may_match(text), text
        assert gate.search(f"a {text} b") is not None or gate.search(text) is not None, text


@pytest.mark.parametrize("name", sorted(_MATCHING))
def test_gate_returns_what_the_pattern_returns(name: str) -> None:
    """``Gated.search`` returns the pattern's own match (same span), or ``None`` where it finds none."""
    gate: g.Gated = getattr(g, name)
    for text in (*_MATCHING[name], *_OTHER):
        for probe in (text, f"x {text} y", text.upper()):
            mine, theirs = gate.search(probe), gate.pattern.search(probe)
            assert (mine and mine.span()) == (theirs and theirs.span()), probe


def test_folded_gate_searches_text_that_is_not_ascii() -> None:
    """Case-insensitive matching of non-ASCII text is left to the pattern (the Kelvin sign matches ``k``)."""
    gate = g.Gated(re.compile("(?i)kube"), "kube", fold=True)
    assert gate.search("\u212aube") is not None
    assert gate.may_match("\u212aube")
