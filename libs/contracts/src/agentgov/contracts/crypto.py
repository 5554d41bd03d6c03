"""Event hashes and Ed25519 signatures (DESIGN.md §5).

- event hash: ``SHA-256(canonical event bytes)``; ``chain.prev`` of the next event is its hex.
- signature: Ed25519 over ``b"agentgov/event/v1\\x00" || event hash`` (domain-separated, 50 bytes).
- public keys travel as raw 32 bytes in base64url without padding; a key id is the first 16 hex characters
  of the SHA-256 of the raw key.

Key files and key generation on first run are I/O and live in ``agentgov.streaming.keys``.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from agentgov.contracts.errors import SignatureError

SIGNING_CONTEXT = b"agentgov/event/v1\x00"


def event_hash(event_bytes: bytes) -> bytes:
    """SHA-256 of an event's canonical bytes."""
    return hashlib.sha256(event_bytes).digest()


def sign(key: Ed25519PrivateKey, digest: bytes) -> bytes:
    """Sign an event hash."""
    return key.sign(SIGNING_CONTEXT + digest)


def verify(public_key: Ed25519PublicKey, signature: bytes, digest: bytes) -> None:
    """Raise SignatureError unless ``signature`` is the key's signature of the event hash."""
    try:
        public_key.verify(signature, SIGNING_CONTEXT + digest)
    except InvalidSignature:
        raise SignatureError("signature does not verify") from None


def is_valid(public_key: Ed25519PublicKey, signature: bytes, digest: bytes) -> bool:
    """True when the signature verifies."""
    try:
        public_key.verify(signature, SIGNING_CONTEXT + digest)
    except InvalidSignature:
        return False
    return True


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw public key as base64url without padding."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    """Parse a public key from its base64url text; SignatureError when it is not a 32-byte key."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if len(raw) != 32:
            raise ValueError("not 32 bytes")
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise SignatureError(f"not an Ed25519 public key: {exc}") from None


def key_id(public_key: str) -> str:
    """The short id of a public key given as base64url text."""
    raw = base64.urlsafe_b64decode(public_key + "=" * (-len(public_key) % 4))
    return hashlib.sha256(raw).hexdigest()[:16]


POLICY_CONTEXT = b"agentgov/policy/v1\x00"


def policy_message(scope: str, revision: int, sha256_hex: str) -> bytes:
    """The bytes an operator signs to publish a policy bundle: context, scope, revision and bundle digest."""
    return POLICY_CONTEXT + f"{scope}\x00{revision}\x00{sha256_hex}".encode()


def sign_policy(key: Ed25519PrivateKey, scope: str, revision: int, sha256_hex: str) -> str:
    """An operator's signature of a policy revision, as base64url text without padding."""
    sig = key.sign(policy_message(scope, revision, sha256_hex))
    return base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


def verify_policy(public_key: Ed25519PublicKey, signature: str, scope: str, revision: int, sha256_hex: str) -> bool:
    """True when ``signature`` (base64url text) is the key's signature of that policy revision."""
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        public_key.verify(raw, policy_message(scope, revision, sha256_hex))
    except (InvalidSignature, ValueError):
        return False
    return True


APPROVAL_CONTEXT = b"agentgov/approval/v1\x00"


def approval_message(approval_id: str, action_hash: str, resolution: str) -> bytes:
    """The bytes an approver signs to resolve an approval: context, approval id, action hash and
    ``granted`` or ``denied``, so a signature can neither move to another action nor flip its answer."""
    return APPROVAL_CONTEXT + f"{approval_id}\x00{action_hash}\x00{resolution}".encode()


def sign_approval(key: Ed25519PrivateKey, approval_id: str, action_hash: str, resolution: str) -> str:
    """An approver's signature of a resolution, as base64url text without padding."""
    sig = key.sign(approval_message(approval_id, action_hash, resolution))
    return base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


def verify_approval(
    public_key: Ed25519PublicKey, signature: str, approval_id: str, action_hash: str, resolution: str
) -> bool:
    """True when ``signature`` (base64url text) is the key's signature of that resolution."""
    try:
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        public_key.verify(raw, approval_message(approval_id, action_hash, resolution))
    except (InvalidSignature, ValueError):
        return False
    return True
