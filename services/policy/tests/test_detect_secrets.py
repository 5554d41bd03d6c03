"""Secret detectors: provider formats and their checksums, context rules, placeholders, linear time."""

from __future__ import annotations

import base64
import json
import time
import zlib

import pytest

from agentgov.policy.detect.base import Hit
from agentgov.policy.detect.secrets import SECRET_DETECTORS, CredentialKeyDetector, is_placeholder

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _crc(body: str) -> str:
    n, out = zlib.crc32(body.encode()), ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(6, "0")


def _b64url(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


BODY = "Qm7Tz2Lp9Vx4Rk8Nw3Hs6Jd1Fg5Cb0"
GH_OK = f"ghp_{BODY}{_crc(BODY)}"
GH_BAD = f"ghp_{BODY}{'ZZZZZZ' if _crc(BODY) != 'ZZZZZZ' else 'YYYYYY'}"
NPM_OK = f"npm_{BODY}{_crc(BODY)}"
JWT = f"{_b64url({'alg': 'HS256', 'typ': 'JWT'})}.{_b64url({'sub': 'u-81', 'n': 3})}.c2lnbmF0dXJlLWJ5dGVz"
ANTHROPIC = "sk-ant-api03-" + "Rk8Nw3Hs6Jd1-Fg5Cb0Ya_" * 4 + "AA"
PYPI = "pypi-AgEIcHlwaS5vcmc" + "Rk8Nw3Hs6Jd1Fg5Cb0Ya" * 4
RANDOM40 = "q8Hf2Lm0Zr7Tx4Vb9Nc6Wd1Ks3Pj5Ya8Ue2Gi7Ro"
RANDOM_B64_40 = "Wq7p/Zr2Lk9+Vx4Tn8Hs6Jd1Fg5Cb0Ya3Mu7Re2P"


def scan(text: str, key: str | None = None) -> list[tuple[str, str]]:
    """(kind, value) of every secret hit, overlaps dropped as the scanner does (first, longest wins)."""
    hits: list[Hit] = [h for d in SECRET_DETECTORS for h in d.scan(text, key)]
    hits.sort(key=lambda h: (h.start, -h.end))
    out, last = [], -1
    for h in hits:
        if h.start >= last:
            out.append((h.kind, text[h.start : h.end]))
            last = h.end
    return out


def hit(text: str, key: str | None = None) -> Hit:
    """The single secret hit in ``text``."""
    (h,) = [h for d in SECRET_DETECTORS for h in d.scan(text, key)]
    return h


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        (f"export GH={GH_OK}", "github_token", GH_OK),
        (f"//registry.npmjs.org/:_authToken={NPM_OK}", "npm_token", NPM_OK),
        ("key AKIAZ7QW3RT5YU2IO4PL ok", "aws_access_key", "AKIAZ7QW3RT5YU2IO4PL"),
        ("glpat-Rk8Nw3Hs6Jd1Fg5Cb0Ya", "gitlab_token", "glpat-Rk8Nw3Hs6Jd1Fg5Cb0Ya"),
        ("slack: xoxb-2048-4096-Rk8Nw3Hs6Jd1Fg5C", "slack_token", "xoxb-2048-4096-Rk8Nw3Hs6Jd1Fg5C"),
        ("sk_live_Rk8Nw3Hs6Jd1Fg5Cb0Ya3Mu7", "stripe_key", "sk_live_Rk8Nw3Hs6Jd1Fg5Cb0Ya3Mu7"),
        (
            "OPENAI=sk-Rk8Nw3Hs6Jd1Fg5Cb0YaT3BlbkFJq8Hf2Lm0Zr7Tx4Vb9Nc6W",
            "openai_key",
            "sk-Rk8Nw3Hs6Jd1Fg5Cb0YaT3BlbkFJq8Hf2Lm0Zr7Tx4Vb9Nc6W",
        ),
        (f"a {ANTHROPIC} b", "anthropic_key", ANTHROPIC),
        ("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", "sendgrid_key",
         "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"),
        ("sid SK0f1e2d3c4b5a69788796a5b4c3d2e1f0", "twilio_key", "SK0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        ("mc 0f1e2d3c4b5a69788796a5b4c3d2e1f0-us14", "mailchimp_key", "0f1e2d3c4b5a69788796a5b4c3d2e1f0-us14"),
        ("bot 7302918465:AAq8Hf2Lm0Zr7Tx4Vb9Nc6Wd1Ks3Pj5Ya8U", "telegram_token",
         "7302918465:AAq8Hf2Lm0Zr7Tx4Vb9Nc6Wd1Ks3Pj5Ya8U"),
        (PYPI, "pypi_token", PYPI),
        ("AKCp8" + "Rk8Nw3Hs6Jd1Fg5Cb0Ya" * 3, "artifactory_token", "AKCp8" + "Rk8Nw3Hs6Jd1Fg5Cb0Ya" * 3),
        (f"Authorization: Bearer {JWT}", "jwt", JWT),
    ],
)  # fmt: skip
def test_provider_formats(text: str, kind: str, value: str) -> None:
    """Each provider format is found and only the token is reported."""
    assert scan(text) == [(kind, value)]


