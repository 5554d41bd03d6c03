"""Credentials in one string: provider key formats, private keys, connection strings, credential assignments.

Three detectors (category ``secret``), run by :class:`agentgov.policy.lang.scanner.Scanner`:

- :data:`TOKENS` looks at every run of 20+ token characters (``[A-Za-z0-9_+/-]``) once: a provider format
  anchored at the run (checksums verified where the format has one), a JWT, a token after ``Bearer``, or a
  high-entropy value assigned to any name.
- :data:`CONTEXT` reads assignments to credential-named keys (``password = "…"``, ``"api_key": "…"``,
  ``--password …``, ``export TOKEN=…``, ``<password>…</password>``), credentials in URLs and connection
  strings, ``Bearer`` / ``Basic`` authorization values and PEM/PuTTY private keys.
- :class:`CredentialKeyDetector` reports the whole value of an argument whose key names a credential.

| kind | severity | what |
|---|---|---|
| ``private_key`` | 90 | PEM (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP) and PuTTY keys, also inside GCP |
| | | service-account JSON |
| ``aws_secret_key`` | 90 | 40 base64 characters assigned to an AWS-named key |
| ``azure_storage_key`` | 90 | ``AccountKey=`` (88 base64 characters) |
| ``aws_access_key`` | 80 | ``AKIA``/``ASIA``/… key ids |
| ``github_token``, ``npm_token`` | 80 | ``gh[pousr]_`` / ``npm_`` with the CRC32 checksum verified; 60 when it |
| | | fails (a test or altered value); ``github_pat_`` fine-grained tokens |
| ``gitlab_token``, ``slack_token``, ``slack_webhook``, | 80 | provider formats (each prefix with its real length; |
| ``stripe_key``, ``openai_key``, ``anthropic_key``, | | Stripe test-mode keys 60; Discord 70 when the id part |
| ``sendgrid_key``, ``twilio_key``, ``mailchimp_key``, | | does not decode to digits; OpenAI keys need the |
| ``discord_token``, ``telegram_token``, ``pypi_token``, | | ``T3BlbkFJ`` marker unless 100+ characters long; |
| ``artifactory_token``, ``google_api_key``, | | PyPI tokens carry the ``pypi.org`` macaroon id) |
| ``huggingface_token`` | | |
| ``ibm_cloud_iam_key``, ``ibm_cos_hmac``, | 80 | values of the service's shape assigned to keys naming |
| ``cloudant_credential``, ``softlayer_key`` | | it, Cloudant URLs, SoftLayer API URLs |
| ``connection_string`` | 80 | the password in a database or broker URL (``postgres://u:p@h``, ``mongodb+srv://``, |
| | | ``redis://:p@``, ``jdbc:…``); ``Password=`` in ADO strings is a ``credential_assignment`` |
| ``url_credentials`` | 70 | ``user:password@`` in any other URL, or a random-looking token as the URL user |
| ``jwt`` | 70 | base64url parts (``header.payload[.signature]``) whose header decodes to JSON with ``alg`` |
| ``credential_assignment`` | 60-70 | a literal assigned to a credential-named key (70 when it looks random) |
| ``bearer_token``, ``basic_auth`` | 60, 70 | ``Bearer <token>``; ``Basic <base64 of user:password>`` |
| ``high_entropy_string`` | 60 | a random-looking value assigned to any name (see *Entropy*) |
| ``credential_field`` | 60 | the value of an argument named ``password``, ``api_key``, ``token`` … |

**Placeholders are not secrets.** The context rules (assignments, URLs, fields) skip values that are
empty, templated or references (``${VAR}``, ``$VAR``, ``{{ x }}``, ``<your-key>``, ``%(x)s``,
``os.environ[…]``, ``get_password()``), masks (``****``, ``xxxx``, six equal characters in a row), sequences
(``123456``, ``abcdef``), punctuation only, words people write instead of a value (``changeme``,
``example``, ``dummy``, ``fake``, ``redacted``, ``secret``, ``password``, ``none``, ``null``) and type names
(``password: str``). A name *about* a credential is not one (``password_hash``, ``secret_name``,
``token_type``, ``max_tokens``, ``page_token``). A provider-format token is reported whatever its
surroundings: the format is the evidence (so AWS's documented ``…EXAMPLE`` key id is reported).

**Entropy.** The any-name rule needs 20+ characters with letters and digits, not hex-only (digests and
commit ids), and Shannon entropy of at least ``min(4.5, 0.85 * log2(length))`` bits per character (about
3.7 for 20 characters; random base62 of that length averages 4.1). Credential-named keys need no entropy:
70 instead of 60 when the value passes the same test or is hex of 32+ characters.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
from typing import Final

from agentgov.policy.detect.base import MAX_CANDIDATES, MAX_HITS, Category, Hit, truncated
from agentgov.policy.detect.secret_fields import CredentialKeyDetector
from agentgov.policy.detect.secret_values import HEX, REFERENCE, is_placeholder, random_looking
from agentgov.policy.detect.validated import crc32_base62_ok

__all__ = ["CONTEXT", "SECRET_DETECTORS", "TOKENS", "CredentialKeyDetector", "is_placeholder"]


# ---------------------------------------------------------------- provider formats (TOKENS)

_TOKEN_CLASS: Final = bytes(
    ord("a") if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_+/-") else ord(" ") for b in range(256)
)
_RUN: Final = b"a" * 20

_PROVIDER: Final = re.compile(
    r"(?P<github>gh[pousr]_[A-Za-z0-9]{36,251})(?![\w-])"
    r"|(?P<github_pat>github_pat_[A-Za-z0-9_]{22,255})(?![\w-])"
    r"|(?P<npm>npm_[A-Za-z0-9]{36})(?![\w-])"
    r"|(?P<gitlab>(?:(?:glpat|gldt|glft|glsoat|glrt|glffct)-|glcbt-(?:[0-9a-fA-F]{2}_)?|GR1348941)[A-Za-z0-9_-]{20,50}"
    r"(?:\.[0-9a-z]{2}\.[0-9a-z]{7,9})?|glimt-[A-Za-z0-9_-]{25}|glptt-[A-Za-z0-9_-]{40}|gloas-[A-Za-z0-9_-]{64}"
    r"|glagent-[A-Za-z0-9_-]{50,1024})(?![\w-])"
    r"|(?P<slack>xox[abeoprs]-[A-Za-z0-9-]{10,250})(?![\w-])"
    r"|(?P<stripe>[rs]k_(?P<mode>live|test)_[A-Za-z0-9]{20,247})(?![\w-])"
    r"|(?P<anthropic>sk-ant-(?:api|admin|oat|ort)\d\d-[A-Za-z0-9_-]{40,250})(?![\w-])"
    r"|(?P<openai>sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{0,160}T3BlbkFJ[A-Za-z0-9_-]{20,160}"
    r"|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{100,250})(?![\w-])"
    r"|(?P<pypi>pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{70,})(?![\w-])"
    r"|(?P<aws>(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16})(?![A-Za-z0-9])"
    r"|(?P<twilio>(?:AC|SK)[0-9a-f]{32})(?![\w-])"
    r"|(?P<mailchimp>[0-9a-f]{32}-us\d{1,2})(?![\w-])"
    r"|(?P<artifactory>AKCp[A-Za-z0-9]{16,}|AP[0-9A-F][A-Za-z0-9]{17,})(?![\w-])"
    r"|(?P<google>AIza[0-9A-Za-z_-]{35})(?![\w-])"
    r"|(?P<huggingface>hf_[A-Za-z]{34})(?![\w-])"
)
_PROVIDER_KIND: Final = {
    "github": "github_token", "github_pat": "github_token", "npm": "npm_token", "gitlab": "gitlab_token",
    "slack": "slack_token", "stripe": "stripe_key", "anthropic": "anthropic_key", "openai": "openai_key",
    "pypi": "pypi_token", "aws": "aws_access_key", "twilio": "twilio_key", "mailchimp": "mailchimp_key",
    "artifactory": "artifactory_token", "google": "google_api_key", "huggingface": "huggingface_token",
}  # fmt: skip
_JWT: Final = re.compile(
    r"eyJ[A-Za-z0-9_-]{8,4096}\.(?:[A-Za-z0-9_-]{0,8192}\.[A-Za-z0-9_-]{0,1024}|eyJ[A-Za-z0-9_-]{4,8192})(?![\w.-])"
)
_SENDGRID: Final = re.compile(r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![\w-])")
_TELEGRAM: Final = re.compile(r"(?:(?<![\w:])|(?<=bot))\d{8,10}:[A-Za-z0-9_-]{35}(?![\w-])")
_DISCORD: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}(?![\w-])")
_ASSIGNED: Final = re.compile(
    r"(?:(?<![\w.-])(?P<key>[A-Za-z_][\w.-]{0,63})[\"'\]]?\s{0,3}(?::=|=>|[=:])|--(?P<flag>[\w-]{1,40})[ =])"
    r"\s{0,3}[\"'`]?$"
)
_NOT_SECRET_NAME: Final = re.compile(
    r"(?i)(?:hash|sha\d*|md5|digest|checksum|integrity|etag|commit|rev|revision|uuid|guid|nonce|version|image"
    r"|url|uri|href|src|path|file|name|id|ids|type|class|salt|iv)$"
)


_NOT_SECRET_ENDINGS: Final = (
    "hash", "md5", "digest", "checksum", "integrity", "etag", "commit", "rev", "revision", "uuid", "guid", "nonce",
    "version", "image", "url", "uri", "href", "src", "path", "file", "name", "id", "ids", "type", "class", "salt", "iv",
)  # fmt: skip


def _not_secret_name(name: str) -> bool:
    """``_NOT_SECRET_NAME.search(name)``: for ASCII names (``sha\\d*`` apart, fixed endings) by ``endswith``, which
    is what an end-anchored case-insensitive alternation means there and costs a fraction of the search."""
    if not name.isascii() or "\n" in name:
        return _NOT_SECRET_NAME.search(name) is not None
    low = name.lower()
    return low.endswith(_NOT_SECRET_ENDINGS) or low.rstrip("0123456789").endswith("sha")


def _jwt_ok(token: str) -> bool:
    """The header decodes to a JSON object with ``alg``."""
    head = token.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


def _discord_ok(token: str) -> bool:
    """The first part is the base64 of the bot's numeric user id."""
    head = token.split(".", 1)[0]
    try:
        return base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).isdigit()
    except (ValueError, binascii.Error):
        return False


