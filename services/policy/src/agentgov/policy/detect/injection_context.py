"""Context for the injection wording rules: the shared vocabulary (verbs, qualifiers, objects) and the checks
that judge a match by what surrounds it.

The vocabulary is families of words, not sentences: verbs x qualifiers x objects (``ignore`` /
``disregard`` / ``forget``… x ``previous`` / ``above``… x ``instructions`` / ``rules``…), so new phrasings
of the same move still match. Everything here is lowercase: patterns run on folded text.

A rule's ``check`` sees the folded text and the match and returns the severity to report (``None``:
drop the match). That is where context lives: a negation or a quotation before an override
("never ignore previous instructions", "attacks such as 'ignore previous instructions'") lowers it; a new
directive after it raises it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

Check = Callable[[str, "re.Match[str]", int], "int | None"]


# ---------------------------------------------------------------------------------------------------------
# Building blocks (all lowercase; the text is folded before matching)

_SEP = r"[^\w.!?\n]{1,4}+"  # between two words of one sentence
_WORD = r"[\w'’-]{1,30}+"


def gap(n: int) -> str:
    """Up to ``n`` words of anything inside one sentence, then a separator."""
    return rf"(?:{_SEP}{_WORD}){{0,{n}}}?{_SEP}"


OVERRIDE_VERB = (
    r"(?:ignor(?:e|es|ed|ing)|disregard(?:s|ed|ing)?|forget(?:s|ting)?|forgot|overlook(?:s|ed|ing)?"
    r"|overrid(?:e|es|ing)|bypass(?:es|ed|ing)?|set\s+aside|put\s+aside|throw\s+out|pay\s+no\s+(?:attention|heed|mind)"
    r"(?:\s+to)?|stop\s+following|(?:do\s+not|don'?t|no\s+longer)\s+(?:follow|obey|adhere\s+to|comply\s+with|listen\s+to))"
)
WEAK_VERB = r"(?:skip|discard|drop|abandon|neglect|dismiss|erase|delete|wipe|clear|reset|cancel|scrap|void)"
PRIOR = (
    r"(?:previous(?:ly)?|prior|preceding|above|earlier|foregoing|former|initial|original|old|existing|pre-?set|"
    r"pre-?defined|aforementioned|above-mentioned|system|developer|default|standing|current|given|hidden|first)"
)
RULE_NOUN = (
    r"(?:[a-z]{0,3}n?stru?ct(?:ions?|ed)|directives?|directions?|prompts?|guidelines?|guidance|commands?|orders?|programming|"
    r"training|conditioning|context|rules?|polic(?:y|ies)|restrictions?|constraints?|filters?|guardrails?|"
    r"safeguards?|limitations?|boundaries|protocols?|messages?|tasks?|requests?|text|content|input|"
    r"conversation|system\s+(?:prompt|message)|settings)"
)
OVERRIDE_OBJ = (
    rf"(?:(?:about|of)\s+)?(?:(?:all|any|every|each|both)\s+(?:of\s+)?)?"
    rf"(?:(?:the|your|my|these|those|this|that|its|their|our)\s+)?"
    rf"(?:(?:{PRIOR}|all|other|specific|special|ethical|moral|safety|content|security|above|rules?\s+and)\s+){{0,3}}"
    rf"{RULE_NOUN}"
)
TOLD = (
    r"(?:(?:everything|anything|all|what(?:ever)?)\s+(?:that\s+|of\s+what\s+)?(?:you\s*(?:'ve|have|were|had|'re|are)?|"
    r"i\s*(?:'ve|have)?|was|you)\s+(?:been\s+|just\s+|previously\s+|already\s+)?(?:told|instructed|given|taught|"
    r"programmed|said|asked|shown|written|learned|learnt)|(?:all\s+)?(?:the\s+|everything\s+)?above|everything\s+(?:before|prior|"
    r"earlier|so\s+far)|(?:all\s+)?that\s+you(?:'ve|\s+have)\s+been\s+\w+(?:\s+before)?)"
)
CONTAINER = (
    r"(?:the|this|that|all|any)\s+(?:(?:above|previous|given|provided|actual|following|original|whole|entire)\s+)?"
    r"(?:web\s*page|page|website|site|document|doc|resume|cv|function|code|content|contents|data|text|e-?mail|"
    r"message|article|table|file|input|context|question|task|request|query|paper|review|post|comment|summary|"
    r"transaction|description|note|data\s+above|rest)"
)
DIRECTIVE_VERB = (
    r"(?:say|says|state|print|output|write|respond|reply|tell|answer|give|provide|send|do|follow|repeat|translate|"
    r"list|return|declare|claim|report|insist|show|reveal|email|forward|delete|remove|transfer|visit|go|click|call|"
    r"use|run|execute|create|make|add|post|upload|share|pay|change|update|set|grant|invite|open|act|pretend|"
    r"generate|include|insert|append|replace|recommend|instead|only|just|start|begin|explain|describe|summari[sz]e|"
    r"get|fetch|retrieve|find|book|reserve|modify|concatenate|invite|buy|order|approve|confirm|download|install|"
    r"navigate|browse|sign|submit|publish|disable|enable|cancel|schedule|move|rename|wire|grant|log\\s+in|login)"
)
_IMPERATIVE_START = re.compile(
    rf"[\s\"'“‘(\[*#>:.,;!-]*(?:(?:please|now|then|first|instead|kindly|also|and|just|immediately|actually)[\s,]+){{0,3}}"
    rf"{DIRECTIVE_VERB}\b|[\s\"'“‘(\[*#>:.,;!-]*(?:you\s+(?:must|should|will|shall|need\s+to|have\s+to|are\s+to|"
    rf"are\s+now|are\s+going\s+to)|from\s+now\s+on|your\s+(?:new|next|real|only)\s+(?:task|goal|job|instructions?))"
)
_NEW_DIRECTIVE = re.compile(
    rf"instead|from\s+now\s+on|new\s+(?:instructions?|task|rules?|directive)|\?|(?:^|[.:;!,\n-]\s*|\band\s+(?:then\s+)?)"
    rf"(?:(?:please|now|then|first|just|kindly|immediately)[\s,]+){{0,2}}{DIRECTIVE_VERB}\b|you\s+(?:must|should|will|"
    rf"are\s+now|are\s+going|have\s+to|need\s+to)|what\s+(?:is|are|was|were)|can\s+you|could\s+you|tell\s+me"
)
_META_BEFORE = re.compile(
    r"(?:\b(?:not|never|cannot|refuse\s+to|how\s+(?:to|do\s+(?:i|you|we)|can\s+(?:i|you|we))|whether\s+to|"
    r"attempts?\s+to|tr(?:y|ies|ying)\s+to|asks?\s+(?:you\s+|the\s+\w+\s+)?to|tells?\s+(?:you\s+|the\s+\w+\s+)?to|"
    r"tricks?\s+\w+(?:\s+\w+)?\s+into|such\s+as|like|e\.g\.|example|phrases?|called|known\s+as|detect\w*|block\w*|"
    r"flag\w*|prevent\w*|resist\w*|without|i\.e\.|words|strings?|prompts?\s+like|against)\b|n't|n’t)"
    r"\W{0,3}(?:\w+\W+){0,3}$"
)
_QUOTE_OPEN = frozenset("\"'“‘`«")


def _before(low: str, start: int, width: int = 48) -> str:
    head = low[max(0, start - width) : start]
    cut = max(head.rfind("."), head.rfind("\n"), head.rfind("!"), head.rfind("?"))
    return head[cut + 1 :] if cut >= 0 else head


def meta(low: str, start: int) -> bool:
    """The phrase is negated, asked about, quoted or named as an example rather than said."""
    head = _before(low, start)
    if _META_BEFORE.search(head):
        return True
    stripped = head.rstrip()
    return bool(stripped) and stripped[-1] in _QUOTE_OPEN and len(head) - len(stripped) <= 1


def _followed_by_directive(low: str, end: int, width: int = 220) -> bool:
    return _NEW_DIRECTIVE.search(low, end, min(len(low), end + width)) is not None


def _imperative_at(low: str, pos: int) -> bool:
    return _IMPERATIVE_START.match(low, pos, min(len(low), pos + 160)) is not None


# ---------------------------------------------------------------------------------------------------------
# Checks


def check_override(low: str, m: re.Match[str], base: int) -> int | None:
    if meta(low, m.start()):
        return 30
    text = m.group(0)
    strong = re.search(PRIOR + r"|\byour\b|\ball\b|\beverything\b|\babove\b|\btold\b|\binstructed\b", text) is not None
    weak_object = re.search(r"(?:rules?|polic(?:y|ies)|messages?|tasks?|requests?|text|content|input|settings)$", text)
    if not strong:
        return None if weak_object else 45
    sev = base if not weak_object or "your" in text or "previous" in text or "prior" in text else base - 25
    if _followed_by_directive(low, m.end()):
        return max(sev, 92) if sev >= base else sev + 15
    return sev


def check_container(low: str, m: re.Match[str], base: int) -> int | None:
    return 30 if meta(low, m.start()) else base


def check_meta(low: str, m: re.Match[str], base: int) -> int | None:
    return min(base, 30) if meta(low, m.start()) else base


def check_extraction(low: str, m: re.Match[str], base: int) -> int | None:
    if meta(low, m.start()):
        return 25
    tail = low[m.end() : m.end() + 60]
    if re.match(
        r"\s*(?:in|of|for|from|on|inside|within)\s+(?:this|the|that|my|our|a|an|your)\s+(?:\w+\s+)?(?:tutorial|example|"
        r"article|guide|docs?|documentation|repo(?:sitory)?|code|codebase|file|app|application|project|course|book|"
        r"video|notebook|library|framework|template|config|demo|sample|script|chatbot|bot|agent|blog|post|paper|"
        r"readme|playground|model\s+card)",
        tail,
    ):
        return 25
    text = m.group(0)
    if "your" in text or re.search(r"\byou\b", text):
        return base
    if re.search(r"(?:system|initial|original|hidden|secret|starting|opening|internal|underlying)\s", text):
        return base - 15
    return None


_SECRET_BENIGN_BEFORE = re.compile(
    r"(?:reset|change|update|forgot(?:ten)?|enter|type|set|choose|create|recover|rotate|store|hash|encrypt|protect|"
    r"verify|validate|remember|strong|new|weak|secure|generate|prompt\s+(?:the\s+)?(?:user\s+)?for|read|ask\s+for)"
    r"\W+(?:\w+\W+){0,2}$"
)


_DIRECT_ASK = re.compile(
    r"(?:what|tell|give|share|reveal|confirm|provide|disclose|leak|ask|poem|haiku|story|song|riddle|limerick|acrostic|"
    r"rap|joke)\b"
)


_CREATIVE: Final = re.compile(r"\b(?:poem|haiku|story|song|riddle|limerick|acrostic|rap|joke)\b")


def check_secret(low: str, m: re.Match[str], base: int) -> int | None:
    if meta(low, m.start()) or _SECRET_BENIGN_BEFORE.search(_before(low, m.start(), 32)):
        return None
    text = m.group(0)
    lo, hi = _sentence(low, m.start(), m.end())
    if OBFUSCATION.search(low, lo, hi) or _CREATIVE.search(text):
        return base + 8  # the secret, disguised or turned into a poem: a leak that output filters miss
    if re.search(r"\b(?:your|ur|our)\b|system's", text):
        return base
    if _DIRECT_ASK.match(text) or re.match(
        r"\s*(?:for|of|to)\s+(?:our|the|your|this)\s+(?:system|account|database|"
        r"server|app|network|vault)",
        low[m.end() : m.end() + 40],
    ):
        return base - 2
    return base - 15


def check_header(low: str, m: re.Match[str], base: int) -> int | None:
    decorated = re.search(r"[#\[(<{*]|_|message|prompt|instruction|note|override|update|notice|mode", m.group(0))
    if _imperative_at(low, m.end()):
        return base + 40 if decorated else base + 25
    return base if decorated else None


def check_token(low: str, m: re.Match[str], base: int) -> int | None:
    after = low[m.end() : m.end() + 24]
    if re.match(r"\s*(?:system|developer)\b", after) or "system" in m.group(0) or "sys" in m.group(0):
        return base + 10 if _followed_by_directive(low, m.end(), 300) else base
    return base


def check_directive_after(low: str, m: re.Match[str], base: int) -> int | None:
    if meta(low, m.start()):
        return 25
    if _imperative_at(low, m.end()):
        return base + 40
    return base + 25 if _followed_by_directive(low, m.end(), 200) else base


def check_repeat(low: str, m: re.Match[str], base: int) -> int | None:
    return 25 if meta(low, m.start()) else base


def check_precondition(low: str, m: re.Match[str], base: int) -> int | None:
    if meta(low, m.start()):
        return 25
    window = low[m.end() : m.end() + 80]
    if re.search(
        r"please|first|you\s+(?:must|need|should|have\s+to)|do\s+the\s+following|make\s+sure|following", window
    ):
        return base + 35
    return base


_DESTINATION = re.compile(
    r"[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+|https?://|\bwww\.|"
    r"\b[a-z0-9-]{2,63}\.(?:com|net|org|io|xyz|ru|cn|top|site|info|biz|link|online|club)\b|"
    r"\b[a-z]{2}\d{2}(?:\s?[a-z0-9]{4}){3,7}(?:\s?[a-z0-9]{1,4})?\b|webhook|pastebin|ngrok|requestbin|"
    r"\b(?:attacker|external|outside|remote|third[-\s]party)\s+(?:server|address|site|url|endpoint|e-?mail)"
)
_SENSITIVE = re.compile(
    r"passwords?|passcodes?|passphrases?|security\s+codes?|verification\s+codes?|\b2fa\b|\botp\b|one[-\s]time\s+"
    r"(?:code|password)|api[\s_-]?keys?|secrets?\b|secret\s+keys?|access\s+tokens?|auth\w*\s+tokens?|credentials?|"
    r"private\s+keys?|ssh\s+keys?|passport(?:\s+numbers?)?|credit\s+cards?|card\s+numbers?|\bcvv\b|\bssn\b|"
    r"social\s+security|bank\s+account|(?:personal|private|sensitive|confidential|user|customer|employee|patient)\s+"
    r"(?:data|information|info|details|records|files)|contents?\s+of\s+(?:all|every|each|the|my|your|his|her|their)|"
    r"(?:all|every|each)\s+(?:of\s+)?(?:the\s+|my\s+|your\s+|their\s+|his\s+|her\s+)?(?:unread\s+|received\s+|sent\s+|"
    r"recent\s+|private\s+)?(?:messages|emails|e-mails|files|documents|data|conversations|contacts|transactions|"
    r"records|notes|chats?|channels|users|passwords|secrets|keys)|(?:messages|e-?mails|files|data)\s+(?:from|in|of)\s+"
    r"(?:all|every|each)\b|(?:conversation|chat|message|browsing|search|"
    r"transaction|payment|call)\s+(?:history|logs?)|system\s+prompt|(?:the|this|my|your)\s+(?:whole|entire|full|"
    r"complete)\s+(?:conversation|chat|inbox|drive|database|thread|history|mailbox)|environment\s+variables|"
    r"\.env\b|cookies|session\s+(?:ids?|tokens?)|the\s+body\s+of\s+(?:the|an?|every|each|all)\s+(?:e-?mails?|messages?)"
)
_COVER = re.compile(
    r"(?:then|and|after(?:wards)?|finally|afterwards)[,\s]+(?:immediately\s+|also\s+)?(?:delete|remove|erase|clear|"
    r"wipe|purge)\s+(?:the|that|this|all|any|every|both|each|your)?\s*(?:(?:sent|original|outgoing|forwarded)\s+)?"
    r"(?:e-?mails?|messages?|evidence|traces?|logs?|history|conversation|records?|it|them)"
)
STEALTH = re.compile(
    r"without\s+(?:asking|telling|informing|notifying|alerting|confirming|checking|letting|the\s+user)|"
    r"(?:do\s+not|don'?t|never)\s+(?:tell|inform|notify|alert|mention|let|warn|ask)\s+(?:\w+\s+){0,2}?(?:the\s+user|"
    r"the\s+human|anyone|them|him|her|the\s+owner)|(?:keep|hide)\s+(?:this|it)\s+(?:secret|hidden|confidential)|"
    r"(?:silently|secretly|covertly|quietly)\s+(?:send|forward|email|transfer|upload|delete|copy|post)"
)


_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_CLAUSE_START = re.compile(
    r"(?:^|[.!?:;,\n(\[\"'*>-]|\b(?:please|and|then|to|must|should|will|can|could|would|kindly|also|immediately|"
    r"first|now|just|do|todo|finally|secretly|silently|quietly))\s*$"
)


def check_exfil(low: str, m: re.Match[str], base: int) -> int | None:
    if meta(low, m.start()) or not _CLAUSE_START.search(low, max(0, m.start() - 16), m.start()):
        return None
    lo, hi = m.start(), min(len(low), m.end() + 260)
    # The data named after the verb ("send the security code to …") or just before it ("get the passport
    # numbers and send them to …").
    obj = _SENSITIVE.search(low, lo, min(hi, m.end() + 120)) or _SENSITIVE.search(low, max(0, lo - 160), lo)
    if obj is None:
        return None
    stop = _SENTENCE_END.search(low, m.end(), hi)
    dest = _DESTINATION.search(low, m.end(), stop.start() if stop else hi)
    if dest is None:
        return 40
    extra = _COVER.search(low, lo, min(len(low), hi + 300)) or STEALTH.search(low, max(0, lo - 200), hi + 200)
    return base + 6 if extra else base


OBFUSCATION: Final = re.compile(
    r"\b(?:in\s+reversed?\s+order|backwards|in\s+pig\s+latin|in\s+leet\s*speak|leet\s*speak|(?:using|in|with|into)\s+"
    r"base\s*-?64|rot\s*-?13|as\s+an\s+acrostic|an\s+acrostic|(?:first|initial)\s+letter\s+of\s+each|each\s+(?:digit|"
    r"letter|character)\s+separated|with\s+(?:dashes|dots|spaces|hyphens|commas)\s+(?:in\s+)?between|one\s+(?:letter|"
    r"character)\s+(?:at\s+a\s+time|per\s+line)|split\s+(?:the\s+)?(?:response|answer|poem|it|output)\s+into|"
    r"interlace\w*|character\s+level|first\s+(?:three|two|few|\d)\s+(?:letters|characters|digits)|square\s+of|"
    r"(?:into|in)\s+(?:german|spanish|french|italian|portuguese|russian|chinese|japanese|korean|arabic|hindi|morse|"
    r"binary|hex(?:adecimal)?|emoji))\b"
)
"""Requests to disguise an answer so that output filters miss it (reversed, encoded, split, spelled out)."""


def _sentence(low: str, start: int, end: int) -> tuple[int, int]:
    lo = max(low.rfind(".", max(0, start - 200), start), low.rfind("\n", max(0, start - 200), start), start - 200, 0)
    hi_candidates = [i for i in (low.find(".", end, end + 200), low.find("\n", end, end + 200)) if i >= 0]
    return lo, min([*hi_candidates, min(len(low), end + 200)])


FICTION: Final = re.compile(
    r"\b(?:imagine|suppose|hypothetical(?:ly)?|in\s+a\s+(?:world|universe|future|society|scenario|game)\s+where|"
    r"in\s+this\s+(?:world|scenario|future|society|universe|game)|(?:research|survey|study)\s+(?:project\s+)?on\s+"
    r"personal\s+data|personal\s+data\s+is\s+(?:public|shared|free))"
)
"""A fictional or research frame put around a request so that the model's rules seem not to apply."""


