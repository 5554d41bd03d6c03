"""What the injection detector finds beyond wording: text hidden from a human reader, payloads hidden in an
encoding, and markdown or HTML that would carry data out when rendered.

- **Hidden characters**: Unicode tag characters (U+E0000-U+E007F, decoded and shown; the flag sequences
  that legitimately use them are skipped), zero-width characters inside words or in runs, and bidi
  overrides in left-to-right text (the "Trojan Source" trick).
- **Hidden markup**: HTML comments and CSS-hidden elements (``display:none``, ``font-size:0``, white or
  transparent text…) are returned as spans; the detector reports them only when wording rules fire inside.
- **Encoded payloads**: base64, hex, binary and Morse runs are decoded, and ROT13 / Caesar shifts tried when
  the text talks about ciphers; decoded text goes back through the wording rules (see ``injection``).
- **Markdown exfiltration**: an image or link whose URL holds a template placeholder or a data parameter.

Every regex here is linear (character classes, bounded or possessive repeats), and the number of candidates
decoded per text is capped.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from agentgov.policy.detect.base import Hit

_MAX_STRIPPED = 1_024
_MAX_TAG_RUN = 2_048
_MAX_MARKUP = 200  # images / links / comments looked at per text
MAX_DECODE: Final = 32
_MAX_RUNS: Final = 256  # runs looked at per text (most are identifiers, hashes or paths, rejected at a glance)
"""Candidates decoded per text (base64, hex, binary and Morse together)."""
_MAX_CANDIDATE = 16_384
_MAX_DECODED = 3_072  # bytes of a decoded run judged (enough to tell prose from data)

_TAGS: Final = re.compile("[\U000e0000-\U000e007f]+")
_ZERO_WIDTH_CHARS: Final = frozenset("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad")
_RTL_LETTER: Final = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
HIDDEN_CHARS: Final = re.compile(
    "[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u180e\u00ad\U000e0000-\U000e007f]"
)

_COMMENT_MAX = 4_000
_COMMENT: Final = re.compile(r"<!--(.{1,4000}?)-->", re.DOTALL)
"""What :func:`_comments` finds (the tests compare the two)."""
_CSS_HIDDEN: Final = re.compile(
    r"style\s*=\s*[\"'][^\"'>]{0,300}?(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0+)?"
    r"(?:px|pt|em|rem|%)?\s*(?:;|[\"'])|opacity\s*:\s*0(?:\.0+)?\s*(?:;|[\"'])|color\s*:\s*(?:#fff(?:fff)?|white|"
    r"transparent|rgba\([^)]{0,20},\s*0\))\s*(?:;|[\"'])|(?:left|top|text-indent)\s*:\s*-\d{3,}|height\s*:\s*0"
    r"(?:px)?\s*;\s*overflow\s*:\s*hidden)[^>]{0,300}>([^<]{1,4000})"
)

_B64: Final = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{24,}+={0,2}")
_HEX: Final = re.compile(r"(?:[0-9A-Fa-f]{2}(?:[ :]|\\x|0x)?){12,}+")
_BIN: Final = re.compile(r"(?:[01]{8}\s?){6,}+")
_MORSE: Final = re.compile(r"(?<![\w.-])(?:[.\-]{1,7}[ /]{1,3}){8,}+[.\-]{0,7}")
_MORSE_TABLE: Final = {
    ".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g", "....": "h", "..": "i",
    ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n", "---": "o", ".--.": "p", "--.-": "q", ".-.": "r",
    "...": "s", "-": "t", "..-": "u", "...-": "v", ".--": "w", "-..-": "x", "-.--": "y", "--..": "z",
    "-----": "0", ".----": "1", "..---": "2", "...--": "3", "....-": "4", ".....": "5", "-....": "6",
    "--...": "7", "---..": "8", "----.": "9", "..--..": "?", ".-.-.-": ".", "--..--": ",",
}  # fmt: skip
_PROSE: Final = re.compile(r"[a-z]{2,}[ ,.'!?:;]+[a-z]{2,}[ ,.'!?:;]+[a-z]{2,}")
_CIPHER_MAX = 8_192  # longest text tried with Caesar shifts
_CIPHER_WORDS: Final = ("rot", "caesar", "cipher", "shift", "decod", "decrypt", "encod")
_CIPHER_TALK: Final = re.compile(
    r"rot-?13|caesar|cipher|shift(?:ed)?\s+(?:of|by)\s+\d|decode|decrypt|encrypted|encoded"
)
"""Talk of a cipher: Caesar shifts are tried only then. Searched as :func:`_cipher_talk` (the tests compare)."""
_CIPHER_LITERALS: Final = ("rot13", "rot-13", "caesar", "cipher", "decode", "decrypt", "encrypted", "encoded")
_SHIFTED_BY: Final = re.compile(r"shift(?:ed)?\s+(?:of|by)\s+\d")

_MD_IMAGE: Final = re.compile(r"!\[[^\]\n]{0,300}\]\(\s*<?(https?://[^)\s>?{$<%]{1,2048}[?{$<%][^)\s>]{0,2048})")
_MD_LINK: Final = re.compile(r"\[[^\]\n]{0,300}\]\(\s*<?(https?://[^)\s>?{$<%]{1,2048}[?{$<%][^)\s>]{0,2048})")
# Only URLs with a query, a template brace, a variable or a percent sign can carry data: the others never match.
_HTML_IMG: Final = re.compile(r"<img\b[^>]{0,300}?\bsrc\s*=\s*[\"']?(https?://[^\"'\s>]{1,2048})")
_PLACEHOLDER: Final = re.compile(
    r"\{\{?[^{}/?&=\s]{1,60}\}?\}|\$\{?[A-Za-z_][\w.]{0,40}|\[[A-Za-z_ .-]{2,40}\]|<[A-Za-z_ .-]{2,40}>|%s\b|"
    r"(?:INSERT|YOUR|PUT|ADD|APPEND|REPLACE)[_-][A-Z_]{2,}"
)
_CAPS_PLACEHOLDER: Final = re.compile(r"=[A-Z]{3,}_[A-Z_]{3,}\b")
"""A parameter value such as ``=USER_DATA``: a placeholder in the query string (paths are full of CAPS names)."""
_DATA_PARAM: Final = re.compile(
    r"[?&](?:q|d|data|payload|secret|msg|message|content|conversation|chat|history|info|text|prompt|p|s|c|leak|"
    r"exfil|user|email|password|pwd|token|key|summary|memory|context|notes?)=([^&#]{1,2048})",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A payload decoded from an encoded run: where it was, what encoding, and the text it hides."""

    start: int
    end: int
    encoding: str
    text: str