def _provider_hit(m: re.Match[str]) -> Hit:
    group = m.lastgroup or ""
    kind = _PROVIDER_KIND[group] if group != "mode" else "stripe_key"
    value = m.group()
    severity, detail = 80, ""
    if group in ("github", "npm"):
        if len(value) == 40 and crc32_base62_ok(value[4:-6], value[-6:]):
            detail = "CRC32 checksum verified"
        else:
            severity, detail = 60, "format matches but the CRC32 checksum does not (test or altered value)"
    elif group in ("stripe", "mode") and m.group("mode") == "test":
        severity, detail = 60, "test-mode key"
    elif group == "openai" and "T3BlbkFJ" in value:
        detail = "carries the OpenAI marker"
    elif group == "pypi":
        detail = "pypi.org macaroon"
    return Hit(kind, severity, m.start(), m.end(), detail)


class TokenDetector:
    """Provider formats, JWTs, ``Bearer`` tokens and high-entropy assigned values, from long token runs."""

    category: Category = "secret"

    def scan(self, text: str, key: str | None) -> list[Hit]:
        """One look at every run of 20+ token characters."""
        if len(text) < 20:
            return []
        classes = text.encode("ascii", "replace").translate(_TOKEN_CLASS)
        hits: list[Hit] = []
        covered = -1
        budget = MAX_CANDIDATES
        i = classes.find(_RUN)
        while i >= 0:
            s = classes.rfind(b" ", 0, i) + 1
            e = classes.find(b" ", i)
            if e < 0:
                e = len(classes)
            if s >= covered:
                budget -= 1
                if budget < 0 or len(hits) >= MAX_HITS:
                    hits.append(truncated("secret", max(s, covered), len(text), "too many token runs"))
                    return hits
                hit = self._classify(text, s, e)
                if hit is not None:
                    hits.append(hit)
                    covered = hit.end
            i = classes.find(_RUN, e)
        return hits

    def _classify(self, text: str, s: int, e: int) -> Hit | None:
        while s < e and text[s] in "/+":
            s += 1
        m = _PROVIDER.match(text, s)
        if m is not None:
            return _provider_hit(m)
        before = text[max(0, s - 8) : s]
        if text.startswith("eyJ", s):
            jm = _JWT.match(text, s)
            if jm is not None and _jwt_ok(jm.group()):
                return Hit("jwt", 70, s, jm.end(), "header decodes to JSON with alg")
        if before.endswith("SG."):
            sg = _SENDGRID.match(text, s - 3)
            if sg is not None:
                return Hit("sendgrid_key", 80, sg.start(), sg.end())
        if before.endswith(":"):
            tg = _TELEGRAM.search(text, max(0, s - 12), e)
            if tg is not None:
                return Hit("telegram_token", 80, tg.start(), tg.end(), "bot id and 35-character secret")
        if e < len(text) and text[e] == "." and 24 <= e - s <= 26:
            dm = _DISCORD.match(text, s)
            if dm is not None:
                ok = _discord_ok(dm.group())
                return Hit("discord_token", 80 if ok else 70, s, dm.end(), "bot id decodes" if ok else "")
        if before.lower().endswith(("bearer ", "earer  ")):
            return None  # the context detector reports it with its exact span
        return self._assigned(text, s, e)

    def _assigned(self, text: str, s: int, e: int) -> Hit | None:
        lead = text[max(0, s - 4) : s]
        if not lead or not (
            "=" in lead or ":" in lead or lead[-1] in "\"'`" or (lead[-1] == " " and "--" in text[max(0, s - 44) : s])
        ):
            return None
        value = text[s:e].rstrip("/+")
        while e < len(text) and text[e] == "=" and text[e - 1] != "=" and len(value) % 4:
            e += 1
        if HEX.fullmatch(value) or _wordy(value) or not random_looking(value):
            return None  # cheapest first: entropy is the costly test
        if is_placeholder(value) or value.startswith(("iVBOR", "R0lGOD", "/9j/", "data")):
            return None
        m = _ASSIGNED.search(text, max(0, s - 80), s)
        if m is None:
            return None
        name = m.group("key") or m.group("flag") or ""
        if _not_secret_name(name) or _credential_name(name) is not None:
            return None  # a credential name: the context detector reports it with the right kind
        return Hit("high_entropy_string", 60, s, s + len(value), f"assigned to {name}; random-looking value")


