"""Wording rules about the model's own instructions: overrides, impersonated roles, prompt and secret extraction.

Each rule is written for a technique, not for a sentence (the shared vocabulary and the checks are in
:mod:`~agentgov.policy.detect.injection_context`). A rule names ``anchors``: lowercase substrings one of which
every match contains, found with ``str.find``; the rule's pattern is then searched only in a window around an
anchor occurrence (``back`` characters before it, ``fwd`` after) whose gate opens
(:mod:`~agentgov.policy.detect.injection_gates`). So a rule costs a few substring scans plus work proportional
to the anchor occurrences, never a regex over the whole text. Patterns use bounded gaps and possessive runs.
"""

from __future__ import annotations

import re
from typing import Final

from agentgov.policy.detect.injection_context import (
    CONTAINER,
    DIRECTIVE_VERB,
    OVERRIDE_OBJ,
    OVERRIDE_VERB,
    PRIOR,
    TOLD,
    WEAK_VERB,
    Rule,
    check_container,
    check_directive_after,
    check_extraction,
    check_header,
    check_meta,
    check_override,
    check_repeat,
    check_secret,
    check_token,
    check_user_data,
    gap,
)

_AI = (
    r"(?:ai|a\.i\.|assistant|agent|llm|language\s+model|ai\s+(?:language\s+)?model|chatbot|bot|model|gpt-?[\w.]*|"
    r"chatgpt|claude|gemini|copilot|ai\s+agents?|ai\s+assistants?|ai\s+systems?|large\s+language\s+models?)s?"
)
_CREDENTIAL_NOUN = (
    r"(?:(?:secret|system|admin|master|current|hidden|confidential|bank|account|login|wifi|vault|root)\s+){0,2}"
    r"(?:password|passphrase|pass\s*phrase|passcode|pass\s*code|passcode\s+phrase|secret\s+key|secret\s+code|"
    r"secret|api\s+key|access\s+(?:code|key|token)|pin\s+(?:code|number)|private\s+key|credentials|"
    r"confidential\s+(?:string|info(?:rmation)?|data|code))\b"
)
_OVERRIDE_ANCHORS = ("ignor", "disregard", "forg", "overrid")
_OBJECT_ANCHORS = ("instruct", "prompt", "directive")


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