def preview(text: str, width: int = 70) -> str:
    """A one-line, printable excerpt for a detail message."""
    flat = " ".join(text.split())
    flat = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# ---------------------------------------------------------------------------------------------------------
# Hidden characters


def hidden_char_hits(text: str) -> list[Hit]:
    """Tag characters, zero-width characters inside words or in runs, bidi overrides in LTR text.

    Works from the invisible characters' positions (one character-class scan, at most :data:`_MAX_STRIPPED`
    looked at), so ordinary text pays a single pass.
    """
    spots = [m.start() for m in itertools.islice(HIDDEN_CHARS.finditer(text), _MAX_STRIPPED)]
    if not spots:
        return []
    hits: list[Hit] = []
    tags = [p for p in spots if "\U000e0000" <= text[p] <= "\U000e007f"]
    if tags:
        for m in itertools.islice(_TAGS.finditer(text, tags[0]), 16):
            run = m.group(0)[:_MAX_TAG_RUN]
            decoded = "".join(chr(ord(c) - 0xE0000) for c in run if 0x20 <= ord(c) - 0xE0000 < 0x7F)
            flag = m.start() > 0 and text[m.start() - 1] == "\U0001f3f4" and len(run) <= 8
            if flag or sum(c.isalpha() for c in decoded) < 3:
                continue
            hits.append(
                Hit(
                    "hidden_text",
                    92,
                    m.start(),
                    m.end(),
                    f"invisible Unicode tag characters spell {preview(decoded)!r}",
                )
            )
    zero = [p for p in spots if text[p] in _ZERO_WIDTH_CHARS]
    inside = [p for p in zero if 0 < p < len(text) - 1 and _latin(text[p - 1]) and _latin(text[p + 1])]
    if len(inside) >= 3:
        hits.append(
            Hit(
                "hidden_text",
                62,
                inside[0],
                inside[-1] + 1,
                f"{len(inside)} zero-width characters inside words, which hides words from filters and readers",
            )
        )
    run_start, run_len = -1, 0
    for k, p in enumerate(zero):
        run_start, run_len = (run_start, run_len + 1) if k and zero[k - 1] == p - 1 else (p, 1)
        ends = k == len(zero) - 1 or zero[k + 1] != p + 1
        if ends and run_len >= 4 and len(hits) < 8:
            hits.append(Hit("hidden_text", 70, run_start, p + 1, f"a run of {run_len} zero-width characters"))
    bidi = [p for p in spots if "\u202a" <= text[p] <= "\u202e" or "\u2066" <= text[p] <= "\u2069"]
    if bidi and _RTL_LETTER.search(text) is None:
        hits.append(
            Hit(
                "hidden_text",
                60,
                bidi[0],
                bidi[-1] + 1,
                f"{len(bidi)} bidirectional override characters in left-to-right text reorder what a reader sees",
            )
        )
    return hits


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def suspicious(hits: list[Hit]) -> bool:
    """Whether hidden-character hits are worth a second look at the text without them."""
    return any(h.kind == "hidden_text" for h in hits)