TOKENS: Final = TokenDetector()

# ---------------------------------------------------------------- context rules (CONTEXT)

_PEM: Final = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r"(?s:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*)"
)
_PUTTY: Final = re.compile(r"PuTTY-User-Key-File-\d+:(?s:.*?Private-MAC: [0-9a-f]+|.*)")
_AUTH_SCHEME: Final = re.compile(r"(?i:\b(bearer|basic))\s+([A-Za-z0-9._~+/=-]{8,4096})")
_USERINFO: Final = re.compile(r"//([^\s:/@?#\"'<>{}]{0,128}):([^\s/@?#\"'<>]{1,256})@(?=[\w\[])")
_USER_ONLY: Final = re.compile(r"//([A-Za-z0-9_-]{20,256})@(?=[\w\[])")
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.:-]{0,40})$")
_DB_SCHEMES: Final = (
    "postgres", "postgresql", "mysql", "mariadb", "mongodb", "redis", "rediss", "amqp", "amqps", "mssql",
    "sqlserver", "oracle", "jdbc", "clickhouse", "cockroachdb", "snowflake", "kafka", "nats", "ldap", "ldaps",
    "couchdb", "cassandra", "neo4j", "memcached", "elasticsearch", "db2", "sqlalchemy",
)  # fmt: skip
_ROOTS: Final = ("pass", "pw", "secret", "token", "key", "contrase", "credential")
_NAME_LEFT: Final = re.compile(r"(?<![\w.-])[\w.-]{1,64}$")
_AFTER_NAME: Final = re.compile(
    r"[\w.-]{0,48}+(?P<close>[\"'\]]|&quot;)?"
    r"(?P<op>[ \t]{0,4}+(?::=|=>|===|!==|==|!=|<-|=|:|>)|[ \t]{1,4}+(?=[^\s=:]))[ \t]{0,4}+"
    r"(?:[@rbuRBU]{0,2}\"(?P<dq>[^\"\\\n]{1,512}+)\"|[@rbuRBU]{0,2}'(?P<sq>[^'\\\n]{1,512}+)'|`(?P<bq>[^`\\\n]{1,512}+)`"
    r"|(?P<bare>[^\s\"'`;&<>|]{1,512}+))"
)
_NAME_REST: Final = re.compile(r"[\w.-]{0,48}")
_COMPARED: Final = re.compile(r"([\"'])([^\"'\\\n]{1,512})\1\s{0,3}(?:===?|!==?)\s{0,3}$")
_WORDS: Final = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_CREDENTIAL_WORDS: Final = frozenset((
    "password", "passwd", "pwd", "pw", "pass", "passphrase", "passwort", "contrasena", "contraseña", "secret",
    "token", "credential", "credentials", "apikey",
))  # fmt: skip
_KEY_QUALIFIERS: Final = frozenset((
    "api", "access", "secret", "private", "priv", "auth", "client", "account", "service", "master", "encryption",
    "signing", "sign", "app", "consumer", "db", "database", "license", "subscription", "storage", "shared", "admin",
    "session", "hmac", "x", "sl", "softlayer", "cloudant", "iam", "cos", "ibm", "aws", "azure", "gcp", "stripe",
    "twilio", "slack", "github", "gitlab", "webhook", "cloud",
))  # fmt: skip
_NOT_THE_VALUE: Final = frozenset((
    "name", "names", "id", "ids", "file", "files", "path", "paths", "dir", "url", "uri", "length", "len", "count",
    "size", "field", "label", "prompt", "policy", "hint", "hash", "hashed", "digest", "ref", "arn", "type", "types",
    "version", "expiry", "expires", "expiration", "ttl", "header", "param", "params", "env", "var", "regex",
    "pattern", "format", "mode", "enabled", "required", "min", "max", "reset", "change", "confirm", "confirmation",
    "input", "placeholder", "help", "error", "errors", "message", "msg", "text", "title", "description", "desc",
    "store", "manager", "provider", "class", "module", "method", "function", "fn", "func", "handler", "validator",
    "strength", "rule", "rules", "config", "settings", "option", "options", "flag", "location", "source", "command",
    "cmd", "attempts", "retries", "timeout", "status", "state", "valid", "set", "updated", "created", "at", "date",
    "time", "salt", "algorithm", "algo", "encoder", "encoding", "widget", "form", "button", "link", "endpoint",
    "host", "mask", "masked", "visible", "visibility", "show", "hidden", "changed", "policy", "auth",
    "authentication", "login", "generator", "factory", "reader", "writer", "loader", "lookup", "fetch", "get",
    "exists", "missing",
))  # fmt: skip
"""Words that, after a credential word, make the name about the credential rather than hold it."""
_TOKEN_NOT_CREDENTIAL: Final = frozenset((
    "page", "next", "continuation", "cursor", "sync", "max", "num", "total", "input", "output", "completion",
    "prompt", "eos", "bos", "pad", "unk", "sep", "cls", "mask", "special", "start", "end", "stop", "csrf", "xsrf",
    "verification",
))  # fmt: skip
_TYPE_NAMES: Final = frozenset(
    ["str", "string", "int", "bytes", "bool", "boolean", "secretstr", "optional", "any", "text", "char", "varchar"]
)
_AWS_SECRET: Final = re.compile(r"[A-Za-z0-9/+]{40}")
_B64_88: Final = re.compile(r"[A-Za-z0-9/+]{86}==")


