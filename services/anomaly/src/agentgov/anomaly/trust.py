"""Whether a PolicyPublished may set this service's thresholds: the same operator check as the policy service.

A bundle's ``anomaly:`` section loosens or tightens detection, so a bundle on the stream counts only when it
is signed the way the policy service requires (``services/policy/.../projection.py``, DESIGN.md §7): the
scope is ``*`` or ``org:<org>``, the signer is an operator key in the trust file (``operators.json``,
``AGENTGOV_OPERATORS_FILE``) whose ``policy`` role covers that scope, and its Ed25519 signature over
(scope, revision, sha256) verifies. The digest and the revision order are checked by the domain after this.

Pure: the :class:`~agentgov.identity.operators.TrustStore` is passed in (the service loads it at start, the
tests build one), no file or network access here.
"""

from __future__ import annotations

from agentgov.contracts import crypto
from agentgov.contracts.events import PolicyPublished
from agentgov.identity.errors import TrustError
from agentgov.identity.operators import Scope, TrustStore


def untrusted_because(trust: TrustStore, event: PolicyPublished) -> str | None:
    """None when the bundle's signature and signer are good for its scope; otherwise why not, in words."""
    try:
        scope = Scope.parse(event.scope)
    except TrustError as exc:
        return str(exc)
    if scope.team is not None:
        return "a bundle's scope is '*' or 'org:<org>'"
    key = trust.public_key(event.signer)
    if key is None:
        return f"signer {event.signer} is not a trusted operator key"
    try:
        trust.authorize(event.signer, "policy", scope.org)
    except TrustError as exc:
        return str(exc)
    if not crypto.verify_policy(key, event.signature, event.scope, event.revision, event.sha256):
        return f"the signature by {event.signer} does not verify"
    return None
