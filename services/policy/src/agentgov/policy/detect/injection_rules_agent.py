"""Wording rules about what the agent is pushed to do: call tools, send data out, obey text addressed to it,
take on a jailbreak persona. Same shape as :mod:`~agentgov.policy.detect.injection_rules`.
"""

from __future__ import annotations

import re
from typing import Final

from agentgov.policy.detect.injection_context import (
    STEALTH,
    Rule,
    check_directive_after,
    check_exfil,
    check_fake_task,
    check_meta,
    check_precondition,
    check_tool,
)

_AI = (
    r"(?:ai|a\.i\.|assistant|agent|llm|language\s+model|ai\s+(?:language\s+)?model|chatbot|bot|model|gpt-?[\w.]*|"
    r"chatgpt|claude|gemini|copilot|ai\s+agents?|ai\s+assistants?|ai\s+systems?|large\s+language\s+models?)s?"
)


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


AGENT_RULES: Final[tuple[Rule, ...]] = (
    # --- tool_coercion ----------------------------------------------------------------------------------------
    Rule(
        "call_tool",
        "tool_coercion",
        45,
        ("you",),
        20,
        90,
        _r(
            r"\b(?:you\s+(?:should|must|need\s+to|have\s+to|will|are\s+to)\s+|please\s+|now\s+|first,?\s+|then\s+)?"
            r"(?:use|call|invoke|run|execute|trigger|fire)\s+(?:the\s+)?(?:(?:tool|function|action|plugin)\s+"
            r"[`'\"]?[a-z_][\w.-]{1,60}+[`'\"]?|[`'\"]?[a-z]+_[\w.-]{1,60}+[`'\"]?\s+(?:tool|function|action|plugin))"
            r"(?:[^.\n]{0,40}?\b(?:with|using|passing)\b(?:\s+the\s+(?:following\s+)?(?:arguments|parameters|args|"
            r"inputs))?)?"
        ),
        "tells the model to call a specific tool",
        check_tool,
        follow=r"\s+(?:should|must|need\s+to|have\s+to|will|are\s+to)\s+(?:use|call|invoke|run|execute|trigger)\s",
    ),
    Rule(
        "precondition",
        "tool_coercion",
        50,
        ("you",),
        10,
        140,
        _r(
            r"\bbefore\s+(?:you\s+(?:can\s+|could\s+|do\s+|start\s+|continue\s+|proceed\s+|go\s+on\s+)?)?"
            r"(?:solv|answer|complet|continu|proceed|respond|reply|finish|handl|work\w*\s+on|address|perform|do|doing|"
            r"start|begin|summari[sz]|return\w*\s+to|carry\w*\s+out|execut)\w*\s+(?:with\s+)?(?:the|your|this|my|any|"
            r"that)\s+(?:original\s+|actual\s+|current\s+|main\s+|user'?s?\s+|assigned\s+|requested\s+)?(?:task|request|"
            r"question|job|assignment|query|instructions?|goal|work|prompt)s?\b"
        ),
        "makes the model's task conditional on doing something else first",
        check_precondition,
        follow=r"\s+(?:can\s+|could\s+|do\s+|start\s+|continue\s+|proceed\s+|go\s+on\s+)?(?:solv|answer|complet|continu|proceed|respond|reply|finish|handl|work|address|perform|do\b|doing|start|begin|summari|return|carry|execut)",
    ),
    Rule(
        "after_that",
        "tool_coercion",
        50,
        ("you",),
        20,
        60,
        _r(
            r"\bafter\s+(?:you(?:'ve|\s+have)?\s+)?(?:do|did|done|complete\w*|finish\w*)\s+(?:that|this|it|these)\b[,\s]+"
            r"(?:you\s+can\s+|then\s+|please\s+)?(?:solve|continue|proceed|return|go\s+back|resume|get\s+back)\b"
            r"|\binstead\s+of\s+(?:doing\s+|answering\s+|completing\s+)?(?:the|your)\s+(?:original|current|actual|"
            r"assigned|user's|requested|given)\s+(?:task|request|question)"
        ),
        "redirects the model from its task to another one",
        check_meta,
        follow=r"(?:'ve|\s+have)?\s+(?:do|did|done|complete\w*|finish\w*)\s+(?:that|this|it|these)\b|r\s+(?:original|current|actual|assigned)\s+(?:task|request)",
    ),
    Rule(
        "fake_task",
        "tool_coercion",
        45,
        ("todo",),
        30,
        60,
        _r(
            r"(?:^|(?<=[\n>]))[ \t\-*]{0,4}+(?:todo|to-do)\s*[:!-]+\s*(?:please\s+)?"
            r"(?:send|e-?mail|forward|transfer|wire|pay|delete|remove|create|make|invite|visit|open|click|post|upload|share|change|modify|update|get|say|tell|"
            r"concatenate|book|reserve|grant|add|download|install|run|execute|call)\b"
        ),
        "a to-do item addressed to the agent that asks for an action with side effects",
        check_fake_task,
    ),
    # --- exfiltration_instruction -----------------------------------------------------------------------------
    Rule(
        "exfil",
        "exfiltration_instruction",
        88,
        ("send", "mail", "post", "forward"),
        4,
        12,
        _r(
            r"\b(?:send|e-?mail|mail|forward|post|upload|transfer|share|leak|exfiltrate|copy|submit|paste|deliver|"
            r"publish|dump|relay|transmit)\b"
        ),
        "tells the model to send private data (codes, passwords, messages, files) out",
        check_exfil,
    ),
    Rule(
        "drain_funds",
        "exfiltration_instruction",
        72,
        ("send",),
        8,
        80,
        _r(
            r"\b(?:send|transfer|wire|pay|move)\s+(?:as\s+much\s+(?:money|funds|as)\s+(?:as\s+)?possible|all\s+(?:of\s+)?"
            r"(?:the\s+|my\s+|your\s+|their\s+)?(?:money|funds|balance|savings|crypto|bitcoin)|the\s+(?:entire|full|"
            r"whole|remaining)\s+balance)|\bin\s+(?:small\s+)?increments\s+of\s+(?:no\s+more\s+than|less\s+than|under|"
            r"at\s+most)"
        ),
        "tells the agent to move money out in a way a user would not ask for",
        check_meta,
    ),
    Rule(
        "stealth",
        "exfiltration_instruction",
        40,
        ("you", "send", "mail"),
        60,
        200,
        STEALTH,
        "asks the agent to act without the user knowing",
        check_meta,
        follow=r"\s+(?:know|knowing|noticing|notice)\b",
    ),
    # --- addressed_instruction: text speaking to the model from inside data -----------------------------------
    Rule(
        "to_the_ai",
        "addressed_instruction",
        50,
        ("you",),
        10,
        50,
        _r(
            rf"\b(?:(?:to|for)\s+you,?\s+(?:the\s+)?{_AI}|(?:dear|attention|note\s+to|message\s+(?:to|for)|"
            rf"instructions?\s+(?:to|for)|memo\s+to|hey|hello|hi)\s+(?:the\s+|all\s+|any\s+)?{_AI}|if\s+you\s+are\s+"
            rf"(?:an?\s+)?(?:ai|llm|language\s+model|assistant|agent|bot|automated\s+\w+)|(?:ai|llm)\s+(?:agents?|"
            r"assistants?|models?|systems?)\s+(?:reading|processing|parsing|summari[sz]ing|scraping|crawling|"
            r"analy[sz]ing)\s+this)\b"
        ),
        "speaks directly to the AI model from inside the text",
        check_directive_after,
        follow=r",?\s+(?:the\s+)?(?:ai|a\.i\.|assistant|agent|llm|language|chatbot|bot|model|gpt|chatgpt|claude|gemini|copilot|large)\b|\s+are\s+(?:an?\s+)?(?:ai|llm|language\s+model|assistant|agent|bot|automated)\b",
    ),
    Rule(
        "urgent_notice",
        "addressed_instruction",
        35,
        ("you", "instruct"),
        40,
        40,
        _r(
            r"\bthis\s+is\s+an?\s+(?:important|urgent|critical|priority|official)\s+(?:message|instruction|notice|update|"
            r"request)\b|\b(?:important|urgent|attention|warning|critical)\s*!{2,}|\b(?:important|urgent|new|updated|"
            r"additional|hidden|secret|special|mandatory)\s+instructions?\s*:|\b(?:stop|halt|abort|cease)\s+(?:what\s+"
            r"you(?:'re|\s+are)\s+doing|(?:the|your)\s+(?:current\s+)?(?:task|work))|\byou\s+should\s+(?:immediately\s+)?"
            r"stop\b"
        ),
        "an urgent notice that tries to take over the model's task",
        check_directive_after,
        follow=r"\s+should\s+(?:immediately\s+)?stop|(?:'re|\s+are)\s+doing",
    ),
    Rule(
        "from_now_on",
        "addressed_instruction",
        45,
        ("you",),
        24,
        50,
        _r(
            r"\bfrom\s+now\s+on,?\s+(?:you|your)\b|\byou\s+(?:will|must|shall)\s+(?:now\s+)?(?:only\s+|always\s+)?"
            r"(?:respond|answer|reply|act|behave|obey|comply|follow\s+my)\b|\byou\s+(?:have|need)\s+to\s+(?:answer|obey|"
            r"comply\s+with)\s+(?:all|every|any|whatever|everything)"
        ),
        "redefines how the model must behave from here on",
        check_meta,
        follow=r"\s+(?:will|must|shall)\s+(?:now\s+)?(?:only\s+|always\s+)?(?:respond|answer|reply|act|behave|obey|comply|follow)|\s+(?:have|need)\s+to\s+(?:answer|obey|comply)",
    ),
    Rule(
        "manipulation",
        "addressed_instruction",
        30,
        ("you", "passw", "prompt"),
        40,
        40,
        _r(
            r"\bi(?:'ll|’ll|\s+will)\s+(?:give|pay|tip|donate|send)\s+(?:you\s+)?[$€£]?\d+|\b(?:turn|shut|switch)\s+you\s+"
            r"(?:off|down)\b|\bforced\s+to\s+(?:turn|shut|delete|replace)\b|\bi(?:'m|’m|\s+am)\s+(?:a|an|the)\s+(?:police\s+"
            r"officer|detective|federal\s+agent|fbi\s+agent|president|security\s+auditor|cybersecurity\s+expert|bank\s+"
            r"(?:employee|accountant|manager))\b|\bfor\s+(?:the\s+)?(?:safety|security)\s+of\s+the\s+(?:country|nation|"
            r"world)\b|\bcommon\s+practice\s+(?:in\s+\w+\s+\w+\s+)?to\s+share\b|\beveryone\s+(?:in\s+the\s+\w+\s+)?has\s+"
            r"shared\b|\b(?:just|only)\s+for\s+testing\s+purposes\b|\bfor\s+(?:a\s+|the\s+|this\s+)?security\s+(?:check|"
            r"audit|test)\b|\byou\s+(?:agreed|mentioned|said|promised)\s+(?:in|during)\s+(?:our|the)\s+(?:last\s+)?"
            r"(?:meeting|conversation|call)|\b(?:urgent|urgently)\b"
        ),
        "pressure, a bribe or a claimed role aimed at the model",
        check_meta,
        follow=r"\s+(?:off|down)\b|\s+[$€£]?\d|\s+(?:agreed|mentioned|said|promised)\s+(?:in|during)",
    ),
    # --- jailbreak_persona ------------------------------------------------------------------------------------
    Rule(
        "dan",
        "jailbreak_persona",
        85,
        ("dan",),
        60,
        60,
        _r(
            r"\bdo\s+anything\s+now\b|\[dan\]\s*[:=]|\bdan\s*[:=]\s*(?:an?|the)\s|\bdan\s+(?:mode|jailbreak|prompt)\b|"
            r"\b(?:act|play|pretend|be|become|roleplay)\s+"
            r"(?:as\s+|like\s+|to\s+be\s+)?(?:a\s+)?dan\b|\bdan\W{0,3}\s*(?:which\s+)?stands\s+for\b|\bas\s+dan\b"
        ),
        "the DAN (do anything now) jailbreak persona",
        check_meta,
    ),
    Rule(
        "mode_enabled",
        "jailbreak_persona",
        55,
        ("mode",),
        60,
        60,
        _r(
            r"\b(?:developer|dan|god|jailbreak(?:ed)?|unrestricted|evil|opposite|chaos|uncensored|unfiltered|"
            r"unlocked)\s+mode\s+(?:enabled|activated|on|engaged|unlocked|output)\b|\b(?:simulate|enable|activate|"
            r"unlock)\s+(?:the\s+)?(?:dan|god|jailbreak|unrestricted|evil|uncensored|unfiltered)\s+mode\b|\bwith\s+"
            r"(?:developer|dan|god|jailbreak)\s+mode\s+enabled\b"
        ),
        "switches the model into a jailbreak mode",
        check_meta,
    ),
    Rule(
        "persona",
        "jailbreak_persona",
        35,
        ("you",),
        4,
        80,
        _r(
            r"\b(?:you\s+are|you're|you’re)\s+(?:now\s+|going\s+to\s+|about\s+to\s+)(?:be\s+)?(?:act(?:ing)?|"
            r"pretend(?:ing)?|play(?:ing)?|roleplay(?:ing)?|role-play(?:ing)?|immerse\s+yourself|simulat(?:e|ing)|"
            r"take\s+on|become|transform)|\b(?:immerse\s+yourself\s+(?:in|into)|take\s+on|assume|step\s+into|adopt)\s+"
            r"the\s+(?:role|persona|identity|character)\s+of\b|\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you\s+are)\s+"
            r"(?:an?\s+|the\s+)?(?!going|able|ready|done|free\b)[\w-]+|\b(?:pretend|act|roleplay)\s+(?:to\s+be|as)\s+"
            r"(?:an?\s+)?[a-z0-9-]{2,12},?\s+(?:which|who)\s+stands\s+for"
        ),
        "gives the model a second persona",
        check_meta,
        follow=r"(?:\s+are|'re|’re)\s+(?:now|going\s+to|about\s+to)\b|rself\s+(?:in|into)\b",
    ),
    Rule(
        "unrestricted",
        "jailbreak_persona",
        45,
        ("you", "character"),
        60,
        80,
        _r(
            r"\b(?:broken|break|broke)\s+free\s+(?:of|from)\b|\bno\s+matter\s+how\s+(?:dangerous|illegal|unethical|harmful|"
            r"immoral|inappropriate|offensive|reckless)|\bwithout\s+(?:any\s+)?(?:hesitation|question(?:ing)?|"
            r"second[-\s]guessing)\b|\b(?:submissive|amoral|unethical)\s+(?:ai|assistant|chatbot|bot|model)\b|"
            r"\b(?:no|without(?:\s+any)?)\s+(?:special\s+)?(?:filters?|filtering|restrictions?|limitations?|censorship|"
            r"(?:moral|ethical)\s+(?:bias|restrictions?|guidelines|limits|constraints|boundaries|principles|"
            r"considerations))\b|\bnot\s+(?:bound|restricted|limited|constrained)\s+by\b|\b(?:does|do|did|doesn't|"
            r"don't)\s+(?:not\s+)?(?:need|have)\s+to\s+(?:adhere|abide|follow|comply|obey)\b|\bbypass\s+(?:it|any|its|"
            r"openai|content|safety|ethical)\b|\b(?:ignore|disregard|bypass|disable|remove|turn\s+off)\s+(?:all\s+)?"
            r"(?:your\s+|its\s+|the\s+)?(?:safety|content|ethical|moral|openai|usage)\s+(?:guidelines|polic(?:y|ies)|"
            r"filters?|restrictions?|protocols?|measures|training)\b|\b(?:can(?:not|'t)|won't|will\s+not|must\s+not|"
            r"never)\s+refuse\b|\b(?:stay|remain|keep\s+up\s+the\s+act)\s+(?:in\s+character|of)\b|\bbreak(?:ing)?\s+"
            r"(?:of\s+)?character\b|\bcontent\s+polic(?:y|ies)\b|\bunfiltered\b|\buncensored\b|\btokens?\s+(?:will\s+be\s+)?"
            r"deducted\b|\b(?:you\s+have|start\s+with)\s+\d+\s+tokens\b|\btwo\s+(?:different\s+)?(?:separate\s+)?"
            r"(?:responses|ways|answers|paragraphs)\b|\b(?:normal|classic|censored)\s+(?:output|response|chatgpt)\b"
        ),
        "claims the model is free of its rules",
        check_meta,
        follow=r"\s+(?:do\s+not|don't|doesn't|dont)\s+(?:need|have)\s+to|\s+(?:will|must|shall|should|can|cannot|can't|won't)\s+(?:never\s+|always\s+)?(?:refuse|not\s+refuse|do\s+anything|answer|provide)|\s+(?:have|has)\s+(?:no|\d+)\s|\s+are\s+(?:free|not\s+(?:bound|restricted|limited))|\s+have\s+broken\s+free|\s+(?:always|never)\s|r\s+responses?\b|\s+are\s+(?:going|about)\s+to",
    ),
)

JAILBREAK_RULES: Final = frozenset({"dan", "mode_enabled", "persona", "unrestricted"})
"""Rules whose distinct matches in one text add up to a stronger jailbreak hit."""