def test_github_and_npm_checksums_are_verified() -> None:
    """A verified CRC32 gives severity 80 and says so; a broken one is reported at 60 as a test value."""
    ok, bad = hit(f"t {GH_OK}"), hit(f"t {GH_BAD}")
    assert (ok.kind, ok.severity, ok.detail) == ("github_token", 80, "CRC32 checksum verified")
    assert (bad.kind, bad.severity) == ("github_token", 60) and "does not" in bad.detail
    assert hit(f"x {NPM_OK}").severity == 80


def test_discord_tokens_decode_their_bot_id() -> None:
    """A Discord bot token's first part is the base64 of a numeric id (80); other ids are format-only (70)."""
    head = base64.b64encode(b"730291846512345678").decode().rstrip("=")
    h = hit(f"DISCORD {head}.Gq8Hf2.Lm0Zr7Tx4Vb9Nc6Wd1Ks3Pj5Ya8Ue2G")
    assert (h.kind, h.severity) == ("discord_token", 80)


def test_jwts_need_a_json_header_with_alg() -> None:
    """eyJ… strings whose header is not JSON with ``alg`` are not JWTs."""
    no_alg = f"{_b64url({'typ': 'JWT'})}.{_b64url({'sub': 'x'})}.c2ln"
    assert scan(f"t={no_alg}") == []
    two_parts = f"{_b64url({'alg': 'none'})}.{_b64url({'sub': 'x', 'iat': 1})}"
    assert scan(f"x {two_parts} y") == [("jwt", two_parts)]


@pytest.mark.parametrize(
    "text", ["ghp_short", "AKIA1234", "xoxb-1", "sk-nothing-here", "glimt-tooshort", "npm_abc", "pypi-AgEIcHlw"]
)
def test_provider_look_alikes_are_not_reported(text: str) -> None:
    """Prefixes without the format's length or charset are not tokens."""
    assert scan(f"value {text} end") == []


def test_private_keys() -> None:
    """PEM blocks are one finding from BEGIN to END, also inside a GCP service-account JSON."""
    pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----"
    h = hit(f"x {pem} y")
    assert (h.kind, h.severity, h.start) == ("private_key", 90, 2)
    gcp = (
        '{"type": "service_account", '
        '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"}'
    )
    h = hit(gcp)
    assert h.kind == "private_key" and "GCP" in h.detail
    assert scan("a public key: -----BEGIN PUBLIC KEY-----") == []


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("postgres://app:Tr0ub4dor&3@db.internal:5432/app", "connection_string", "Tr0ub4dor&3"),
        ("mongodb+srv://svc:p4ssW0rd9@cluster0.mongodb.net/x", "connection_string", "p4ssW0rd9"),
        ("redis://:s3cretValue7@cache:6379/0", "connection_string", "s3cretValue7"),
        ("jdbc:mysql://db:3306/app?user=app&password=Gr33nTea!", "credential_assignment", "Gr33nTea!"),
        ("Server=db;Database=app;User Id=sa;Password=Blu3Sky#42;", "credential_assignment", "Blu3Sky#42"),
        ("https://deploy:h7Kp2Qz9@git.example.org/r.git", "url_credentials", "h7Kp2Qz9"),
        ("https://acct:Zq8pL2mW@acct.cloudant.com/db", "cloudant_credential", "Zq8pL2mW"),
    ],
)
def test_connection_strings_and_url_credentials(text: str, kind: str, value: str) -> None:
    """Passwords in URLs and connection strings are reported without the user or host."""
    assert scan(text) == [(kind, value)]


@pytest.mark.parametrize(
    "text",
    [
        "https://user:${DB_PASSWORD}@db/x",
        "postgres://app:password@localhost/app",
        "redis://:changeme@cache",
        "https://example.org/a:b@c",
        "git clone git@github.com:acme/app.git",
    ],
)
def test_url_placeholders_are_not_secrets(text: str) -> None:
    """Templated, placeholder or absent passwords in URLs are not reported."""
    assert scan(text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('password = "Tr0ub4dor&3"', "Tr0ub4dor&3"),
        ("DB_PASSWORD=hunter2x", "hunter2x"),
        ('{"client_secret": "v1.Zq8pL2mW"}', "v1.Zq8pL2mW"),
        ("api_key: q8Hf2Lm0Zr7Tx4", "q8Hf2Lm0Zr7Tx4"),
        ("mysql --password Gr33nTea!", "Gr33nTea!"),
        ("export GITHUB_TOKEN=tok_9f8e7d6c5b", "tok_9f8e7d6c5b"),
        ("<password>Blu3Sky42</password>", "Blu3Sky42"),
        ('if (passwd == "letmein42") {', "letmein42"),
        ('if ("letmein42" === password) {', "letmein42"),
        ('const dbPass = "correct horse battery";', "correct horse battery"),
        ("IBMCLOUDIAMAPIKEY=Rk8Nw3Hs6Jd1Fg5Cb0Ya", "Rk8Nw3Hs6Jd1Fg5Cb0Ya"),
    ],
)
def test_credential_assignments(text: str, value: str) -> None:
    """Literals assigned to credential-named keys are reported (only the value)."""
    assert [v for _, v in scan(text)] == [value]