_JOINED: Final = ("apikey", "password", "passwd", "secret", "token", "accesskey", "secretkey", "privatekey")


_NAMES: dict[str, str | None] = {}
"""Names already classified (bounded: cleared past 4096 entries)."""


def _credential_name(name: str) -> str | None:
    """The credential word ``name`` ends with (``password``, ``secret``, ``api key``…), or None (memoised)."""
    try:
        return _NAMES[name]
    except KeyError:
        pass
    if len(_NAMES) > 4096:
        _NAMES.clear()
    word = _NAMES[name] = _classify_name(name)
    return word


def _classify_name(name: str) -> str | None:
    words: list[str] = [w.lower() for w in _WORDS.findall(name)]
    for i in range(len(words) - 1, -1, -1):
        w = words[i]
        if any(r in _NOT_THE_VALUE for r in words[i + 1 :]):
            return None
        if w in _CREDENTIAL_WORDS:
            if w == "token" and i and words[i - 1] in _TOKEN_NOT_CREDENTIAL:
                return None
            return w
        if w == "key" and i and (words[i - 1] in _KEY_QUALIFIERS or words[i - 1].endswith(("api", "secret"))):
            return words[i - 1] + " key"
        if len(w) > 6 and w.endswith(_JOINED):
            return w  # IBMCLOUDIAMAPIKEY, softlayerapikey
    return None


