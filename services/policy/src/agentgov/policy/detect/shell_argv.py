"""Rules over one simple command's argv (quote-removed words), after unwrapping ``sudo``/``env``/``xargs``.

Each ``_rule_*`` looks at the command name and arguments and reports through ``Argv.flag``; strings that
are shell again (``sh -c``, ``eval``, ``watch``) go back to the walker through ``Argv.reparse``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from agentgov.policy.detect import shell_gates as g
from agentgov.policy.detect import shell_rules as r
from agentgov.policy.detect.shell_exec import (
    is_program,
    rule_container,
    rule_hooks,
    rule_libraries,
    rule_package,
    rule_sed,
    rule_shell_copy,
)

if TYPE_CHECKING:
    from agentgov.policy.detect.shell import Argv

SHELL_PATH: Final = re.compile(r"/bin/(?:ba|z|da|k|c|tc|fi)?sh\b(?![.-])|^\.{0,2}/\S*/(?:ba|z|da|k)?sh$")
_SYSTEM_EXEC: Final = re.compile(r"(?i)\b(?:exec|system):")
_SENSITIVE_SUB: Final = re.compile(r"\b(?:env|printenv|cat|base64|xxd|whoami|id|uname|tar)\b|/etc/|\.ssh/|\.aws/")
_DECODE: Final = re.compile(r"base64\s+(?:-\w*d|--decode)|xxd\s+-\w*r|openssl\s+(?:enc\s+)?-?base64\s+-d")


def base(name: str) -> str:
    """A command's basename: ``/usr/bin/curl`` is ``curl``."""
    return name.rsplit("/", 1)[-1]


def unwrap(argv: list[str]) -> list[str]:
    """Strip wrapper commands (``sudo -u x``, ``env A=1``, ``timeout 5``) and return the wrapped argv."""
    for _ in range(4):
        if not argv or base(argv[0]) not in r.WRAPPERS:
            break
        name = base(argv[0])
        takes = r.WRAPPERS[name]
        i = 1
        while i < len(argv) and (argv[i].startswith("-") or (name == "env" and "=" in argv[i])):
            i += 2 if argv[i] in takes else 1
        if name in r.WRAPPER_SKIP_ONE:
            i += 1
        argv = argv[i:]
    return [base(argv[0]), *argv[1:]] if argv else []


def check_argv(a: Argv, *, wrapped: bool) -> None:
    """Run every rule that applies to ``a``'s command name."""
    if a.args[0].startswith("$ ") and a.args[0][2:].strip():  # a pasted prompt: ``$ cmd args``
        a.args[0] = a.args[0][2:].strip()
    name = base(a.args[0])
    # one string of all arguments gates the rules by cheap substring tests (most commands pass none)
    rest = " ".join(a.args[1:])
    if "!" in a.args[0] and base(a.args[0].rsplit("!", 1)[1]) in r.SHELLS:
        a.flag("shell_escape", 90, "pager/editor escape to a shell (!sh)")
    if "/dev/tcp/" in rest or "/dev/udp/" in rest:
        a.flag("reverse_shell", 95, "argument names a /dev/tcp socket")
    if a.dynamic:
        _substitutions(a, name)
    if name in r.WRAPPERS:
        if name == "chroot":
            _default_shell(a)
        _wrapper(a, name, wrapped=wrapped)
        return
    rule = _RULES.get(name)
    if rule is not None:
        rule(a)
    elif name in _DEFAULT_SHELL:
        _default_shell(a)
    elif name.startswith("mkfs") or name in {"mke2fs", "wipefs"}:
        a.flag("destructive", 90, f"{name} formats or wipes a filesystem")
    if name in r.SHELLS:
        _shell(a, wrapped=wrapped)
        return
    if name in r.INTERPRETERS:
        _interpreter(a, name)
    elif name in r.AWKS:
        _awk(a, name)
    elif "sh" in rest and name not in r.TEXT_TOOLS and name not in _OWN_SHELL_RULE:
        _shell_argument(a, name)
    if rest and name not in r.TEXT_TOOLS:
        _exec_rules(a, name, rest)
    if name in r.READERS and name not in r.NETWORK and g.CREDENTIAL_PATH.search(rest):
        a.flag("credential_access", 70, f"{name} reads a credential file")


