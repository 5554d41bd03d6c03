"""@guard on coroutine and plain functions: allow, deny, redact, and each way of handling review."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from agentgov.contracts.events import Action
from agentgov.contracts.requests import CheckAction, Decision
from agentgov.sdk import (
    ActionBlocked,
    ActionDenied,
    ActionPending,
    Client,
    ConfigurationError,
    SyncClient,
    actions,
    guard,
)

from .conftest import Responders, decision_for

SANITIZED = Action(kind="shell", tool="shell", target="echo [REDACTED:aws_key]")


def by_command(req: CheckAction) -> Decision | None:
    """The verdict is named by the command: allow, deny, review, review-then-allow, review-then-deny, redact."""
    cmd = req.action.target or ""
    approved = "approval_for" in req.context
    if cmd == "silent":
        return None
    if cmd == "redact":
        return decision_for(req, "redact", action=SANITIZED)
    if cmd.startswith("review-then-") and approved:
        return decision_for(req, "allow" if cmd.endswith("allow") else "deny", rule="approval")
    if cmd.startswith("review"):
        return decision_for(req, "review", rule="needs-approval")
    return decision_for(req, "deny" if cmd == "deny" else "allow", rule=f"rule-{cmd}")


async def test_async_allow_runs_and_deny_raises(client: Client, responder: Responders) -> None:
    """Allowed: the function runs with its arguments. Denied: ActionDenied with rules and reasons, not run."""
    await responder(by_command)
    ran: list[str] = []

    @guard(client, action=actions.shell)
    async def run(command: str) -> str:
        ran.append(command)
        return f"ran {command}"

    assert await run("allow") == "ran allow"
    with pytest.raises(ActionDenied) as err:
        await run("deny")
    assert ran == ["allow"]
    assert (
        err.value.decision.verdict == "deny"
        and "rule-deny" in str(err.value)
        and "rule-deny says deny" in str(err.value)
    )
    assert run.__name__ == "run"


async def test_policy_unavailable_denies_the_call(client: Client, responder: Responders) -> None:
    """No answer from the policy: the guarded function does not run, ActionDenied with code policy_unavailable."""
    await responder(by_command)

    @guard(client, action=lambda: actions.shell("silent"), timeout=0.2)
    async def run() -> None:
        raise AssertionError("must not run")

    with pytest.raises(ActionDenied) as err:
        await run()
    assert err.value.code == "policy_unavailable" and "code: policy_unavailable" in str(err.value)


async def test_review_wait_times_out_as_pending(client: Client, responder: Responders) -> None:
    """on_review=wait re-asks with new request ids and approval_for, then raises ActionPending at the timeout."""
    r = await responder(by_command)

    @guard(client, action=actions.shell("review"), review_timeout=0.35, review_poll=0.1)
    async def run() -> None:
        raise AssertionError("must not run")

    started = time.monotonic()
    with pytest.raises(ActionPending) as err:
        await run()
    assert 0.35 <= time.monotonic() - started < 1.0
    first, *again = r.unique
    assert len(again) >= 2 and "approval_for" not in first.context
    contexts = [(q.request_id, q.attempt, q.context) for q in r.requests]
    assert {q.context.get("approval_for") for q in again} == {err.value.decision_id}, contexts
    assert all(q.attempt == 1 for q in again), contexts  # every re-ask is a new request, not a retry
    assert len({q.trace_id for q in r.requests}) == 1
    assert err.value.decision_id == err.value.decision.decision_id and err.value.decision.verdict == "review"


async def test_review_wait_runs_once_approved_and_raises_when_refused(client: Client, responder: Responders) -> None:
    """A re-ask that is allowed runs the function; one that is denied raises ActionDenied."""
    await responder(by_command)

    @guard(client, action=actions.shell, review_poll=0.05)
    async def run(command: str) -> str:
        return command

    assert await run("review-then-allow") == "review-then-allow"
    with pytest.raises(ActionDenied, match="was not granted"):
        await run("review-then-deny")


async def test_review_pending_and_deny_modes_raise_at_once(client: Client, responder: Responders) -> None:
    """on_review=pending raises ActionPending and on_review=deny raises ActionDenied, both without waiting."""
    r = await responder(by_command)

    @guard(client, action=actions.shell("review"), on_review="pending")
    async def pending() -> None: ...

    @guard(client, action=actions.shell("review"), on_review="deny")
    async def denied() -> None: ...

    started = time.monotonic()
    with pytest.raises(ActionPending):
        await pending()
    with pytest.raises(ActionDenied, match="treats review as deny"):
        await denied()
    assert time.monotonic() - started < 0.5 and len(r.unique) == 2
    with pytest.raises(ConfigurationError):
        guard(client, action=actions.shell("x"), on_review="later")  # type: ignore[arg-type]


async def test_redact_passes_the_sanitized_action_or_refuses(client: Client, responder: Responders) -> None:
    """Redact runs a function that takes governed_action with the sanitized action; others get ActionDenied."""
    await responder(by_command)

    @guard(client, action=actions.shell)
    async def aware(command: str, *, governed_action: Action | None = None) -> Action | None:
        return governed_action

    @guard(client, action=actions.shell)
    async def unaware(command: str) -> None:
        raise AssertionError("must not run")

    assert await aware("redact") == SANITIZED
    assert await aware("allow") == actions.shell("allow")
    with pytest.raises(ActionDenied, match="does not take governed_action"):
        await unaware("redact")


async def test_governed_decision_is_passed_when_declared(client: Client, responder: Responders) -> None:
    """A function that declares governed_decision receives the Decision it was allowed by."""
    await responder(by_command)

    @guard(client, action=actions.shell("allow"))
    async def run(*, governed_decision: Decision | None = None) -> str:
        assert governed_decision is not None
        return governed_decision.rules[0].id

    assert await run() == "rule-allow"


async def test_guard_on_plain_functions_with_a_sync_client(sync_client: SyncClient, responder: Responders) -> None:
    """Plain functions are guarded through a SyncClient: allow, deny, redact and review behave the same."""
    await responder(by_command)

    @guard(sync_client, action=lambda command, **_: actions.shell(command), review_timeout=0.2, review_poll=0.05)
    def run(command: str, governed_action: Action | None = None) -> Any:
        return governed_action

    def scenario() -> None:
        assert run("allow") == actions.shell("allow")
        assert run("redact") == SANITIZED
        assert run("review-then-allow") == actions.shell("review-then-allow")
        with pytest.raises(ActionDenied):
            run("deny")
        with pytest.raises(ActionPending):
            run("review")

    await asyncio.to_thread(scenario)


async def test_coroutine_function_with_a_sync_client(sync_client: SyncClient, responder: Responders) -> None:
    """A coroutine function guarded through a SyncClient awaits the check without blocking its loop."""
    await responder(by_command)

    @guard(sync_client, action=actions.shell)
    async def run(command: str) -> str:
        return command

    assert await run("allow") == "allow"
    with pytest.raises(ActionBlocked):
        await run("deny")


def test_plain_function_with_an_async_client_is_refused(client: Client) -> None:
    """Guarding a plain function with the async Client is a configuration error at decoration time."""
    with pytest.raises(ConfigurationError, match="SyncClient"):

        @guard(client, action=actions.shell("ls"))
        def run() -> None: ...