@pytest.mark.parametrize(
    "text",
    [
        "password = get_password()",
        "password = os.environ['DB_PASSWORD']",
        "password = self.password",
        "password = password_from_vault",
        'password: ""',
        "password: str",
        "password: Optional[str] = None",
        'password = "${DB_PASSWORD}"',
        "password = '{{ vault.db }}'",
        'api_key = "<your-api-key>"',
        'api_key = "xxxxxxxxxxxxxxxx"',
        'secret = "changeme"',
        "PASSWORD=$DB_PASSWORD",
        'password_hash = "pbkdf2"',
        'secret_name = "prod/db"',
        'token_type = "bearer"',
        'max_tokens = "4096"',
        "password_file: /run/secrets/db",
        'password = "********"',
        'label = "Enter your password:"',
        "Args:\n    password: the password to use.",
        "See the password reset page.",
    ],
)
def test_non_credentials_are_not_reported(text: str) -> None:
    """References, templates, placeholders, types and names about a credential are not secrets."""
    assert scan(text) == []


def test_specific_cloud_kinds_from_key_names() -> None:
    """Values of the service's shape assigned to a name naming it get the service's kind and severity."""
    assert hit(f'aws_secret_access_key = "{RANDOM_B64_40}"').kind == "aws_secret_key"
    assert hit(f'aws_secret_access_key = "{RANDOM_B64_40}"').severity == 90
    assert hit("cos_hmac_secret_access_key=" + "0f1e2d3c4b5a6978" * 3).kind == "ibm_cos_hmac"
    assert hit("softlayer_api_key: " + "0f1e2d3c4b5a6978" * 4).kind == "softlayer_key"
    account_key = base64.b64encode(bytes(range(7, 71))).decode()
    h = hit(f"DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={account_key};EndpointSuffix=core")
    assert (h.kind, h.severity) == ("azure_storage_key", 90)


def test_high_entropy_values_in_assignments() -> None:
    """A random-looking value assigned to any name is reported; digests, prose and identifiers are not."""
    assert scan(f'DEPLOY_CONFIG = "{RANDOM40}"') == [("high_entropy_string", RANDOM40)]
    assert scan(f"--signing {RANDOM40}") == [("high_entropy_string", RANDOM40)]
    assert scan(f"print({RANDOM40})") == []  # not an assignment
    assert scan('sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"') == []
    assert scan('name = "some_very_long_identifier_name_here"') == []
    assert scan('commit: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"') == []


def test_bearer_and_basic_authorization() -> None:
    """Bearer tokens are reported; Basic values only when they decode to user:password."""
    assert scan("Authorization: Bearer abc.def-123456") == [("bearer_token", "abc.def-123456")]
    basic = base64.b64encode(b"svc:Zq8pL2mW").decode()
    assert scan(f"Authorization: Basic {basic}") == [("basic_auth", basic)]
    assert scan("a basic understanding of things") == []


def test_credential_fields() -> None:
    """A credential-named argument is reported whole unless its value is a placeholder."""
    detector = CredentialKeyDetector()
    assert detector.scan("pw", "password") == [Hit("credential_field", 60, 0, 2)]
    assert detector.scan("${SECRET}", "client_secret") == []
    assert detector.scan("hello", "message") == []


def test_placeholders() -> None:
    """The documented placeholder forms."""
    for value in ["${X}", "$X", "{{ x }}", "<your-key>", "%(pw)s", "xxxx", "****", "changeme", "123456", "None"]:
        assert is_placeholder(value), value
    assert not is_placeholder("Tr0ub4dor&3")


@pytest.mark.parametrize(
    "text",
    [
        "a" * 200_000,
        "password=" * 20_000,
        "://" * 60_000,
        "Bearer " * 25_000,
        "eyJ" + "a" * 100_000 + "." * 1000,
        ("x" * 30 + " ") * 6000,
        '"secret": "' * 15_000,
        "-----BEGIN RSA PRIVATE KEY-----" + "A" * 200_000,
        "Q" * 19 + "/" + "Q" * 19,
    ],
)
def test_adversarial_inputs_stay_fast(text: str) -> None:
    """Pathological strings of ~200 KB are scanned in bounded time (every pattern is linear)."""
    start = time.perf_counter()
    scan(text)
    assert time.perf_counter() - start < 1.0