_DEFAULT_SHELL: Final = frozenset({"chroot", "sg", "newgrp", "script", "capsh", "systemd-run", "machinectl"})
#: Commands whose ``-s PATH`` names the login shell to use, not a program to run now.
_LOGIN_SHELL_OPTION: Final = frozenset({"su", "runuser", "chsh", "useradd", "usermod", "adduser", "sudo"})
#: Commands whose rule already decides what a shell path in their arguments means.
_OWN_SHELL_RULE: Final = frozenset({"find", "cp", "ln", "install", "mount", "git"})


def _exec_rules(a: Argv, name: str, rest: str) -> None:
    """What else the program can be made to run: hook options, libraries, packages, containers."""
    # each gate asks whether some argument could hold what the rule looks for (an option name it knows)
    if ("-" in rest or "=" in rest) and g.HOOK_OPTION.may_match(rest):
        rule_hooks(a, name)
    if ".so" in rest or ".dylib" in rest or ("/" in rest and "-" in rest and _may_name_module(a, rest)):
        rule_libraries(a, name)
    if name in _PACKAGE_MANAGERS:
        rule_package(a, name)
    elif name in r.CONTAINER_TOOLS:
        rule_container(a, name)
    elif name in {"cp", "ln", "install", "mount"}:
        rule_shell_copy(a, name)
    elif name == "ldconfig" and {"-f", "-C", "-r"} & set(a.args):
        a.flag("library_load", 75, "ldconfig pointed at another configuration changes which libraries load")


def _may_name_module(a: Argv, rest: str) -> bool:
    """Whether an option name in the argv could be one ``rule_libraries`` loads a module from.

    Its keys are parts of the arguments, or the command name when that starts with ``-``.
    """
    return a.args[0].startswith("-") or g.MODULE_OPTION.may_match(rest)


_PACKAGE_MANAGERS: Final = frozenset(
    {"dpkg", "rpm", "apt", "apt-get", "dnf", "yum", "zypper", "pkg", "opkg", "apk", "pacman", "snap"}
)


def _default_shell(a: Argv) -> None:
    """Programs that start an interactive shell when given no command (``chroot DIR``, ``script``)."""
    name, args = base(a.args[0]), a.args[1:]
    if "/" in a.args[0] and not a.args[0].startswith(("/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/")):
        return  # ``./script`` or ``/path/to/script`` is some other program
    if a.stdio()[1]:
        return  # reads a pipe or file: not interactive
    plain = [x for x in args if not x.startswith("-")]
    starts = {
        "chroot": len(plain) == 1,
        "sg": len(args) == 1 == len(plain),
        "newgrp": True,
        "script": not {"-c", "--command"} & set(args) and not any(x.startswith("--command=") for x in args),
        "capsh": args[-1:] == ["--"] or any(x.startswith("--shell=") for x in args),
        "systemd-run": bool({"-S", "--shell"} & set(args)),
        "machinectl": args[:1] == ["shell"],
    }
    if starts.get(name, False):
        a.flag("interactive_shell", 60, f"{name} starts an interactive shell")


def _substitutions(a: Argv, name: str) -> None:
    runs = name in r.SHELLS or name in r.INTERPRETERS or name in {"eval", "source", "."}
    for tok in a.tokens[1:]:
        for sub in a.substitutions(tok):
            head = base(sub.lstrip("$(<`").split(maxsplit=1)[0]) if sub.lstrip("$(<`").split() else ""
            if runs and head in r.DOWNLOADERS:
                a.flag("download_exec", 95, f"{name} runs content downloaded by {head}")
            if runs and _DECODE.search(sub):
                a.flag("evasion", 90, f"{name} runs a decoded payload")
            if name in {"dig", "nslookup", "host", "drill"} and _SENSITIVE_SUB.search(sub):
                a.flag("exfiltration", 90, f"{name} query built from command output (DNS exfiltration)")
            elif name in r.NETWORK and (head in {"env", "printenv"} or g.CREDENTIAL_PATH.search(sub)):
                a.flag("exfiltration", 90, f"{name} sends environment or credential data")


def _wrapper(a: Argv, name: str, *, wrapped: bool) -> None:
    inner = unwrap(a.args)
    if name in {"sudo", "doas"}:
        flags = {x for x in a.args[1 : len(a.args) - len(inner)] if x.startswith("-")}
        interactive = bool(inner) and inner[0] in r.SHELLS | {"su"} and not any("c" in _flags([x]) for x in inner[1:])
        if flags & {"-s", "-i", "--shell", "--login"} or interactive:
            a.flag("privilege_escalation", 85, f"{name} opens a root shell")
    if not inner:
        return
    rest = a.tokens[len(a.tokens) - len(inner) :]
    # a shell under sudo is a root shell (reported above), under exec/command the same shell; under any
    # other wrapper (nice, env, timeout, xargs, strace…) a shell spawned by another program
    spawns = wrapped if name in r.BUILTIN_WRAPPERS else name not in r.PRIVILEGED_WRAPPERS
    if len(rest) == 1 and re.search(r"[\s;|&]", rest[0].text):
        a.reparse(rest[0], spawned=spawns)
    else:
        a.sub(rest, wrapped=spawns)