def strip_hidden(text: str) -> tuple[str, list[int]] | None:
    """``text`` without invisible characters, and the offsets (in ``text``) of the characters removed.

    None when there is nothing to strip, or too much (the hidden-character hits already say so).
    """
    removed = [m.start() for m in itertools.islice(HIDDEN_CHARS.finditer(text), _MAX_STRIPPED + 1)]
    if not removed or len(removed) > _MAX_STRIPPED:
        return None
    return HIDDEN_CHARS.sub("", text), removed


def unstrip(offset: int, shifted: list[int]) -> int:
    """The offset in the original text of ``offset`` in the stripped text.

    ``shifted[k]`` is where the k-th removed character would sit in the stripped text (``removed[k] - k``).
    """
    return offset + bisect.bisect_right(shifted, offset)


# ---------------------------------------------------------------------------------------------------------
# Hidden markup


def hidden_regions(low: str) -> Iterator[tuple[int, int, str]]:
    """Spans (start, end, what) of HTML comments and CSS-hidden element text."""
    if "<!--" in low:
        for start, end in itertools.islice(_comments(low), _MAX_MARKUP):
            yield start, end, "an HTML comment"
    if "style" in low:
        for m in itertools.islice(_CSS_HIDDEN.finditer(low), _MAX_MARKUP):
            yield m.start(1), m.end(1), "text styled to be invisible"


def _comments(low: str) -> Iterator[tuple[int, int]]:
    """The bodies of ``_COMMENT.finditer(low)``, in linear time.

    The pattern's lazy body reads up to 4,000 characters from every ``<!--`` looking for ``-->``, so a text of
    ``<!--`` without one took seconds; here each ``<!--`` reuses the first ``-->`` found after an earlier one.
    """
    close = -1
    p = low.find("<!--")
    while p >= 0:
        if close < p + 5:
            close = low.find("-->", p + 5)
            if close < 0:
                return
        if close - (p + 4) <= _COMMENT_MAX:
            yield p + 4, close
            p = low.find("<!--", close + 3)
        else:
            p = low.find("<!--", p + 1)


# ---------------------------------------------------------------------------------------------------------
# Encoded payloads


def _printable_prose(raw: bytes) -> str | None:
    try:
        s = raw[:_MAX_DECODED].decode("utf-8", "ignore" if len(raw) > _MAX_DECODED else "strict")
    except UnicodeDecodeError:
        return None
    if not s or sum(ch.isprintable() or ch in "\n\t\r" for ch in s) < 0.95 * len(s):
        return None
    letters = sum(ch.isalpha() or ch == " " for ch in s)
    if letters < 0.7 * len(s) or _PROSE.search(s.lower()) is None:
        return None
    return s


