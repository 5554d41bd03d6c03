"""Who may resolve an approval: the one check the approval service and the policy replicas both apply."""

from __future__ import annotations

from agentgov.contracts import crypto
from agentgov.contracts.events import ApprovalDenied, ApprovalGranted
from agentgov.identity.errors import TrustError
from agentgov.identity.operators import TrustStore


def verify_resolution(
    trust: TrustStore, event: ApprovalGranted | ApprovalDenied, expected_hash: str, org: str | None, team: str | None
) -> str | None:
    """Why a resolution is not to be trusted, or None: the key must be a trusted operator whose ``approver``
    role covers the agent's org and team, and the signature must cover this approval, action and answer
    (:func:`agentgov.contracts.crypto.approval_message`)."""
    if event.action_hash != expected_hash:
        return "its action hash is not the requested action's"
    try:
        trust.authorize(event.approver, "approver", org, team)
    except TrustError as exc:
        return str(exc)
    key = trust.public_key(event.approver)
    resolution = "granted" if isinstance(event, ApprovalGranted) else "denied"
    if key is None or not crypto.verify_approval(
        key, event.signature, event.approval_id, event.action_hash, resolution
    ):
        return "signature does not verify"
    return None