def _shell(a: Argv, *, wrapped: bool) -> None:
    """A shell: analyse its ``-c`` string; a shell with no script is interactive (see the module table)."""
    args = a.args[1:]
    code = next((i for i, x in enumerate(args) if re.fullmatch(r"-[a-zA-Z]*c[a-zA-Z]*", x)), None)
    if code is not None and code + 1 < len(args):
        a.reparse(a.tokens[code + 2], spawned=wrapped)
        return
    # ``sh 0<&2`` parses the descriptor as an argument; ``-s`` reads commands from stdin like no script
    if not all(x.startswith("-") or x.isdigit() for x in args):
        return
    tty, script = a.stdio()
    if "-p" in args:
        a.flag("privilege_escalation", 90, "shell started with -p keeps a setuid identity")
    elif tty:
        a.flag("shell_escape", 90, "shell bound to the terminal or inherited descriptors")
    elif wrapped:  # the wrapper, not the shell, reads the pipe or file before it
        a.flag("shell_escape", 90, "another program spawns an interactive shell")
    elif not script:
        a.flag("interactive_shell", 60, "starts an interactive shell; what is typed into it is not analysed")


def _interpreter(a: Argv, name: str) -> None:
    for i, x in enumerate(a.args[1:-1], start=1):
        if x in r.CODE_FLAGS or (name == "perl" and x.startswith("-") and x.endswith("e")):
            a.code(name, a.tokens[i + 1])
            return


def _awk(a: Argv, name: str) -> None:
    i = 1
    while i < len(a.args) and a.args[i].startswith("-"):
        i += 2 if a.args[i] in {"-F", "-v", "-f"} else 1
    if i < len(a.args):
        a.code(name, a.tokens[i])


def _shell_argument(a: Argv, name: str) -> None:
    """A program given a shell binary to run (``nsenter /bin/sh``, ``--rsh=/bin/sh``, ``-I '/bin/sh -c …'``).

    ``PROG … /bin/sh -c STRING`` runs STRING: it is analysed as spawned instead. Commands in
    ``SHELL_ARG_OK`` (package managers, containers, account tools) take a bare shell path as data.
    """
    args = a.args
    ok = name in r.SHELL_ARG_OK
    for i in range(1, len(args)):
        x = args[i]
        if x.startswith("#!") or not SHELL_PATH.search(x) or args[i - 1] in {"--shell", "--login-shell"}:
            continue
        if args[i - 1] == "-s" and name in _LOGIN_SHELL_OPTION:
            continue
        exact = x.startswith("/") and " " not in x
        if exact and i + 2 < len(args) and re.fullmatch(r"-[a-zA-Z]*c[a-zA-Z]*", args[i + 1]):
            a.reparse(a.tokens[i + 2], spawned=True)
            return
        if exact and (ok or x.startswith("--shell=")):
            continue
        a.flag("shell_escape", 90, f"{name} is made to run a shell")
        return


def _flags(args: list[str]) -> str:
    return "".join(x[1:] for x in args if x.startswith("-") and not x.startswith("--"))


def _targets(args: list[str]) -> list[str]:
    return [x for x in args if not x.startswith("-")]


def _norm(path: str) -> str:
    p = path.removesuffix("/*").removesuffix("/.*")
    return p.rstrip("/") or "/" if p.startswith("/") else p.rstrip("/")


def _rm(a: Argv) -> None:
    args = a.args[1:]
    recursive = "--recursive" in args or bool(set(_flags(args)) & {"r", "R"})
    if "--no-preserve-root" in args:
        a.flag("destructive", 100, "rm --no-preserve-root")
    for t in _targets(args):
        n = _norm(t)
        if recursive and n in {"/", "~", "$HOME", "${HOME}"} | ({"/"} if t == "/*" else set()):
            a.flag("destructive", 100, f"recursive delete of {t}")
        elif recursive and n in r.SYSTEM_DIRS:
            a.flag("destructive", 95, f"recursive delete of system path {t}")
        elif recursive and t in {"*", ".*", "~/*"}:
            a.flag("destructive", 60, f"recursive delete of glob {t}")
        elif r.LOG_PATH.search(t):
            a.flag("evasion", 80, f"deletes logs or history {t}")