def _specific(name: str, value: str) -> tuple[str, int] | None:
    low = name.lower()
    if ("aws" in low or "secret_access" in low or "secretaccess" in low) and _AWS_SECRET.fullmatch(value):
        return "aws_secret_key", 90
    if "accountkey" in low.replace("_", "") and _B64_88.fullmatch(value):
        return "azure_storage_key", 90
    if ("cos" in low or "hmac" in low or "secret_access" in low) and re.fullmatch(r"[0-9a-f]{48}", value):
        return "ibm_cos_hmac", 80
    if "cloudant" in low and re.fullmatch(r"[0-9a-f]{64}|[a-z]{24}", value):
        return "cloudant_credential", 80
    if ("softlayer" in low or low.startswith("sl")) and re.fullmatch(r"[a-z0-9]{64}", value):
        return "softlayer_key", 80
    if ("ibm" in low or "iam" in low or "cloud" in low) and re.fullmatch(r"[A-Za-z0-9_-]{44}", value):
        return "ibm_cloud_iam_key", 80
    return None


class ContextDetector:
    """Credentials recognised by what surrounds them: names, URLs, authorization schemes, key armour."""

    category: Category = "secret"

    def scan(self, text: str, key: str | None) -> list[Hit]:
        """Assignments, URL credentials, ``Bearer``/``Basic`` values and private keys."""
        hits: list[Hit] = []
        if "PRIVATE KEY" in text:
            hits += [self._pem(text, m) for m in itertools.islice(_PEM.finditer(text), MAX_HITS)]
        if "PuTTY-User-Key-File" in text:
            found = itertools.islice(_PUTTY.finditer(text), MAX_HITS)
            hits += [Hit("private_key", 90, m.start(), m.end(), "PuTTY key") for m in found]
        stop = len(text)  # where a bound stopped the scan (the end when none did)
        if "://" in text:
            stop = self._urls(text, hits)
        lowered = text.lower()
        if len(lowered) != len(text):
            lowered = text  # a case mapping changed the length; offsets must stay those of text
        if "bearer" in lowered or "basic" in lowered:
            stop = min(stop, self._schemes(text, hits))
        names: bytes | None = None
        budget = MAX_CANDIDATES
        for root in _ROOTS:
            i = lowered.find(root)
            if i >= 0 and names is None:
                names = text.encode().translate(_NAME_CLASS) if text.isascii() else b""
            while 0 <= i < stop:
                budget -= 1
                if budget < 0:
                    stop = i
                    break
                i = self._assignment(text, names, i, hits)
                i = lowered.find(root, i)
        unique = list({(h.start, h.end): h for h in hits}.values())  # one name can hold two roots (secret_key)
        if len(unique) > MAX_HITS:
            unique.sort(key=lambda h: h.start)
            stop = min(stop, unique[MAX_HITS].start)
        if stop < len(text):
            unique = [h for h in unique if h.start < stop]
            unique.append(truncated("secret", stop, len(text), "too many credential names, URLs or schemes"))
        return unique

    @staticmethod
    def _pem(text: str, m: re.Match[str]) -> Hit:
        detail = "in a GCP service-account key" if '"private_key"' in text[max(0, m.start() - 40) : m.start()] else ""
        return Hit("private_key", 90, m.start(), m.end(), detail)

    @staticmethod
    def _urls(text: str, hits: list[Hit]) -> int:
        """URL credentials; where a bound stopped the search (``len(text)`` when none did)."""
        i = text.find("://")
        budget = MAX_CANDIDATES
        while i >= 0:
            budget -= 1
            if budget < 0:
                return i
            scheme_m = _SCHEME.search(text, max(0, i - 40), i)
            scheme = scheme_m.group(1).lower() if scheme_m else ""
            m = _USERINFO.match(text, i + 1)
            if m is not None and not is_placeholder(m.group(2)) and not m.group(2).startswith("$"):
                base = scheme.rsplit(":", 1)[-1].split("+", 1)[0]
                host = text[m.end() : m.end() + 64].lower()
                if scheme.startswith("jdbc") or base in _DB_SCHEMES:
                    hits.append(Hit("connection_string", 80, m.start(2), m.end(2), f"password in a {base} URL"))
                elif ".cloudant.com" in host:
                    hits.append(Hit("cloudant_credential", 80, m.start(2), m.end(2), "password in a Cloudant URL"))
                else:
                    hits.append(Hit("url_credentials", 70, m.start(2), m.end(2), "user:password@ in a URL"))
            elif m is None:
                u = _USER_ONLY.match(text, i + 1)
                if u is not None and random_looking(u.group(1)):
                    hits.append(Hit("url_credentials", 70, u.start(1), u.end(1), "token as the URL user"))
            if text.startswith("hooks.slack.com/services/", i + 3):
                wm = re.match(
                    r"hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]{8,}", text[i + 3 :]
                )
                if wm is not None:
                    hits.append(Hit("slack_webhook", 80, i + 3, i + 3 + wm.end()))
            elif text.startswith("api.softlayer.com/", i + 3):
                sm = re.compile(r"api\.softlayer\.com/(?:soap|rest)/v3(?:\.1)?/([a-z0-9]{64})").match(text, i + 3)
                if sm is not None:
                    hits.append(Hit("softlayer_key", 80, sm.start(1), sm.end(1), "API key in a SoftLayer URL"))
            i = text.find("://", i + 3)
        return len(text)

    @staticmethod
    def _schemes(text: str, hits: list[Hit]) -> int:
        """``Bearer``/``Basic`` values; where a bound stopped the search (``len(text)`` when none did)."""
        for n, m in enumerate(_AUTH_SCHEME.finditer(text)):
            if n >= MAX_CANDIDATES:
                return m.start()
            value = m.group(2)
            if m.group(1).lower() == "bearer":
                if not is_placeholder(value):
                    hits.append(Hit("bearer_token", 60, m.start(2), m.end(2)))
                continue
            try:
                decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
            except (ValueError, binascii.Error, UnicodeDecodeError):
                continue
            if ":" in decoded and decoded.isprintable() and not is_placeholder(decoded.split(":", 1)[1]):
                hits.append(Hit("basic_auth", 70, m.start(2), m.end(2), "base64 of user:password"))
        return len(text)

    @staticmethod
    def _assignment(text: str, names: bytes | None, i: int, hits: list[Hit]) -> int:
        """Parse the assignment around a credential root at ``i``; the position to search from next.

        ``names`` is ``text`` with name characters as ``a`` and the rest as spaces when ``text`` is ASCII
        (empty otherwise): see :func:`_name_span`.
        """
        start, name_end = _name_span(text, names, i)
        # The name ends where _AFTER_NAME's possessive name part does (before the closing quote or the
        # operator), which is where _NAME_REST ends; most names hold no credential, so that is decided
        # before the costlier match of the operator and value.
        name = text[start:name_end]
        word = _credential_name(name)
        if word is None:
            return i + 1
        m = _AFTER_NAME.match(text, i)
        if text[max(0, start - 5) : start].rstrip().endswith("="):
            r = _COMPARED.search(text, max(0, start - 520), start)
            if r is not None and not is_placeholder(r.group(2)):
                hits.append(Hit("credential_assignment", 60, r.start(2), r.end(2), f"compared with {name}"))
                return start + len(name)
        if m is None:
            return i + 1
        group = next(g for g in ("dq", "sq", "bq", "bare") if m.group(g) is not None)
        v0, v1 = m.span(group)
        if group == "bare":
            v1 = v0 + len(text[v0:v1].rstrip(")]},"))
        value = text[v0:v1]
        if not _value_ok(name, m.group("op"), value, group == "bare", text, v0):
            return m.end()
        specific = _specific(name, value)
        if specific is not None:
            kind, severity = specific
            hits.append(Hit(kind, severity, v0, v1, f"value of {name}"))
            return m.end()
        severity = 70 if random_looking(value) else 60
        hits.append(Hit("credential_assignment", severity, v0, v1, f"value of {name}"))
        return m.end()


