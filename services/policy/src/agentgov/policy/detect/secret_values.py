"""What a credential's *value* looks like: placeholders that stand for a secret rather than being one, and
random-looking strings (letters and digits with enough entropy for their length). Shared by the secret
detectors (:mod:`agentgov.policy.detect.secrets`); the rules are described in that module's docstring."""

from __future__ import annotations

import math
import re
from typing import Final

from agentgov.policy.detect.validated import shannon_entropy

HEX: Final = re.compile(r"[0-9a-f]+|[0-9A-F]+")

_PLACEHOLDER_WORDS: Final = frozenset((
    "changeme", "change_me", "changeit", "example", "sample", "dummy", "fake", "test", "testing", "redacted",
    "removed", "hidden", "placeholder", "secret", "secrets", "password", "passwd", "pass", "pwd", "token", "apikey",
    "api_key", "key", "value", "none", "null", "nil", "undefined", "true", "false", "empty", "required", "optional",
    "string", "str", "bytes", "int", "bool", "boolean", "any", "object", "your_password", "yourpassword",
    "your_token", "your_api_key", "mypassword", "my_password", "foo", "bar", "baz", "foobar", "qwerty", "letmein",
    "default", "notset", "unset", "todo", "tbd", "xxx", "n/a", "na",
))  # fmt: skip
_TEMPLATE: Final = re.compile(
    r"\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_]\w*|\{\{[^}]*\}\}|<[^<>]*>|%\(\w*\)s|%s|%[A-Za-z_]\w*%|#\{[^}]*\}"
    r"|@@\w+|\{\w*\}|<%.*%>|\[\[[^\]]*\]\]"
)
_PLACEHOLDER_PARTS: Final = ("fake", "dummy", "placeholder", "changeme", "redacted", "your_", "your-")
REFERENCE: Final = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+(?:\(.*)?|[A-Za-z_][\w.]*\(.*|[A-Za-z_][\w.]*\[.*")
_MASK: Final = re.compile(r"^(.)\1{2,}$|^[*x.•#?_-]+$", re.IGNORECASE)
_SEQUENCES: Final = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "9876543210")
_REPEATED: Final = re.compile(r"(.)\1{5}")


def is_placeholder(value: str) -> bool:
    """True for values that stand for a secret rather than being one (see the module docstring)."""
    v = value.strip()
    low = v.lower()
    if (
        len(v) < 3
        or not any(ch.isalnum() for ch in v)
        or low in _PLACEHOLDER_WORDS
        or _TEMPLATE.fullmatch(v) is not None
        or _MASK.match(v) is not None
    ):
        return True
    if any(p in low for p in _PLACEHOLDER_PARTS) or _REPEATED.search(low) is not None:
        return True
    if low.startswith(("your", "my-", "my_", "<", "xxx", "example", "dummy", "replace", "insert", "enter")):
        return True
    return len(low) >= 4 and any(low in seq for seq in _SEQUENCES)


def random_looking(value: str) -> bool:
    """Letters and digits, and entropy over the threshold for its length (hex of 32+ counts as random)."""
    n = len(value)
    if n < 16 or value.isalpha() or value.isdigit():
        return False
    if n >= 32 and HEX.fullmatch(value) is not None:
        return True
    if not any(ch.isdigit() for ch in value):
        return False
    threshold = min(4.5, 0.85 * n.bit_length() - 0.85)
    if math.log2(len(set(value))) < threshold - 1e-9:
        return False  # entropy is at most log2 of the distinct characters (equal only when all counts are)
    return shannon_entropy(value) >= threshold
