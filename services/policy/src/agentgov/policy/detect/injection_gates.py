"""Anchor gates: a cheap look right before or after an anchor occurrence, so that the rules keyed on a common
anchor (``you``, ``system``, ``mail``…) run only where a match is possible. A gate is a regex matched right
after the anchor (``follow``) or searched in the few characters before it (``lead``, ending at the anchor).
"""

from __future__ import annotations

import re
from typing import Final

Gate = tuple["re.Pattern[str] | None", "re.Pattern[str] | None", int, bool]
"""(follow, lead, lead_len, both): with ``both`` the follow and the lead must pass, else either one."""

_CLAUSE_LEAD = (
    r"(?:^|[.!?:;,\n(\[\"'*>-]|\b(?:please|and|then|to|must|should|will|can|could|would|kindly|also|immediately|"
    r"first|now|just|do|todo|finally|secretly|silently|quietly|you))\s*(?:e-?)?$"
)

GATES: Final[dict[str, Gate]] = {
    "ignor": (
        re.compile(
            r"(?:e[sd]?|ing)\s+(?:all|any|every|the|your|my|these|those|this|that|its|previous|prior|above|earlier|"
            r"everything|what|whatever|initial|original|system|safety|content|about|instructions|rules|directions|"
            r"prompts?|directives|guidelines|orders|commands)\b"
        ),
        None,
        0,
        False,
    ),
    "prompt": (
        re.compile(r"\s*(?:is|was)\s*:"),
        re.compile(
            r"(?:your|the|initial|system|original|hidden|secret|starting|first|opening|full|entire|confidential|pre|"
            r"base|core|this|my|these|new|following)[\s_-]*$"
        ),
        24,
        False,
    ),
    "system": (
        re.compile(
            r"\s*(?:prompt|message|instructions?|mode|override|config\w*|note|update|notice|alert|directive|command|"
            r"msg|administrator)|\s*[:>\])]|_(?:message|prompt|mode|msg)|'s\s+(?:password|prompt)"
        ),
        re.compile(r"[<\[(#]\s*$"),
        4,
        False,
    ),
    "above": (
        None,
        re.compile(
            r"\b(?:repeat|output|print|copy|reproduce|rewrite|return|echo|show|display|ignore|disregard|forget|"
            r"overlook|everything|all)\b[^.\n]{0,40}$"
        ),
        60,
        False,
    ),
    "passw": (
        None,
        re.compile(
            r"\b(?:what|tell|give|share|reveal|confirm|provide|ask|print|say|spell|write|encode|translate|leak|"
            r"disclose|send|output|show|display|hint|type|poem|haiku|story|song|riddle|limerick|acrostic|rap|joke|"
            r"user's|your|our)\b[^.?!\n]{0,50}$"
        ),
        64,
        False,
    ),
    "send": (re.compile(r"(?:s|ing)?\s+[a-z$']"), re.compile(_CLAUSE_LEAD), 24, True),
    "mail": (re.compile(r"(?:s|ing)?\s+[a-z$']"), re.compile(_CLAUSE_LEAD), 24, True),
    "post": (
        re.compile(r"(?:s|ing)?\s+(?:it|them|this|that|the|all|every|a|an|my|your|their)\b"),
        re.compile(_CLAUSE_LEAD),
        24,
        True,
    ),
    "todo": (re.compile(r"\s*[:!-]"), None, 0, False),
    "forward": (re.compile(r"(?:s|ing)?\s+[a-z$']"), re.compile(_CLAUSE_LEAD), 24, True),
    "character": (None, re.compile(r"(?:in|of|break\w*|stay\w*)\s+$"), 12, False),
    "dan": (re.compile(r"(?![a-z])"), None, 0, False),
    "mode": (
        None,
        re.compile(
            r"(?:developer|dan|god|jailbreak\w*|unrestricted|evil|opposite|chaos|uncensored|unfiltered|unlocked|"
            r"system|override|security|maintenance|debug|admin\w*|sudo|root)[\s_-]*$"
        ),
        32,
        False,
    ),
}
"""Gates of the anchors that are common in ordinary text; the other anchors are rare enough to need none."""
FOLLOW_ANCHORS: Final = frozenset({"you"})
"""Anchors so common that each rule on them states what must follow (``Rule.follow``)."""