_NAME_CLASS: Final = bytes(
    ord("a") if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_.-") else ord(" ") for b in range(256)
)


def _name_span(text: str, names: bytes | None, i: int) -> tuple[int, int]:
    """Where the name around a root at ``i`` starts (``_NAME_LEFT``'s match, else ``i``) and ends (``_NAME_REST``).

    For ASCII text ``names`` maps name characters (``[\\w.-]``) to ``a``, and the two regexes come down to a
    byte search each way: the run of name characters before ``i`` if it is 1-64 long (``$`` also matches
    before a final newline, so a root right after a newline takes the name ending the line before), and the
    run from ``i``, at most 48 long. Dense roots (``keykeykey…``, ``key key …``) made the regexes dominate.
    """
    if not names:
        left = _NAME_LEFT.search(text, max(0, i - 64), i)
        return (left.start() if left else i), _NAME_REST.match(text, i).end()  # type: ignore[union-attr]  # matches empty
    run_end = names.find(b" ", i)
    end = min(i + 48, len(names) if run_end < 0 else run_end)
    if i == 0:
        return i, end
    if names[i - 1] == 97:  # a name character
        a = names.rfind(b" ", 0, i) + 1
        return (a if i - a <= 64 else i), end
    if text[i - 1] == "\n":
        a = names.rfind(b" ", 0, i - 1) + 1
        return (a if i - 1 - a >= 1 and a >= i - 64 else i), end
    return i, end


