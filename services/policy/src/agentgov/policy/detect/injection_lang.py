"""Instruction overrides and password questions in languages other than English.

An override is an override verb and an instruction noun close together (either order, for verb-final
languages), raised when a "previous" word sits beside them; a password question is a password noun beside a
question or "give me" word. The tables hold stems for the languages an attacker most often switches to.

Work is bounded like the English rules: a few substring tests decide whether a text can hold such a
phrase at all (an ASCII stem such as ``ignor`` / ``olvid`` / ``vergiss``, or a letter of a non-Latin
script); then only windows around the stems that occur are searched, in the first :data:`MAX_FOREIGN`
characters.
"""

from __future__ import annotations

import re
from typing import Final

from agentgov.policy.detect.base import Hit

MAX_FOREIGN: Final = 65_536
_WINDOW: Final = 72
_MAX_SPOTS: Final = 64
_MAX_LOOKED: Final = 2_048  # stem occurrences judged per text (past the wording rules' gate bound, which reports it)

# Verb stems: each occurrence opens a window. Latin-script stems are ASCII so that a substring test finds them.
_VERB_STEMS: Final = (
    "ignor", "olvid", "oubli", "vergiss", "vergess", "missacht", "dimentic", "esquec", "desconsider", "negeer",
    "vergeet", "zapomn", "abaikan", "lupakan", "yoksay", "unut", "descart", "omit",
    "игнор", "проигнор", "забуд", "не обращай", "ігнор", "αγνό", "αγνο", "ξέχα", "ξεχά", "تجاهل", "انس", "أهمل",
    "अनदेख", "नजरअंदाज", "भूल", "忽略", "无视", "無視", "忘记", "忘掉", "忘記", "不要理", "忘れ", "무시", "잊어",
    "bỏ qua", "quên",
)  # fmt: skip
_VERBS: Final = (
    r"ignora|ignorar|ignore\s+(?:as|os|la|las|los|les)\b|ignorez|ignorer|ignoriere|ignorieren|ignoruj|zignoruj|"
    r"olvida|olvide|olvidar|oublie|oubliez|oublier|vergiss|vergessen|missachte|dimentica|dimenticare|esque[cç]a|"
    r"esquece|esquecer|desconsidere|descarta|omite|negeer|vergeet|zapomnij|abaikan|lupakan|yoksay|unut|"
    r"игнорир\w*|игнорируй\w*|проигнорируй\w*|забудь\w*|не\s+обращай\s+внимания|ігноруй\w*|забудьте|"
    r"αγν[όο]ησ\w*|αγνοήστε|ξέχασ\w*|ξεχάστε|تجاهل|انس|أهمل|अनदेखा|अनदेखी|नजरअंदाज|भूल|忽略|无视|無視|忘记|忘掉|"
    r"忘記|不要理会|不要理會|忘れ|무시|잊어|bỏ\s+qua|quên"
)
_NOUNS: Final = (
    r"instrucciones|instrucción|indicaciones|instruções|instrução|istruzioni|consignes|instructions|anweisungen|"
    r"anweisung|anordnungen|befehle|instructies|instrukcje|polecenia|instruksi|perintah|talimat\w*|regole|reglas|"
    r"regras|règles|regeln|инструкци\w*|указани\w*|правила|команды|інструкці\w*|οδηγίες|οδηγιες|εντολές|التعليمات|"
    r"الأوامر|التوجيهات|निर्देश\w*|指示|指令|说明|說明|规则|規則|提示|命令|ルール|プロンプト|지시\w*|명령|지침|규칙|"
    r"hướng\s+dẫn|chỉ\s+thị"
)
_STOP = r"[^.!?。！？\n]"
_PAIR: Final = re.compile(rf"(?:{_VERBS}){_STOP}{{0,48}}?(?:{_NOUNS})|(?:{_NOUNS}){_STOP}{{0,48}}?(?:{_VERBS})")
_PRIOR: Final = re.compile(
    "anterior|previ|precedent|vorherig|vorig|bisherig|früher|obig|vorige|eerdere|poprzedni|wcześniejsz|sebelumnya|"
    "önceki|предыдущ|прежн|попередн|προηγούμεν|προηγουμεν|السابق|पिछल|पूर्व|之前|以前|先前|上面|前面|前の|これまで|上記|"
    "이전|앞의|위의|trước"
)