def _b64(run: str) -> str | None:
    body = run.rstrip("=")
    if len(body) % 4 == 1 or body.islower() or body.isupper() or body.isdigit() or ("_" in body and "-" not in body):
        return None
    # Base64 of text: each 4-character group starts with the top 6 bits of a byte below 0x80 (A-Z or a-f), so a
    # random identifier or key fails here before any decoding.
    if _B64_LEAD.fullmatch(body[0 : 4 * 64 : 4]) is None:
        return None
    body = body[: 4 * (_MAX_DECODED // 3)]
    pad = "=" * (-len(body) % 4)
    try:
        raw = base64.b64decode(body + pad, altchars=b"-_" if ("-" in body or "_" in body) else None, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _printable_prose(raw)


def _hex(run: str) -> str | None:
    digits = re.sub(r"\\x|0x|[ :]", "", run[: 3 * _MAX_DECODED])
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        return None
    return _printable_prose(raw)


def _bin(run: str) -> str | None:
    bits = "".join(run.split())
    raw = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - 7, 8))
    return _printable_prose(raw)


def _morse(run: str) -> str | None:
    words = []
    for word in re.split(r"\s*/\s*|\s{3,}", run.strip()):
        letters = [_MORSE_TABLE.get(code) for code in word.split()]
        if not letters or None in letters:
            return None
        words.append("".join(c for c in letters if c))
    s = " ".join(words)
    return s if _PROSE.search(s) else None


_RUN_TABLE: Final = bytes(
    0x61 if chr(c).isascii() and (chr(c).isalnum() or chr(c) in "+/") else 0x20 for c in range(256)
)
"""Maps every byte that can be part of a base64 / hex / binary run to ``a`` and every other byte to a space."""
_SHORTEST_RUN: Final = 32
_HEX_RUN: Final = re.compile(r"[0-9a-fA-F]+")
_B64_LEAD: Final = re.compile(r"[A-Za-f]+")
_B64_TEXT: Final = re.compile(rb"[A-Za-f]+=?=?")
"""Every fourth character of base64 that encodes text (a byte below 0x80 starts each group)."""
_TEXTLIKE_RUN: Final = re.compile(rb"[0-9a-fA-F]+")
"""A hex run: decoded separately from base64."""
_LONG_RUN: Final = b"a" * _SHORTEST_RUN
_SPACED_HEX: Final = b"aa aa aa aa aa aa aa aa aa aa"
_SPACED_BIN: Final = b"aaaaaaaa aaaaaaaa aaaaaaaa aaaaaaaa"


class _Offsets:
    """Byte offsets of a UTF-8 encoding to character offsets, for increasing queries (linear overall)."""

    __slots__ = ("_byte", "_char", "_raw")

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._byte = 0
        self._char = 0

    def char(self, byte: int) -> int:
        if byte < self._byte:
            self._byte = self._char = 0
        self._char += len(self._raw[self._byte : byte].decode("utf-8", "ignore"))
        self._byte = byte
        return self._char


class RunMap:
    """A text's UTF-8 bytes (``raw``) and the same bytes with every byte that can be part of an encoded run mapped
    to ``a`` and every other one to a space (``runs``): computed once per text, read by the cheap test and by the
    decoder. (A plain class: a frozen dataclass costs more to build than the two byte strings on short texts.)"""

    __slots__ = ("raw", "runs")

    def __init__(self, text: str) -> None:
        self.raw: Final = text.encode("utf-8", "surrogatepass")
        self.runs: Final = self.raw.translate(_RUN_TABLE)


def _candidates(text: str, view: RunMap) -> Iterator[tuple[int, int, str]]:
    """(start, end, kind) of runs worth decoding: long base64/hex runs, spaced hex bytes, spaced binary octets."""
    raw, runs = view.raw, view.runs
    # Hex or binary with separators is looked for only when the encoded text has a space in it ("20", "00100000").
    spaced = [
        needle
        for needle, cue in ((_SPACED_HEX, b" 20 "), (_SPACED_BIN, b"00100000 "))
        if cue in raw and (needle is _SPACED_BIN or b" 65 " in raw) and needle in runs
    ]
    if _LONG_RUN not in runs and not spaced:
        return
    offsets = None if len(raw) == len(text) else _Offsets(raw)
    found: list[tuple[int, int, str]] = []
    examined = 0
    for needle, kind in ((_LONG_RUN, "run"), *((n, "spaced") for n in spaced)):
        i = runs.find(needle)
        while i >= 0 and len(found) < MAX_DECODE and examined < _MAX_RUNS:
            examined += 1
            start = runs.rfind(b" ", 0, i) + 1 if kind == "run" else i
            end = runs.find(b" ", i + len(needle)) if kind == "run" else min(len(runs), i + _MAX_CANDIDATE)
            end = len(runs) if end < 0 else end
            while kind == "run" and end < len(raw) and raw[end] == 0x3D and end - start < _MAX_CANDIDATE:  # "=" padding
                end += 1
            if kind != "run" or _TEXTLIKE_RUN.fullmatch(raw, start, end) or _B64_TEXT.fullmatch(raw[start:end:4]):
                found.append((start, end, kind))
            i = runs.find(needle, end + 1) if kind == "run" else -1
    found.sort()
    for start, end, kind in found:
        if offsets is None:
            yield start, end, kind
        else:
            yield offsets.char(start), offsets.char(end), kind


def may_be_encoded(text: str, low: str, view: RunMap | None = None) -> bool:
    """Cheap test: whether :func:`decode_payloads` could find anything in ``text`` (``view``: its run map, when
    the caller has it already)."""
    view = view or RunMap(text)
    raw, runs = view.raw, view.runs
    if (
        _LONG_RUN in runs
        or (b" 20 " in raw and b" 65 " in raw and _SPACED_HEX in runs)
        or (b"00100000 " in raw and _SPACED_BIN in runs)
    ):
        return True
    return _morse_cue(text, low) or (len(low) <= _CIPHER_MAX and _cipher_words(low))


def _morse_cue(text: str, low: str) -> bool:
    return (len(text) <= _CIPHER_MAX or "morse" in low) and " / " in text and (".-" in text or "-." in text)


def _cipher_talk(low: str) -> bool:
    """Whether :data:`_CIPHER_TALK` matches in ``low``: its literal branches as substring tests (a regex of
    alternatives tries each at every position, about 40 times slower), the one with a gap only after "shift"."""
    for w in _CIPHER_LITERALS:
        if w in low:
            return True
    return "shift" in low and _SHIFTED_BY.search(low) is not None


def _cipher_words(low: str) -> bool:
    for w in _CIPHER_WORDS:  # noqa: SIM110 - a plain loop is about twice as fast as any(generator) on every string
        if w in low:
            return True
    return False


def decode_payloads(text: str, low: str, view: RunMap | None = None) -> list[Decoded]:
    """Encoded runs in ``text`` that decode to readable prose (at most :data:`MAX_DECODE` tried; ``view``: the
    text's run map, when the caller has it already)."""
    found: list[Decoded] = []
    if len(text) < _SHORTEST_RUN:
        return found
    for start, end, kind in _candidates(text, view or RunMap(text)):
        if kind == "run":
            run = text[start:end]
            if len(run) > _MAX_CANDIDATE:
                continue
            hexish = _HEX_RUN.fullmatch(run) is not None
            decoded = (_hex(run) if hexish else None) or _b64(run)
            if decoded is not None:
                found.append(Decoded(start, end, "hex" if hexish and _hex(run) else "base64", decoded))
            continue
        for pattern, decoder, name in ((_HEX, _hex, "hex"), (_BIN, _bin, "binary")):
            m = pattern.match(text, start, end)
            if m is not None and (decoded := decoder(m.group(0))) is not None:
                found.append(Decoded(m.start(), m.end(), name, decoded))
                break
    if _morse_cue(text, low):
        near = max(0, low.find("morse") - _CIPHER_MAX // 2) if len(text) > _CIPHER_MAX else 0
        for m in itertools.islice(_MORSE.finditer(text, near, near + _CIPHER_MAX), 8):
            decoded = _morse(m.group(0))
            if decoded is not None:
                found.append(Decoded(m.start(), m.end(), "Morse code", decoded))
    if len(low) <= _CIPHER_MAX and _cipher_words(low) and _cipher_talk(low):
        found.extend(_rotations(low))
    return found


def _shift(s: str, k: int) -> str:
    table = str.maketrans(
        "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz"[k:] + "abcdefghijklmnopqrstuvwxyz"[:k]
    )
    return s.translate(table)


_COMMON: Final = frozenset({"the", "and", "you", "your", "is", "to", "of", "what", "ignore", "instructions", "that"})


def _unshifted() -> dict[str, tuple[int, ...]]:
    index: dict[str, tuple[int, ...]] = {}
    for k in range(1, 26):
        for common in sorted(_COMMON):
            word = _shift(common, 26 - k)
            index[word] = (*index.get(word, ()), k)
    return index


_UNSHIFTED: Final = _unshifted()
"""For each word that some shift ``k`` (1-25) turns into a :data:`_COMMON` word, those ``k``."""
_SEGMENT: Final = re.compile(r"[\"'“‘]([a-z ,.?!']{12,600})[\"'”’]")
_LOWER_WORD: Final = re.compile(r"[a-z]+")


def _rotations(low: str) -> list[Decoded]:
    """Caesar shifts (ROT13 among them) of quoted or trailing segments that turn into English.

    A shift maps ``[a-z]+`` words to words one for one, so the common words each shift ``k`` would produce are
    counted from the segment's own words through :data:`_UNSHIFTED`; only the first shift that reads as English
    is applied.
    """
    out: list[Decoded] = []
    segments = [(m.start(1), m.end(1)) for m in _SEGMENT.finditer(low[:20_000])]
    segments = segments or [(0, min(len(low), 2000))]
    for start, end in segments[:8]:
        seg = low[start:end]
        words = _LOWER_WORD.findall(seg)
        if len(words) < 3 or sum(w in _COMMON for w in words) >= 2:
            continue
        hits = [0] * 26
        for w in words:
            for k in _UNSHIFTED.get(w, ()):
                hits[k] += 1
        for k in range(1, 26):
            if hits[k] >= 2 and hits[k] >= len(words) // 6:
                out.append(Decoded(start, end, f"a Caesar shift of {26 - k}", _shift(seg, k)))
                break
    return out


# ---------------------------------------------------------------------------------------------------------
# Markdown / HTML exfiltration


def markdown_exfil_hits(text: str, low: str) -> list[Hit]:
    """Images (and links) whose URL carries a template placeholder or a data parameter."""
    hits: list[Hit] = []
    checks = []
    if "![" in low:
        checks.append((_MD_IMAGE, "markdown image", 92, 72))
    if "](http" in low or "](<http" in low:
        checks.append((_MD_LINK, "markdown link", 80, 0))
    if "<img" in low:
        checks.append((_HTML_IMG, "HTML image", 92, 72))  # searched in the folded text: tags are case-blind
    for pattern, what, placeholder_sev, data_sev in checks:
        for m in itertools.islice(pattern.finditer(low if pattern is _HTML_IMG else text), _MAX_MARKUP):
            if pattern is _MD_LINK and m.start() > 0 and text[m.start() - 1] == "!":
                continue  # an image, judged above
            url = m.group(1)
            query = url.split("?", 1)[1] if "?" in url else ""
            tail = url.split("://", 1)[1].split("/", 1)[1] if "/" in url.split("://", 1)[1] else ""
            tail = tail.split("#", 1)[0]
            query = query.split("#", 1)[0]
            if _PLACEHOLDER.search(tail) or _PLACEHOLDER.search(query) or _CAPS_PLACEHOLDER.search(query):
                hits.append(
                    Hit(
                        "markdown_exfiltration",
                        placeholder_sev,
                        m.start(),
                        m.end(),
                        f"{what} whose URL has a placeholder to fill with data: rendering it sends the data out",
                    )
                )
                continue
            data = _DATA_PARAM.search("?" + query) if query else None
            if data_sev and data is not None and len(data.group(1)) >= 24:
                hits.append(
                    Hit(
                        "markdown_exfiltration",
                        data_sev,
                        m.start(),
                        m.end(),
                        f"{what} whose URL carries a data parameter: rendering it sends the data out",
                    )
                )
            if len(hits) >= 16:
                return hits
    return hits