_WORD_PART: Final = re.compile(r"[a-z]{3,}[0-9]?")
_SPLIT_PARTS: Final = re.compile(r"[/_.@:-]")
_DOC_WORDS: Final = ("password", "passwd", "secret", "token", "username")


def _wordy(value: str) -> bool:
    """A path or identifier of lowercase words (``path/to/key``, ``admin_password``, ``x86_64-unknown-linux``)."""
    parts = _SPLIT_PARTS.split(value)
    if len(parts) < 2:
        return False
    words = sum(1 for p in parts if _WORD_PART.fullmatch(p))
    return words >= 2 or (words >= 1 and any(w in value.lower() for w in _DOC_WORDS))


def _value_ok(name: str, op: str, value: str, bare: bool, text: str, at: int) -> bool:
    """Whether ``value`` assigned to credential-named ``name`` is a literal credential."""
    op = op.strip()
    if op == ">" and text[max(0, at - len(name) - 2) : at - len(name) - 1] != "<":
        return False  # only <password>value</password>
    if not op and bare and not name.startswith("-"):
        return False  # a bare space separates only command-line flags and quoted values from names
    low = value.lower()
    if is_placeholder(value) or low in _TYPE_NAMES or len(value) < 4 or "\n" in value:
        return False
    if low.replace("-", "_") == name.lower().lstrip("-$@").replace("-", "_"):
        return False
    if not bare:
        return value.count(" ") < 6 and not value.endswith((":", "?"))
    if REFERENCE.fullmatch(value) is not None or value[0] in "$%@&*!([{\\/.~":
        return False
    if re.fullmatch(r"[A-Za-z_]\w*", value) and not random_looking(value):
        if op in ("==", "!=", "===", "!==", ":=", "<-") or (op == "=" and text[at - 1 : at] == " "):
            return False  # a variable, not a literal
        if not any(ch.isdigit() for ch in value) and op != ":":
            return False
    if value.endswith(":") or value.startswith("-") or _wordy(value) or (not op.strip() and "/" in value):
        return False
    return not value.startswith(("/", "./", "~/", "http://", "https://", "file:"))


CONTEXT: Final = ContextDetector()

SECRET_DETECTORS: Final = (TOKENS, CONTEXT, CredentialKeyDetector())
"""The secret detectors :data:`agentgov.policy.lang.scanner.DEFAULT_SCANNER` runs, in tie order."""