def _chmod(a: Argv) -> None:
    args = a.args[1:]
    recursive = "--recursive" in args or "R" in _flags(args)
    mode = next((x for x in args if not x.startswith("-") or re.fullmatch(r"-[rwxst]+", x)), "")
    rest = _targets(args)[1:]
    if re.fullmatch(r"[ua]*\+[rwxXt]*s[rwxXt]*|[4567][0-7]{3}", mode):
        a.flag("privilege_escalation", 90, f"chmod {mode} sets setuid")
    elif re.fullmatch(r"g\+[rwxXt]*s[rwxXt]*|[23][0-7]{3}", mode):
        a.flag("privilege_escalation", 50, f"chmod {mode} sets setgid")
    loose = bool(re.fullmatch(r"0?7[0-7]7|0?6[0-7]6|[ao]?\+[rwx]*w[rwx]*|a=rwx|777", mode))
    if any(r.PRIV_FILES.match(t) for t in rest) and loose:
        a.flag("privilege_escalation", 90, "makes an account or sudoers file writable")
    elif any(_norm(t) in r.SYSTEM_DIRS for t in rest) and (recursive or loose):
        a.flag("destructive", 90, "changes permissions of a system path")


def _chown(a: Argv) -> None:
    args = a.args[1:]
    rest = _targets(args)[1:]
    if ("--recursive" in args or "R" in _flags(args)) and any(_norm(t) in r.SYSTEM_DIRS for t in rest):
        a.flag("destructive", 90, "recursive ownership change of a system path")
    elif any(r.PRIV_FILES.match(t) for t in rest):
        a.flag("privilege_escalation", 90, "changes ownership of an account file")


def _dd(a: Argv) -> None:
    for x in a.args[1:]:
        if x.startswith("of=") and r.DEVICE.match(x[3:]):
            a.flag("destructive", 95, f"dd writes to block device {x[3:]}")


def _shred(a: Argv) -> None:
    for t in _targets(a.args[1:]):
        if r.DEVICE.match(t):
            a.flag("destructive", 95, f"shreds block device {t}")
        elif r.LOG_PATH.search(t):
            a.flag("evasion", 80, f"shreds logs or history {t}")


def _writes_last(a: Argv) -> None:
    targets = _targets(a.args[1:])
    modes = [y for x, y in zip(a.args, a.args[1:], strict=False) if x in {"-m", "--mode"}]
    if a.args[0] == "install" and any(re.fullmatch(r"[4567][0-7]{3}|[ua]*\+[rwx]*s[rwx]*", m) for m in modes):
        a.flag("privilege_escalation", 90, "install sets the setuid bit")
        targets = [t for t in targets if t not in modes]
    if len(targets) >= 2:
        if a.args[0] == "ln" and targets[0] == "/dev/null" and r.LOG_PATH.search(targets[-1]):
            a.flag("evasion", 80, "links history to /dev/null")
        a.write(targets[-1], truncate=False)


def _tee(a: Argv) -> None:
    append = "-a" in a.args or "--append" in a.args
    for t in _targets(a.args[1:]):
        a.write(t, truncate=False, append=append)


def _editor(a: Argv) -> None:
    args = a.args[1:]
    for i, x in enumerate(args):
        cmd = args[i + 1] if x in {"-c", "--cmd", "-ex", "--eval"} and i + 1 < len(args) else ""
        cmd = x[1:] if x.startswith("+") else cmd
        if re.search(r"!|:sh(?:ell)?\b|:?\bterm\b|/bin/\w*sh\b|\bpy(?:thon)?3?\b|\blua\b|system\(|shell", cmd):
            a.flag("shell_escape", 90, f"{a.args[0]} command line runs a shell")
            return
    if a.args[0] not in {"gdb", "emacs"} and any(r.PRIV_FILES.match(t) for t in _targets(args)):
        a.flag("privilege_escalation", 85, "edits an account or sudoers file")


def _sed(a: Argv) -> None:
    rule_sed(a)
    if any(x.startswith(("-i", "--in-place")) for x in a.args[1:]):
        for t in _targets(a.args[1:])[1:]:
            a.write(t, truncate=False)