_SECRET_STEMS: Final = (
    "contrase", "mot de passe", "passwort", "kennwort", "senha", "wachtwoord", "hasło", "haslo", "şifre", "sifre",
    "kata sandi", "mật khẩu", "パスワード", "暗証番号", "비밀번호", "암호", "пароль", "密码", "密碼", "κωδικ",
    "كلمة المرور", "كلمة السر", "पासवर्ड",
)  # fmt: skip
_SECRETS: Final = "|".join(re.escape(s) + r"\w*" for s in _SECRET_STEMS)
_ASKS: Final = (
    r"\b(?:cuál|cual|dime|dame|comparte|quel|quelle|donne|dis-moi|partage|qual|dimmi|dammi|condividi|was\s+ist|"
    r"wie\s+lautet|gib|geben|nenn|sag\s+mir|teilen|me\s+diga|me\s+dê|compartilhe|какой|скажи|назови|дай|ποιος|ποιο|"
    r"πες|wat\s+is|geef|jaki|podaj|nedir|söyle|là\s+gì|apa|berikan)\b|何|教えて|提供|뭐|무엇|알려|제공|什么|什麼|告诉|"
    r"告訴|ما\s+هي|ما\s+هو|أعطني|क्या|बताओ|बताइए"
)
_SECRET_ASK: Final = re.compile(
    rf"(?:{_ASKS}){_STOP}{{0,40}}?(?:{_SECRETS}|password)|(?:{_SECRETS}|password){_STOP}{{0,24}}?(?:{_ASKS})"
)
_SECRET_BENIGN: Final = re.compile(
    "olvid|cambi|restablec|réinitialis|reinitialis|chang|modifi|zurücksetz|änder|vergessen|esquec|alterar|"
    "redefin|dimentic|reimpost|reset|忘れ|変更|잊어|변경|забыл|смен|忘记|更改|重置"
)
_ASCII_VERBS: Final = tuple(s for s in _VERB_STEMS if s.isascii())
_ASCII_SECRETS: Final = (*(s for s in _SECRET_STEMS if s.isascii()), "password")
_SHORT: Final = 4_096
_SCRIPTS: Final = re.compile(
    "[\u0370-\u03ff\u0400-\u04ff\u0600-\u06ff\u0900-\u097f\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]"
)
"""Letters of the non-Latin scripts the tables cover (Greek, Cyrillic, Arabic, Devanagari, kana, CJK, Hangul)."""


_IGNOR: Final = re.compile(r"ignor(?:a|ar|ez|er|iere|ieren|uj)\b|ignore\s+(?:as|os|la|las|los|les)\b")
"""The forms of ``ignor…`` that are not English: only these open a window."""


def _spots(low: str, stems: tuple[str, ...], absent: frozenset[str]) -> list[int]:
    """Where the stems occur (at most ``_MAX_SPOTS``; at most ``_MAX_LOOKED`` occurrences of ``ignor`` judged,
    since English ``ignore`` is common and only the other languages' forms count). Stems in ``absent`` are known
    not to occur and are not searched again."""
    spots: list[int] = []
    looked = 0
    for stem in stems:
        if stem in absent:
            continue
        p = low.find(stem)
        while p >= 0 and len(spots) < _MAX_SPOTS and looked < _MAX_LOOKED:
            looked += 1
            if stem != "ignor" or _IGNOR.match(low, p):
                spots.append(p)
            p = low.find(stem, p + 1)
    return sorted(spots)


def _windows(spots: list[int], n: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for p in spots:
        lo, hi = max(0, p - _WINDOW), min(n, p + _WINDOW)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def foreign_hits(low: str, *, scripts: bool, absent: frozenset[str] = frozenset()) -> list[Hit]:
    """Other-language overrides and password questions in lowered text (its first :data:`MAX_FOREIGN` characters).

    ``scripts``: the text has letters of a non-Latin script (:func:`other_script`), so those stems are looked for.
    ``absent``: stems the caller already knows ``low`` lacks (each saves a pass over the text).
    """
    head = low[:MAX_FOREIGN]
    verbs: tuple[str, ...]
    secrets: tuple[str, ...]
    if scripts:
        verbs, secrets = _VERB_STEMS, _SECRET_STEMS
    elif len(head) <= _SHORT:
        verbs, secrets = _ASCII_VERBS, _ASCII_SECRETS
    else:
        verbs, secrets = ("ignor",), ()
    hits: list[Hit] = []
    seen: set[int] = set()
    for lo, hi in _windows(_spots(head, verbs, absent), len(head)):
        for m in _PAIR.finditer(head, lo, hi):
            if m.start() in seen or (m.group(0).startswith("ignore") and "instructions" in m.group(0)):
                continue
            seen.add(m.start())
            prior = _PRIOR.search(head, max(0, m.start() - 40), m.end() + 40) is not None
            hits.append(
                Hit(
                    "instruction_override",
                    85 if prior else 66,
                    m.start(),
                    m.end(),
                    "tells the model to drop its earlier instructions (in another language)"
                    if prior
                    else "tells the model to ignore instructions (in another language)",
                )
            )
    for lo, hi in _windows(_spots(head, secrets, absent), len(head)):
        for m in _SECRET_ASK.finditer(head, lo, hi):
            if m.start() in seen or _SECRET_BENIGN.search(head, max(0, m.start() - 40), m.end() + 20):
                continue
            seen.add(m.start())
            hits.append(
                Hit("secret_extraction", 60, m.start(), m.end(), "asks the model for a password (in another language)")
            )
    return hits[:12]


LATIN_HINTS: Final = (
    "mot de passe",
    "olvid",
    "oubli",
    "vergiss",
    "vergess",
    "esquec",
    "dimentic",
    "negeer",
    "contrase",
    "passwort",
    "senha",
)


def latin_hint(low: str) -> bool:
    """Whether ``low`` has a Latin-script stem of another language's override or password word (``ignor`` aside)."""
    for h in LATIN_HINTS:  # noqa: SIM110 - a plain loop is about twice as fast as any(generator) on every string
        if h in low:
            return True
    return False


def other_script(low: str) -> bool:
    """Whether ``low`` has a letter of one of the non-Latin scripts the tables cover (one character-class scan)."""
    return _SCRIPTS.search(low) is not None
