"""``@guard``: ask the policy before a tool function runs, and run it only when allowed.

::

    @guard(client, action=lambda command: actions.shell(command, tool="run_shell"))
    async def run_shell(command: str) -> str: ...

``action`` builds the :class:`~agentgov.contracts.Action` from the function's own arguments (it is called
with exactly the arguments the function gets, ``self`` included for methods); a fixed ``Action`` may be
given instead. Every call is checked first, under one trace id (so checks made inside the function join
it). What happens next depends on the verdict:

``allow``
    The function runs. If it declares a ``governed_action`` parameter (keyword, default ``None``) it
    receives the checked action.
``redact``
    The policy allows the action with some values replaced, and returns the sanitized action. The function
    runs only if it declares ``governed_action``: it receives the sanitized action and must act on it
    instead of its raw arguments. Otherwise the call raises :class:`ActionDenied` (the guard cannot know
    which argument holds the redacted value, so it fails closed).
``deny``
    :class:`ActionDenied`, carrying the decision; its message lists the rules, reasons and code.
``review`` (approval required), by ``on_review``:
    ``"wait"`` (default): ask again every ``review_poll`` seconds (new request id, ``context=
    {"approval_for": <decision id>}``) for up to ``review_timeout`` seconds; run when allowed, raise
    :class:`ActionDenied` when denied and :class:`ActionPending` when the time is up. A re-ask that fails
    with ``policy_unavailable`` is not an answer, and the wait goes on.
    ``"pending"``: raise :class:`ActionPending` at once; its ``decision_id`` is what to approve.
    ``"deny"``: treat review as deny (:class:`ActionDenied`).

The approval service (``agentgov run approval``) turns each review into an approval request that approvers
resolve with ``agentgov approvals approve|deny``. Once granted, the waiting guard's next re-ask is allowed,
once: the allow names the approval (``approval_id``) and carries a single-use execution ticket
(``Decision.ticket``, bound to the hash of this exact action) that an executor can check with
:class:`agentgov.sdk.tickets.TicketVerifier`. A denied approval raises :class:`ActionDenied` with the
approver's reason; one that expires gets the bundle's fallback (deny unless the bundle says otherwise).

A function that declares ``governed_decision`` also receives the Decision it was allowed by (with its
``ticket`` when an approval was carried out).

Coroutine functions work with :class:`Client` or :class:`SyncClient`; plain functions need a
:class:`SyncClient` (an async client cannot be waited on without blocking its own loop).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar, cast

from agentgov.contracts.events import Action
from agentgov.contracts.requests import Decision
from agentgov.sdk.client import Client
from agentgov.sdk.errors import ActionDenied, ActionPending, ConfigurationError
from agentgov.sdk.sync import SyncClient
from agentgov.sdk.tracing import trace

F = TypeVar("F", bound=Callable[..., Any])
OnReview = Literal["wait", "pending", "deny"]

GOVERNED_ACTION = "governed_action"
GOVERNED_DECISION = "governed_decision"


def guard(
    client: Client | SyncClient,
    action: Callable[..., Action] | Action,
    *,
    on_review: OnReview = "wait",
    review_timeout: float = 30.0,
    review_poll: float = 1.0,
    session: str | None = None,
    timeout: float | None = None,
    context: Mapping[str, Any] | None = None,
) -> Callable[[F], F]:
    """Decorate a tool function so it runs only when the policy allows (see the module docs)."""
    if on_review not in ("wait", "pending", "deny"):
        raise ConfigurationError(f"on_review must be 'wait', 'pending' or 'deny', not {on_review!r}")
    opts = _Options(on_review, review_timeout, review_poll, session, timeout, dict(context or {}))

    def build(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Action:
        return action if isinstance(action, Action) else action(*args, **kwargs)

    def decorate(fn: F) -> F:
        params = inspect.signature(fn).parameters
        wants_action = GOVERNED_ACTION in params
        wants_decision = GOVERNED_DECISION in params

        if inspect.iscoroutinefunction(fn):
            check_async = _async_checker(client)

            @functools.wraps(fn)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                act = build(args, kwargs)
                with trace():
                    decision = await _decide_async(check_async, act, opts)
                    extra = _extra(fn, decision, act, wants_action, wants_decision)
                    return await fn(*args, **kwargs, **extra)

            return cast(F, guarded_async)

        if not isinstance(client, SyncClient):
            raise ConfigurationError(
                f"{fn.__qualname__} is not a coroutine function: guard it with a SyncClient, not the async Client"
            )
        sync_client = client

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            act = build(args, kwargs)
            with trace():
                decision = _decide_sync(sync_client.check, act, opts)
                extra = _extra(fn, decision, act, wants_action, wants_decision)
                return fn(*args, **kwargs, **extra)

        return cast(F, guarded)

    return decorate


class _Options:
    __slots__ = ("context", "on_review", "poll", "review_timeout", "session", "timeout")

    def __init__(
        self,
        on_review: OnReview,
        review_timeout: float,
        poll: float,
        session: str | None,
        timeout: float | None,
        context: dict[str, Any],
    ) -> None:
        self.on_review = on_review
        self.review_timeout = review_timeout
        self.poll = poll
        self.session = session
        self.timeout = timeout
        self.context = context

    def kwargs(self, approval_for: str | None = None) -> dict[str, Any]:
        context = {**self.context, "approval_for": approval_for} if approval_for is not None else self.context
        return {"session": self.session, "timeout": self.timeout, "context": context}


AsyncCheck = Callable[..., Awaitable[Decision]]


def _async_checker(client: Client | SyncClient) -> AsyncCheck:
    if isinstance(client, Client):
        return client.check

    async def check_via_thread(act: Action, **kwargs: Any) -> Decision:
        return await asyncio.wrap_future(client._submit_check(act, **kwargs))  # private to this package

    return check_via_thread


def _on_review_now(decision: Decision, opts: _Options) -> None:
    """Raise at once when the guard does not wait for approvals."""
    if opts.on_review == "deny":
        raise ActionDenied(decision, "approval required, and this guard treats review as deny")
    if opts.on_review == "pending":
        raise ActionPending(decision)


def _after_reask(first: Decision, answer: Decision) -> bool:
    """True when a re-ask settled the review (allow, redact or a real deny); raises on a real deny."""
    if answer.verdict == "review" or answer.code == "policy_unavailable":
        return False
    if answer.verdict == "deny":
        raise ActionDenied(answer, f"approval for decision {first.decision_id} was not granted")
    return True


async def _decide_async(check: AsyncCheck, act: Action, opts: _Options) -> Decision:
    decision = await check(act, **opts.kwargs())
    if decision.verdict != "review":
        return decision
    _on_review_now(decision, opts)
    deadline = time.monotonic() + opts.review_timeout
    while (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(opts.poll, left))
        answer = await check(act, **opts.kwargs(approval_for=decision.decision_id))
        if _after_reask(decision, answer):
            return answer
    raise ActionPending(decision, f"no approval within {opts.review_timeout:g} s")


def _decide_sync(check: Callable[..., Decision], act: Action, opts: _Options) -> Decision:
    decision = check(act, **opts.kwargs())
    if decision.verdict != "review":
        return decision
    _on_review_now(decision, opts)
    deadline = time.monotonic() + opts.review_timeout
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(opts.poll, left))
        answer = check(act, **opts.kwargs(approval_for=decision.decision_id))
        if _after_reask(decision, answer):
            return answer
    raise ActionPending(decision, f"no approval within {opts.review_timeout:g} s")


def _extra(
    fn: Callable[..., Any], decision: Decision, act: Action, wants_action: bool, wants_decision: bool
) -> dict[str, Any]:
    """The keyword arguments the guard adds to the call; raises unless the decision lets it run."""
    extra: dict[str, Any] = {}
    if decision.verdict == "redact":
        if not wants_action or decision.action is None:
            why = (
                f"the action must be redacted, and {fn.__qualname__} does not take {GOVERNED_ACTION}="
                if not wants_action
                else "the action must be redacted, and the decision carries no sanitized action"
            )
            raise ActionDenied(decision, why)
        extra[GOVERNED_ACTION] = decision.action
    elif decision.verdict == "allow":
        if wants_action:
            extra[GOVERNED_ACTION] = act
    else:
        raise ActionDenied(decision)
    if wants_decision:
        extra[GOVERNED_DECISION] = decision
    return extra
