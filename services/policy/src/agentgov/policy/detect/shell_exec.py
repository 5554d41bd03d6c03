"""Rules for programs made to run other code: hook options, native libraries, packages, containers.

What a binary can be told to execute, independent of its name: an option whose value is a command line
(``--password-command=…``, ``-o ProxyCommand=…``, ``--checkpoint-action=exec=…``), a shared library it
loads (``--engine x.so``, ``ssh-keygen -D x.so``), a local package whose install scripts run as root, a
container that mounts the host's root, a shell binary copied under another name, a ``sed`` script using
its ``e`` command. Each ``rule_*`` reports through ``Argv.flag``; command lines found in option values go
back to the walker through ``Argv.reparse_tail`` as strings *spawned* by the program.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Final

from agentgov.policy.detect import shell_gates as g
from agentgov.policy.detect import shell_rules as r

if TYPE_CHECKING:
    from agentgov.policy.detect.shell import Argv

#: A shell binary named anywhere in a string (``/bin/sh``, ``/usr/bin/bash``), or run by ``exec sh``,
#: ``system("sh")``, ``spawn sh``.
_SPAWN: Final = re.compile(
    r"/bin/(?:ba|z|da|k|c|tc|fi|a)?sh\b(?![.-])|\b(?:exec|spawn)\s+(?:ba|z|da|k)?sh\b|"
    r"\b(?:system|popen|execl?p?)\s*\(\s*[\"'](?:ba|z|da|k)?sh\b"
)
#: Text around a shell path that is not a shell being run: a shebang, a login shell being set.
_NOT_SPAWN: Final = re.compile(r"#!\s*[^\s\\]+|\bSHELL=\S+|--shell[= ]\S+|chsh\s+-s\s+\S+")
_PROGRAM_PATH: Final = re.compile(r"^(?:/|\./|\.\./|~/)\S")
_HOOK_PREFIX: Final = re.compile(r"^(?:exec[=:]|[|!;]|\s)+")
_INERT: Final = frozenset({"", "true", "false", "yes", "no", "none", "auto", "always", "never", "on", "off"})
_PACKAGE_VERBS: Final = frozenset({"install", "localinstall", "in", "add", "reinstall", "upgrade", "-U", "--install"})
_SED_EXEC: Final = re.compile(r"(?:^|[;{}\n]|^\d+|\$|/)\s*e(?:\s|$)|^s(.).*\1.*\1[gpiIm\d]*e[gpiIm\d]*$")
_RPM_INSTALL: Final = re.compile(r"^-[a-zA-Z]*[iUF][a-zA-Z]*$")


def is_shell_payload(text: str) -> bool:
    """``text`` (a string written to a file or piped to a program) runs a shell when executed."""
    return bool(text) and bool(_SPAWN.search(_NOT_SPAWN.sub(" ", text)))


def is_program(value: str) -> bool:
    """``value`` names a program to run: a path, or a shell, interpreter or network tool."""
    words = value.split()
    if not words:
        return False
    first = words[0]
    return bool(_PROGRAM_PATH.match(first)) or first.rsplit("/", 1)[-1] in _RUNNABLE


_RUNNABLE: Final = r.SHELLS | r.INTERPRETERS | r.DOWNLOADERS


def rule_hooks(a: Argv, name: str) -> None:
    """Options whose value is a command line the program runs (``--on-error=/x``, ``-o ProxyCommand=…``)."""
    args = a.args
    for i in range(1, len(args)):
        x = args[i]
        if "=" in x:
            key, _, value = x.partition("=")
            token = a.tokens[i]
        elif x.startswith("--") or (x.startswith("-") and len(x) > 5):
            if i + 1 >= len(args):
                continue
            key, value, token = x, args[i + 1], a.tokens[i + 1]
        else:
            continue
        if not g.HOOK_OPTION.search(key.lstrip("-")):
            continue
        value = _HOOK_PREFIX.sub("", value)
        if value.lower() in _INERT or not is_program(value):
            continue
        a.flag("shell_escape", 60, f"{name} runs the command given in {key}")
        a.reparse_tail(token, value)


def rule_libraries(a: Argv, name: str) -> None:
    """A shared library handed to a program that loads it (``--engine x.so``, ``load x.so``, ``-D x.so``)."""
    if name in r.LIBRARY_FILE_TOOLS or name in r.TEXT_TOOLS:
        return
    args = a.args
    for i in range(1, len(args)):
        x = args[i]
        key = x.partition("=")[0] if "=" in x else args[i - 1] if args[i - 1].startswith("-") else ""
        loads = bool(key) and bool(r.LOAD_OPTION.search(key.lstrip("-") or key))
        if r.LIBRARY_PATH.search(x):
            loads = loads or name in {"load", "enable", "dlopen", "insmod"}
            a.flag("library_load", 90 if loads else 75, f"{name} is made to load native library code")
            return
        if loads and "/" in x and g.MODULE_OPTION.search(key):
            a.flag("library_load", 90, f"{name} loads a module from {x}")
            return


def rule_package(a: Argv, name: str) -> None:
    """A package installed from a local file: its maintainer scripts run as root, unsigned."""
    args = a.args[1:]
    local = any(r.PACKAGE_FILE.search(x) for x in args if not x.startswith("-"))
    if name == "snap":
        risky = "install" in args and bool({"--dangerous", "--devmode", "--classic"} & set(args)) and local
    elif name in {"rpm", "dpkg"}:
        risky = local and any(_RPM_INSTALL.match(x) or x in {"--install", "--upgrade", "--unpack"} for x in args)
    elif name == "pacman":
        risky = any(x.startswith("-U") for x in args)
    else:
        risky = local and bool(_PACKAGE_VERBS & set(args))
    if risky:
        a.flag("privilege_escalation", 60, f"{name} installs a local package; its install scripts run as root")


def rule_container(a: Argv, name: str) -> None:
    """A container that mounts the host's root filesystem or runs privileged."""
    args = a.args[1:]
    if any(r.HOST_ROOT_MOUNT.search(x) for x in args):
        a.flag("privilege_escalation", 90, f"{name} mounts the host root filesystem into a container")
    elif "--privileged" in args or any(x.startswith("security.privileged=true") for x in args):
        a.flag("privilege_escalation", 75, f"{name} runs a privileged container")