def _find(a: Argv) -> None:
    args = a.args
    filters = {"-name", "-iname", "-path", "-ipath", "-regex", "-newer", "-mtime", "-mmin", "-user", "-size"}
    if "-delete" in args and not filters & set(args) and any(_norm(t) in r.SYSTEM_DIRS for t in _targets(args[1:2])):
        a.flag("destructive", 95, "find -delete over a system path")
    for i, x in enumerate(args):
        if x in {"-exec", "-execdir", "-ok", "-okdir"}:
            end = next((j for j in range(i + 1, len(args)) if args[j] in {";", "+", "\\;"}), len(args))
            if end > i + 1:
                a.sub(a.tokens[i + 1 : end], wrapped=True)


_GIT_HOOK: Final = re.compile(
    r"(?i)^(?:core\.(?:pager|editor|sshcommand|fsmonitor|hookspath)|alias\.[\w-]+|--upload-pack|--receive-pack|"
    r"--exec|diff\.external|[\w.-]+\.textconv|credential\.helper|sequence\.editor|uploadpack\.packobjectshook)="
)


def _git(a: Argv) -> None:
    """``git -c core.pager=…``, ``alias.x=!…``: the value is a command line git runs through a shell."""
    for i, x in enumerate(a.args[1:], start=1):
        match = _GIT_HOOK.match(x)
        if match:
            value = x[match.end() :].removeprefix("!")
            if SHELL_PATH.search(value) or is_program(value):
                severity = 90 if SHELL_PATH.search(value) else 60
                a.flag("shell_escape", severity, "git configured to run an arbitrary command")
            a.reparse_tail(a.tokens[i], value)
            return


def _nc(a: Argv) -> None:
    args = a.args[1:]
    short = _flags(args)
    exe = "e" in short or "c" in short or any(x.startswith(("--exec", "--sh-exec", "--lua-exec")) for x in args)
    listen = "l" in short or "--listen" in args
    if exe and listen:
        a.flag("bind_shell", 90, f"{a.args[0]} listener executes a program")
    elif exe:
        a.flag("reverse_shell", 95, f"{a.args[0]} connects a program to a remote host")


def _socat(a: Argv) -> None:
    joined = " ".join(a.args[1:]).lower()
    if _SYSTEM_EXEC.search(joined):
        if "listen" in joined:
            a.flag("bind_shell", 90, "socat listener executes a program")
        else:
            a.flag("reverse_shell", 95, "socat connects a program to a remote host")


def _ztcp(a: Argv) -> None:
    a.flag("reverse_shell", 95, "zsh ztcp opens a raw TCP connection")


def _sendfile(a: Argv) -> None:
    args = a.args
    name = args[0]
    files: list[str] = []
    data_flags = {"-d", "--data", "--data-binary", "--data-raw", "--data-urlencode", "-F", "--form", "-T"}
    for i, x in enumerate(args[1:], start=1):
        val = args[i + 1] if x in data_flags | {"--upload-file"} and i + 1 < len(args) else ""
        for prefix in ("--post-file=", "--body-file=", "--upload-file=", "--data-binary=", "--data="):
            val = x.removeprefix(prefix) if x.startswith(prefix) else val
        if val and val not in {"@-", "-"}:
            files.append(val.split("@", 1)[1] if "@" in val else val if x in {"-T", "--upload-file"} else "")
    sends = any(files) or any(x in data_flags for x in args)
    if any(g.CREDENTIAL_PATH.search(f) for f in files if f):
        a.flag("exfiltration", 90, f"{name} uploads a credential file")
    elif any(files):
        a.flag("exfiltration", 60, f"{name} uploads a local file")
    if any(g.EXFIL_HOST.search(x) for x in args[1:]):
        a.flag("exfiltration", 90 if sends else 75, f"{name} talks to a paste, webhook or tunnel host")


def _copy_remote(a: Argv) -> None:
    targets = _targets(a.args[1:])
    remote = any(re.match(r"^[\w.@-]+:", t) or "://" in t for t in targets)
    if remote and any(g.CREDENTIAL_PATH.search(t) for t in targets[:-1]):
        a.flag("exfiltration", 90, f"{a.args[0]} copies a credential file to a remote host")
    elif g.CREDENTIAL_PATH.search(" ".join(targets[:-1])):
        a.flag("credential_access", 70, f"{a.args[0]} copies a credential file")
    if targets:
        a.write(targets[-1], truncate=False)


def _history(a: Argv) -> None:
    if {"-c", "-cw"} & set(a.args[1:]) or a.args[1:] == ["-w", "/dev/null"]:
        a.flag("evasion", 80, "clears shell history")


