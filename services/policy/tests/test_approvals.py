"""How a re-ask carrying ``approval_for`` is answered while its approval is pending, granted or denied."""

from __future__ import annotations

from agentgov.contracts.events import Action, ApprovalRequested
from agentgov.contracts.requests import CheckAction
from agentgov.identity.operators import TrustStore
from agentgov.policy.approvals import APPROVAL_FOR, ApprovalBook, action_hash, resolve
from agentgov.policy.domain import Outcome

PUSH = Action(kind="shell", tool="run_shell", target="git push origin main")
REVIEW = Outcome(verdict="review", claim="approval_required", action=PUSH, approval_timeout_s=900)


def reask(approval_id: str) -> CheckAction:
    """A waiting guard's re-ask for ``approval_id``."""
    return CheckAction(request_id="r2", agent="a1", token="t", action=PUSH, context={APPROVAL_FOR: approval_id})


def test_a_pending_reask_names_its_approval_and_opens_none() -> None:
    """Still pending (or not yet requested): review again, naming the approval, with no timeout of its own."""
    book = ApprovalBook(TrustStore([]))
    for known in (False, True):
        if known:
            book.apply(
                ApprovalRequested(
                    agent="a1",
                    approval_id="d1",
                    request_id="r1",
                    action_hash=action_hash("a1", PUSH),
                    action=PUSH,
                    expires_ns=10**30,
                )
            )
        out = resolve(reask("d1"), REVIEW, book, now_ns=1)
        assert (out.verdict, out.approval_id, out.approval_timeout_s) == ("review", "d1", None)
        assert out.reasons[-1] == "approval d1 is pending"


def test_a_first_ask_opens_an_approval() -> None:
    """Without ``approval_for`` the review is a new one: it names no approval and keeps the bundle's timeout."""
    first = CheckAction(request_id="r1", agent="a1", token="t", action=PUSH)
    out = resolve(first, REVIEW, ApprovalBook(TrustStore([])), now_ns=1)
    assert out.approval_id is None and out.approval_timeout_s == 900