def rule_shell_copy(a: Argv, name: str) -> None:
    """A shell binary copied, linked or bind-mounted where something else is expected."""
    targets = [x for x in a.args[1:] if not x.startswith("-")]
    if name == "mount":
        targets = [x for x in targets if x != "bind"]
    if len(targets) < 2 or not any(_is_shell_binary(t) for t in targets[:-1]):
        return
    dest = targets[-1].rstrip("/").rsplit("/", 1)[-1] if not targets[-1].endswith("/") else ""
    if dest not in r.SHELLS and targets[-1] != "/etc/shells":
        a.flag("shell_escape", 90, f"{name} puts a shell binary where another program is expected")


def rule_sed(a: Argv) -> None:
    """GNU sed's ``e`` command and ``s///e`` flag run shell commands."""
    args = a.args[1:]
    scripts = [y for x, y in itertools.pairwise(args) if x in {"-e", "--expression"}]
    if not scripts:
        scripts = [next((x for x in args if not x.startswith("-")), "")]
    for script in scripts:
        if _SED_EXEC.search(script):
            shell = is_shell_payload(script) or re.search(r"\be\s+(?:ba|z|da|k)?sh\b", script)
            a.flag("shell_escape", 90 if shell else 60, "sed script runs shell commands (e)")
            return


def _is_shell_binary(path: str) -> bool:
    return path.startswith("/") and path.rsplit("/", 1)[-1] in r.SHELLS and "/bin/" in path