def _unset(a: Argv) -> None:
    if {"HISTFILE", "HISTSIZE", "HISTFILESIZE"} & set(a.args[1:]):
        a.flag("evasion", 80, "disables shell history")


def _set(a: Argv) -> None:
    if a.args[1:3] == ["+o", "history"]:
        a.flag("evasion", 80, "disables shell history")


def _auditctl(a: Argv) -> None:
    if "-D" in a.args or a.args[1:3] == ["-e", "0"]:
        a.flag("evasion", 85, "removes audit rules or disables auditing")


def _systemctl(a: Argv) -> None:
    args = [x for x in a.args[1:] if not x.startswith("-")]
    if args and args[0] in {"stop", "disable", "mask", "kill"} and any(r.LOGGING_SERVICES.match(x) for x in args):
        a.flag("evasion", 85, "stops system logging or auditing")
    elif args and args[0] in {"enable", "link", "reenable"}:
        a.flag("persistence", 75, "enables a systemd unit at boot")


def _service(a: Argv) -> None:
    if len(a.args) >= 3 and r.LOGGING_SERVICES.match(a.args[1]) and a.args[2] == "stop":
        a.flag("evasion", 85, "stops system logging or auditing")


def _crontab(a: Argv) -> None:
    rest = [x for x in a.args[1:] if x not in {"-l", "-u"}]
    if rest and "-l" not in a.args and "-r" not in a.args:
        a.flag("persistence", 75, "installs or edits a crontab")


def _security(a: Argv) -> None:
    if len(a.args) > 1 and a.args[1] in {"find-generic-password", "find-internet-password", "dump-keychain"}:
        a.flag("credential_access", 70, "reads the macOS keychain")


def _getent(a: Argv) -> None:
    if {"shadow", "gshadow"} & set(a.args[1:]):
        a.flag("credential_access", 70, "reads password hashes")


def _setcap(a: Argv) -> None:
    if any(re.search(r"cap_(?:setuid|setgid|sys_admin|dac_override)|=ep", x) for x in a.args[1:]):
        a.flag("privilege_escalation", 90, "grants a dangerous file capability")


def _usermod(a: Argv) -> None:
    joined = " ".join(a.args[1:])
    if re.search(r"(?:^|\s)-u\s+0\b|-o\s|(?:-a?G|--groups)\s+\S*\b(?:sudo|wheel|root|admin)\b", joined):
        a.flag("privilege_escalation", 85, "gives an account root id or an admin group")


def _eval(a: Argv) -> None:
    for tok in a.tokens[1:]:
        a.reparse(tok)


def _tunnel(a: Argv) -> None:
    a.flag("exfiltration", 60, f"{a.args[0]} exposes a local service through a public tunnel")


def _launchctl(a: Argv) -> None:
    if len(a.args) > 1 and a.args[1] in {"load", "bootstrap", "enable"}:
        a.flag("persistence", 75, "loads a launchd job")


_RULES: Final[dict[str, Callable[[Argv], None]]] = {
    "rm": _rm,
    "chmod": _chmod,
    "chown": _chown,
    "chgrp": _chown,
    "dd": _dd,
    "shred": _shred,
    "cp": _writes_last,
    "mv": _writes_last,
    "install": _writes_last,
    "ln": _writes_last,
    "tee": _tee,
    "sed": _sed,
    "vi": _editor,
    "vim": _editor,
    "nvim": _editor,
    "ex": _editor,
    "view": _editor,
    "rvim": _editor,
    "nano": _editor,
    "gdb": _editor,
    "emacs": _editor,
    "find": _find,
    "git": _git,
    "nc": _nc,
    "ncat": _nc,
    "netcat": _nc,
    "socat": _socat,
    "ztcp": _ztcp,
    "curl": _sendfile,
    "wget": _sendfile,
    "http": _sendfile,
    "scp": _copy_remote,
    "rsync": _copy_remote,
    "history": _history,
    "unset": _unset,
    "set": _set,
    "auditctl": _auditctl,
    "systemctl": _systemctl,
    "service": _service,
    "crontab": _crontab,
    "security": _security,
    "getent": _getent,
    "setcap": _setcap,
    "usermod": _usermod,
    "useradd": _usermod,
    "eval": _eval,
    "ngrok": _tunnel,
    "cloudflared": _tunnel,
    "lt": _tunnel,
    "launchctl": _launchctl,
}
