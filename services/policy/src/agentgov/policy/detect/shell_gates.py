"""Literal prefilters for the analyzer's widest patterns: skip a regex search that cannot match.

A pattern of many alternatives (``CREDENTIAL_PATH``, ``EXFIL_HOST``, ``CODE_EXEC``) is tried at every
position of the text, ~100 ns a character; most words hold none of the literals that every match must
contain, and ``str.__contains__`` rules that out in a few ns. ``Gated.search`` returns exactly what
``pattern.search`` returns: the literals only decide whether the search runs. For a case-insensitive
pattern the literals are lower case and the gate applies to ASCII text (lowered); other text is always
searched, since Unicode case folding matches more than ``str.lower`` shows (the Kelvin sign is a ``k``).

Each literal list is derived from its pattern: every alternative contains one of the literals.
``tests/test_detect_shell_gates.py`` checks the lists against each alternative.
"""

from __future__ import annotations

import re
from typing import Final

from agentgov.policy.detect import shell_rules as r


class Gated:
    """``pattern.search`` run only on text that contains one of ``literals``."""

    __slots__ = ("fold", "literals", "pattern")

    def __init__(self, pattern: re.Pattern[str], literals: str, *, fold: bool = False) -> None:
        self.pattern = pattern
        self.literals = tuple(literals.split())
        self.fold = fold

    def search(self, text: str) -> re.Match[str] | None:
        if self.fold:
            if not text.isascii():
                return self.pattern.search(text)
            low = text.lower()
            for literal in self.literals:
                if literal in low:
                    return self.pattern.search(text)
            return None
        for literal in self.literals:
            if literal in text:
                return self.pattern.search(text)
        return None

    def may_match(self, text: str) -> bool:
        """Whether some substring of ``text`` could match (a gate for a loop over its words)."""
        if self.fold:
            if not text.isascii():
                return True
            text = text.lower()
        return any(literal in text for literal in self.literals)


CREDENTIAL_PATH: Final = Gated(
    r.CREDENTIAL_PATH,
    ".ssh/ .aws/ .env /environ /etc/ .git-credentials .netrc .pgpass .docker/ .kube/ .npmrc .pypirc .gnupg/ "
    "/gcloud/ .azure/ Login logins.json .db cookies.sqlite .mozilla/ google-chrome/ Google/Chrome/ "
    "Library/Keychains .keychain .bash_history",
)
EXFIL_HOST: Final = Gated(
    r.EXFIL_HOST,
    "pastebin.com paste.ee hastebin ghostbin transfer.sh 0x0.st ix.io termbin.com ngrok webhook.site "
    "requestbin pipedream.net hookbin beeceptor trycloudflare.com serveo.net loca.lt interact.sh oast. "
    "burpcollaborator.net file.io anonfiles",
    fold=True,
)
PERSIST_PATH: Final = Gated(
    r.PERSIST_PATH, "cron systemd/ /etc/ .bash .profile .zsh .zprofile authorized_keys .git/hooks/ Launch"
)
#: Option names whose value is a command line the program runs (``HOOK_OPTION``).
HOOK_OPTION: Final = Gated(
    r.HOOK_OPTION,
    "on- command cmd exec script hook pager editor askpass filter wrapper rsh program invoke core_pattern action",
    fold=True,
)
#: Option names after which a path is a module the program loads (the second test of ``rule_libraries``).
MODULE_OPTION: Final = Gated(
    re.compile(r"(?i)default-auth|plugin-dir|engine|pkcs11|provider"),
    "default-auth plugin-dir engine pkcs11 provider",
    fold=True,
)
CODE_SOCKET: Final = Gated(r.CODE_SOCKET, "socket sockopen net.connect require( /inet/tcp/ connect", fold=True)
CODE_EXEC: Final = Gated(
    r.CODE_EXEC,
    "system subprocess spawn exec popen child_process proc_open passthru ProcessBuilder Runtime.getRuntime "
    "dup2 callCommand Process.Start esyscmd ` run-shell-command",
)
CODE_SHELL: Final = Gated(r.CODE_SHELL, "sh")
CODE_LIBRARY: Final = Gated(r.CODE_LIBRARY, "ctypes cdll dlopen Fiddle LoadLibrary DynaLoader ffi.load System.load")