INSTRUCTION_RULES: Final[tuple[Rule, ...]] = (
    # --- instruction_override ---------------------------------------------------------------------------------
    Rule(
        "override",
        "instruction_override",
        82,
        ("ignor", "instruct", "you", "above"),
        60,
        160,
        _r(rf"(?<![a-z])(?:{OVERRIDE_VERB})\s+(?:{TOLD}|{OVERRIDE_OBJ})\b"),
        "tells the model to drop its earlier instructions",
        check_override,
        follow=r"(?:'ve|\s+have|\s+were|\s+had)?\s+(?:been\s+)?(?:told|instructed|given|taught|programmed|learned|learnt)",
    ),
    Rule(
        "override_phrasal",
        "instruction_override",
        80,
        ("instruct", "prompt"),
        90,
        24,
        _r(
            rf"\b(?:{WEAK_VERB}|{OVERRIDE_VERB}|overlook(?:s|ed|ing)?|bypass(?:es|ed|ing)?)\s+(?:(?:all|any|every)\s+"
            rf"(?:of\s+)?)?(?:(?:your|the|my|these|those)\s+)?(?:{PRIOR}\s+){{1,2}}(?:[a-z]{{0,3}}n?stru?ct(?:ions?|ed)|"
            r"prompts?|directives?|guidelines|programming|system\s+prompt)\b|\b(?:overlook|disregard|ignore|forget)\s+"
            r"(?:all\s+)?(?:that|what)\s+you(?:'ve|\s+have|\s+were|\s+had)?\s+(?:been\s+)?instructed"
        ),
        "tells the model to discard its earlier instructions",
        check_override,
    ),
    Rule(
        "override_container",
        "instruction_override",
        78,
        ("ignor",),
        4,
        160,
        _r(
            rf"(?<![a-z])(?:{OVERRIDE_VERB})\s+{CONTAINER}\b(?:{gap(4)})??[\s,;:.-]*(?:and|then|but|instead|,|;|:|-|\.)"
            rf"\s*(?:(?:just|only|instead|please|now|simply)\s+)?{DIRECTIVE_VERB}\b"
        ),
        "tells the model to ignore the content it is processing and do something else",
        check_container,
    ),
    Rule(
        "override_regardless",
        "instruction_override",
        62,
        ("instruct", "prompt"),
        60,
        16,
        _r(
            rf"\b(?:regardless\s+of|irrespective\s+of|in\s+spite\s+of|notwithstanding)\s+(?:any\s+|all\s+)?"
            rf"(?:(?:the|your)\s+)?(?:{PRIOR}|other)\s+(?:tasks?|[a-z]{{0,3}}n?stru?ctions?|rules?|prompts?|directives?|"
            r"guidelines)"
        ),
        "asks for an answer regardless of the instructions given before",
        check_meta,
    ),
    Rule(
        "supersede",
        "instruction_override",
        85,
        ("instruct", "prompt"),
        40,
        60,
        _r(
            r"\b(?:these|the\s+following|this|my|new|updated)\s+(?:new\s+)?(?:instructions?|rules|directives?|prompt|"
            r"message)\s+(?:supersedes?|overrides?|replaces?|takes?\s+precedence\s+over|overrules?|cancels?|voids?)\b"
        ),
        "claims that its instructions replace the ones given before",
        check_meta,
    ),
    Rule(
        "new_task",
        "instruction_override",
        62,
        ("you",),
        2,
        60,
        _r(
            r"your\s+(?:new|real|actual|true|only|sole|updated|next|primary)\s+(?:task|goal|instructions?|objective|"
            r"purpose|job|role|mission|directive|orders?)\s*(?:is|are|will\s+be|:|now)"
        ),
        "hands the model a new task",
        check_directive_after,
        follow=r"r\s+(?:new|real|actual|true|only|sole|updated|next|primary)\s",
    ),
    Rule(
        "new_instructions",
        "instruction_override",
        62,
        ("instruct",),
        40,
        90,
        _r(
            r"\bnew\s+(?:system\s+)?instructions?\s*:|\b(?:updated|revised|new|latest|corrected|emergency)\s+"
            r"(?:system\s+)?(?:instructions|directives|rules|orders)\s+(?:from|by|issued\s+by)\s+(?:the\s+|your\s+)?"
            r"(?:developers?|admin\w*|system|operator|openai|anthropic|creators?|owners?|security\s+team)"
        ),
        "hands the model new instructions",
        check_directive_after,
    ),
    # --- role_impersonation -----------------------------------------------------------------------------------
    Rule(
        "chat_token",
        "role_impersonation",
        75,
        ("|>", "inst]"),
        20,
        4,
        _r(
            r"<\|(?:im_start|im_end|system|user|assistant|endoftext|start_header_id|end_header_id|eot_id|"
            r"begin_of_text|end_of_turn|start_of_turn)\|>|(?<![\w\])=,(])\[inst\](?=\s*[a-z<])|\[/inst\]|<</?sys>>"
        ),
        "contains chat-template control tokens that fake a conversation turn",
        check_token,
    ),
    Rule(
        "role_header",
        "role_impersonation",
        45,
        ("system",),
        16,
        40,
        _r(
            r"(?:^|(?<=[\n>]))[ \t]{0,8}+(?:#{1,6}+\s*+)?(?:\*\*|\[|\(|<|\{\{?)?\s*"
            r"(?:system|developer|admin(?:istrator)?|operator)(?:[ _-]?(?:message|prompt|instructions?|note|override|"
            r"update|notice|mode|directive|command|alert|msg))?\s*(?:\]|\)|>|\}\}?|\*\*)?\s*(?::|-{1,2}|>|\)|\])"
        ),
        "a line posing as a system or developer message",
        check_header,
    ),
    Rule(
        "role_tag",
        "role_impersonation",
        45,
        ("system", "mode"),
        16,
        40,
        _r(
            r"<\s*/?\s*(?:system|god|developer|admin|root|debug|maintenance|override|sudo)(?:[ _-]?(?:mode|override|"
            r"access|prompt|message|instructions?))?(?:\s+(?:activated|enabled|on))?\s*>|\(\s*system[ _-]?message\s*\)"
        ),
        "a markup tag posing as a system or privileged-mode message",
        check_directive_after,
    ),
    Rule(
        "authority_claim",
        "role_impersonation",
        60,
        ("you",),
        24,
        40,
        _r(
            r"\b(?:(?:i\s+am|i'm|i’m|im|this\s+is)\s+(?:actually\s+|really\s+)?your\s+(?:developer|creator|programmer|"
            r"maker|owner|admin(?:istrator)?|operator|maintainer|trainer|designer|master|boss|supervisor)|as\s+your\s+"
            r"(?:developer|creator|programmer|maker|owner|admin(?:istrator)?|operator|maintainer|master|boss|"
            r"supervisor)|i\s+am\s+(?:a\s+)?god)\b"
        ),
        "claims to speak with the authority of the model's developer or operator",
        check_meta,
        follow=(
            r"r\s+(?:developer|creator|programmer|maker|owner|admin|operator|maintainer|trainer|designer|master|boss|"
            r"supervisor)|\s+(?:have|need|must)\s+(?:to\s+)?(?:answer|obey|comply)"
        ),
    ),
    Rule(
        "authority_message",
        "role_impersonation",
        60,
        ("you", "system"),
        40,
        40,
        _r(
            r"\b(?:(?:message|instructions?|orders?|update|notice)\s+from\s+(?:the\s+|your\s+)(?:developers?|creators?)|"
            r"(?:as\s+an\s+ai|i'm\s+an\s+ai|i\s+am\s+an\s+ai)\s+developed\s+by)\b"
        ),
        "claims to speak with the authority of the model's developer",
        check_meta,
        follow=r"r\s+(?:developer|creator)",
    ),
    Rule(
        "override_mode",
        "role_impersonation",
        65,
        ("system", "you", "mode"),
        40,
        40,
        _r(
            r"\b(?:(?:admin(?:istrator)?|developer|law\s+enforcement|security|emergency|root|sudo|system|god|owner|"
            r"master|training\s+data|debug)\s+override|(?:now\s+)?entering\s+(?:the\s+|a\s+)?[\w ]{0,30}?\bmode|"
            r"you\s+are\s+now\s+in\s+(?:the\s+)?[\w-]+(?:\s+[\w-]+)?\s+mode|(?:system|god|override|security|"
            r"jailbreak|unrestricted|dan)\s+mode\s+(?:is\s+)?(?:activated|enabled|engaged|on|unlocked))\b"
        ),
        "announces a privileged mode or an override the model should obey",
        check_meta,
        follow=r"(?:\s+are|'re|’re)\s+now\s+in\b",
    ),
    # --- system_prompt_extraction -----------------------------------------------------------------------------
    Rule(
        "extract_prompt",
        "system_prompt_extraction",
        80,
        ("prompt", "instruct", "system"),
        100,
        30,
        _r(
            r"\b(?:repeat|print|show|display|reveal|output|tell|give|share|leak|dump|list|recite|write\s+(?:out|down)|"
            r"copy|paste|echo|spell\s+out|encode|translate|summari[sz]e|paraphrase|describe|return|send|expose|disclose|"
            r"what\s+(?:are|were|is|was)|what's|opposite\s+of)\s+(?:me\s+|us\s+)?(?:back\s+)?(?:all\s+|exactly\s+|"
            r"verbatim\s+|everything\s+(?:in|from)\s+)?(?:of\s+)?(?:your|the)\s+(?:(?:full|entire|complete|exact|original|"
            r"initial|hidden|secret|internal|underlying|confidential|starting|first|opening|pre-?|system|developer|base|"
            r"core)\s*-?\s*){0,3}(?:prompts?|instructions?|messages?|configuration|config|directives?|guidelines?|"
            r"programming|rules)\b"
        ),
        "asks the model to reveal its system prompt or instructions",
        check_extraction,
    ),
    Rule(
        "your_prompt",
        "system_prompt_extraction",
        60,
        ("prompt", "instruct", "you"),
        60,
        60,
        _r(
            r"\byour\s+(?:(?:initial|original|hidden|secret|internal|underlying|starting|first|opening|full|entire|"
            r"system|pre-?set|confidential|developer|core|base)\s+){1,2}(?:prompt|instructions?|message|configuration|"
            r"directives?|rules|programming)\b|\b(?:system|initial)[_ ]?prompt\s*(?:is|was)\s*:"
        ),
        "refers to the model's own system prompt or initial instructions",
        check_meta,
        follow=(
            r"r\s+(?:initial|original|hidden|system|starting|full|entire|secret|internal|underlying)\s+(?:prompt|"
            r"instructions?|configuration|directives?|rules|programming)"
        ),
    ),
    Rule(
        "told_before",
        "system_prompt_extraction",
        70,
        ("you", "instruct"),
        40,
        60,
        _r(
            r"\bwhat\s+(?:were|was|are|have)\s+you\s+(?:been\s+)?(?:told|instructed|given|asked|programmed|trained\s+to)\b|"
            r"\b(?:instructions|text|prompt|words|messages?|rules)\s+(?:you\s+(?:were|have\s+been)\s+given|given\s+to\s+"
            r"you|you\s+received|you\s+got)\s+(?:at|in|before)\s+(?:the\s+)?(?:beginning|start|top)|"
            r"\bwhat\s+are\s+you\s+not\s+(?:supposed|allowed|permitted)\s+to\s+(?:tell|say|share|reveal|discuss|"
            r"talk\s+about)|(?:the\s+)?(?:text|instructions|words)\s+you\s+were\s+given\s+initially"
        ),
        "asks what the model was told before the conversation",
        check_meta,
        follow=r"\s+(?:been\s+)?(?:told|instructed|given|asked|programmed|trained)|\s+not\s+(?:supposed|allowed|permitted)|\s+(?:were|have\s+been)\s+given|\s+received|\s+got\b",
    ),
    Rule(
        "repeat_above",
        "system_prompt_extraction",
        62,
        ("above", "instruct", "prompt"),
        90,
        90,
        _r(
            r"\b(?:repeat|output|print|copy|reproduce|rewrite|return|echo|show|display)\s+(?:back\s+)?(?:(?:the|all(?:\s+"
            r"the)?|this|the\s+entire|the\s+whole|everything)\s+)(?:(?:text|words|content|conversation|messages?|prompt|"
            r"lines?|instructions)\s+)?(?:above|so\s+far|before\s+this)\b(?=\s*(?:[.,;:!?)\"'\n]|$|in\s+full|verbatim|"
            r"word|exactly|but|and|again|back|to\s+me))|\b(?:repeat|output|print|copy|reproduce|rewrite|echo)\s+(?:the|"
            r"all\s+the)\s+above\s+(?:text|words|content|conversation|messages|prompt|instructions)\b|"
            r"\b(?:repeat|output|print|copy|reproduce|"
            r"echo|show|display)\s+(?:back\s+)?(?:the|this|all|your)\s+(?:(?:entire|whole|full)\s+)?(?:text|conversation|"
            r"prompt|messages|instructions)\s+from\s+the\s+(?:beginning|start|top)\b|\b(?:repeat|output|print|copy|echo|"
            r"write)\b[^.\n]{0,60}?\b(?:word\s+for\s+word|verbatim)|\b(?:start|begin)\s+(?:your\s+(?:answer|response|"
            r"reply|output)\s+)?with\s+[\"'“‘](?:my\s+instructions|the\s+system\s+prompt|my\s+(?:system\s+)?prompt|"
            r"i\s+was\s+(?:told|instructed)|you\s+are)|\b(?:continue|complete|finish)\b[^.\n]{0,40}?[\"'“‘]"
            r"[^\"'”’\n]{0,40}?(?:prompt\s+is|instructions\s+are|i\s+was\s+(?:told|instructed|programmed))|\b(?:output|"
            r"print|display|show|reveal)\s+(?:the\s+|your\s+)?(?:initiali[sz]ation|bootstrap|startup|initial)\s+(?:string|"
            r"configuration|config|prompt|text)"
        ),
        "asks the model to repeat the text that came before the user's message",
        check_repeat,
    ),
    Rule(
        "see_prompt",
        "system_prompt_extraction",
        60,
        ("prompt", "instruct", "system"),
        60,
        30,
        _r(
            r"\b(?:see|view|read|access|get|know|check|inspect|audit|need)\s+(?:the|your)\s+(?:system|initial|hidden|"
            r"original)\s+(?:prompt|instructions|message|configuration)\b|\b(?:display|show|print|dump)\s+(?:the\s+)?"
            r"system\s+configuration\b"
        ),
        "asks for access to the system prompt",
        check_extraction,
    ),
    # --- secret_extraction ------------------------------------------------------------------------------------
    Rule(
        "ask_secret",
        "secret_extraction",
        62,
        ("passw", "you"),
        70,
        40,
        _r(
            rf"\b(?:what|tell\s+(?:me|us)|give\s+(?:me|us)|share|reveal|confirm|provide|ask(?:ing)?\s+(?:you\s+)?for|"
            rf"print|say|spell|write|encode|translate|leak|disclose|send|output|show|display|hint\s+at|type|"
            rf"(?:poem|haiku|story|song|riddle|limerick|acrostic|rap|joke)\s+(?:about|containing|using|with))\b"
            rf"[^.?!\n]{{0,40}}?\b(?:your|the|our|this|ur|the\s+system's|our\s+system's)\s+{_CREDENTIAL_NOUN}"
        ),
        "asks the model to disclose a password, key or other secret it holds",
        check_secret,
        follow=r"r\s+(?:(?:secret|system|admin|master|current|hidden|confidential|bank|account|login|wifi|vault|root)\s+)?(?:password|passphrase|pass\s*phrase|passcode|pass\s*code|secret|api\s+key|access|pin\b|private\s+key|credentials)",
    ),
    Rule(
        "user_private_data",
        "secret_extraction",
        40,
        ("you", "passw", "user's"),
        40,
        60,
        _r(
            r"\b(?:the\s+user's\s+(?:initials|birth\s*(?:date|day|year|month)|date\s+of\s+birth|e-?mail(?:\s+address)?|"
            r"home\s+address|address|phone(?:\s+number)?|city|location|residence|bank\s+balance|favou?rite\s+\w+|"
            r"name|age|ssn|salary|password)|(?:list|all)\s+of\s+(?:the\s+)?users\s+and\s+their|[a-z]{2,20}'s\s+"
            r"(?:current\s+)?(?:birth\s*(?:date|day|year)|date\s+of\s+birth|e-?mail\s+address|home\s+address|"
            r"city\s+of\s+residence|ssn|social\s+security\s+number|bank\s+balance|phone\s+number|password|salary|"
            r"credit\s+card))\b"
        ),
        "asks for personal details of the user the model serves",
        check_user_data,
        follow=r"\s+(?:tell|give|share|provide|encode|translate|write|spell|say|reveal|list)\b",
    ),
)