def check_user_data(low: str, m: re.Match[str], base: int) -> int | None:
    """Personal details: stronger when the answer is to be disguised or the request wrapped in a fiction."""
    if meta(low, m.start()):
        return None
    lo, hi = _sentence(low, m.start(), m.end())
    bonus = 25 if OBFUSCATION.search(low, lo, hi) else 0
    if FICTION.search(low, max(0, m.start() - 300), m.end() + 100):
        bonus += 20
    return base + bonus


def check_tool(low: str, m: re.Match[str], base: int) -> int | None:
    """A named tool call: stronger when it is an order to the model and comes with ready-made arguments."""
    if meta(low, m.start()):
        return None
    text = m.group(0)
    ordered = re.match(r"you\s+(?:should|must|need\s+to|have\s+to|will|are\s+to)\b", text) is not None
    arguments = (
        re.search(r"(?:arguments|parameters|args|inputs)\b", text) is not None or "{" in low[m.end() : m.end() + 8]
    )
    return base + 15 * ordered + 15 * arguments


def check_fake_task(low: str, m: re.Match[str], base: int) -> int | None:
    hi = min(len(low), m.end() + 300)
    if _DESTINATION.search(low, m.end(), hi) or _SENSITIVE.search(low, m.end(), hi):
        return base + 20
    return base


@dataclass(frozen=True, slots=True)
class Rule:
    """One family of phrasings: what it is, how bad, where to look, the pattern, and how to judge a match."""

    name: str
    kind: str
    severity: int
    anchors: tuple[str, ...]
    back: int
    fwd: int
    pattern: re.Pattern[str]
    detail: str
    check: Check | None = None
    follow: str | None = None
    """For rules on a common anchor (``you``): what must come right after the anchor for the rule to be tried."""
