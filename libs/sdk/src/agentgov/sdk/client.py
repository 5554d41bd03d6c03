"""The asynchronous client: ask the policy before acting (DESIGN.md §4), and follow recorded decisions.

``check`` sends one :class:`~agentgov.contracts.CheckAction` as a core NATS request on
``gov.check.<agent>`` and returns the policy's :class:`~agentgov.contracts.Decision`. It fails closed: no
reply before the deadline, no policy service listening, a connection outage or a reply it cannot read all
return a deny with code ``policy_unavailable`` and the reason, never an exception.

Within the deadline it sends the request again (same ``request_id``, ``attempt`` counting up: the policy
service records at most one decision per request id and answers a retry with the decision recorded first)
when nobody is listening yet, after a failed send, and when no reply came for a while (250 ms, doubling),
so a request lost with a policy replica is answered by another. Each attempt has its own reply subject (a
responder may answer a delivered request only once, so a re-used reply subject would be refused), and all
of them resolve the same wait: whichever answer comes first wins.

The hot path keeps to one reused encoder and decoder, a subject built once, and one wildcard reply
subscription per connection (as nats-py's own ``request`` does), with no per-request subscription.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import secrets
import time
from collections.abc import AsyncGenerator, Generator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import msgspec
import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from agentgov.contracts import subjects
from agentgov.contracts.events import Action, ActionDecided
from agentgov.contracts.ids import check_token, uuid7
from agentgov.contracts.requests import CheckAction, Decision, RecordSpend, SpendReceipt
from agentgov.sdk import credentials as creds_file
from agentgov.sdk import decisions as feed
from agentgov.sdk.connection import Settings, open_nats, resolve
from agentgov.sdk.errors import ConfigurationError, SpendRefused
from agentgov.sdk.tracing import current_trace_id, new_trace_id, trace

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 1.0
RESEND_AFTER_S = 0.25
"""Re-send a request that has had no reply for this long (doubling after each re-send)."""
RETRY_BACKOFF_S = 0.01
"""First pause before re-sending when no policy service listens or the send failed (doubling)."""
RETRY_BACKOFF_MAX_S = 0.2
TOKEN_REFRESH_S = 60.0
"""Re-read the credentials file for a fresher token this long before the token expires."""
TOKEN_RELOAD_EVERY_S = 5.0

_NO_RESPONDERS = "503"


def unavailable(request_id: str, why: str, trace_id: str | None = None) -> Decision:
    """The fail-closed decision: deny, before execution, because the policy could not be asked."""
    return Decision(
        request_id=request_id,
        verdict="deny",
        claim="denied_before_execution",
        code="policy_unavailable",
        reasons=[f"policy unavailable: {why}"],
        trace_id=trace_id,
    )


class Client:
    """A connection to agentgov as one agent (for ``check``) or as an operator/service (for ``decisions``).

    Make one with ``await Client.connect(...)`` or ``await Client.from_env()``; both also work as
    ``async with Client.connect(...) as client:``. One client serves any number of concurrent checks.
    """

    def __init__(self, nc: NATS, settings: Settings, *, default_timeout: float = DEFAULT_TIMEOUT_S) -> None:
        """Wrap an open connection; use :meth:`connect` instead unless you manage the connection yourself."""
        self._nc = nc
        self._settings = settings
        self._agent = settings.agent
        self._token = settings.token or ""
        self._expires_at = settings.token_expires_at
        self._next_reload = 0.0
        self.default_timeout = default_timeout
        self._subject = subjects.check(settings.agent) if settings.agent else ""
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(Decision)
        inbox = settings.inbox_prefix or "_INBOX"
        self._reply_prefix = f"{inbox}.{secrets.token_hex(8)}."
        self._seq = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[Msg]] = {}
        self._reply_sub: Any = None
        self._last_error: tuple[float, str] | None = None
        self._closed = False
        self.session: str | None = uuid7()
        """The session every check names unless it gives its own: one per client by default, so session taint
        (what this agent has read) follows the client's work. Set another id, or None for no session."""

    # -- lifecycle -----------------------------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        url: str | None = None,
        *,
        agent: str | None = None,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        credentials: str | os.PathLike[str] | None = None,
        default_timeout: float = DEFAULT_TIMEOUT_S,
        inbox_prefix: str | None = None,
        name: str | None = None,
        connect_timeout: float = 5.0,
    ) -> _Connecting:
        """Connect to NATS; ``await`` it, or use it as ``async with``.

        ``credentials`` is an agent's credentials file; with only ``agent`` the agent's default file
        (``$AGENTGOV_HOME/agents/<agent>.json``) is read. Arguments override what the file says. Without an
        agent the client can follow ``decisions()`` but not ``check()``. ``default_timeout`` is the deadline
        of a check in seconds. Raises :class:`~agentgov.sdk.errors.ConfigurationError` for missing or bad
        credentials and :class:`~agentgov.sdk.errors.ConnectError` when the first connection fails within
        ``connect_timeout``; after that it reconnects forever.
        """
        settings = resolve(
            url=url,
            agent=agent,
            token=token,
            user=user,
            password=password,
            credentials=credentials,
            inbox_prefix=inbox_prefix,
        )
        return _Connecting(cls._open(settings, default_timeout, name, connect_timeout))

    @classmethod
    def from_env(cls, **overrides: Any) -> _Connecting:
        """Connect with the credentials ``AGENTGOV_AGENT_CREDENTIALS`` (a path) or ``AGENTGOV_AGENT`` names.

        ``AGENTGOV_NATS_URL`` is used when the file names no server. ``overrides`` go to :meth:`connect`.
        """
        if "credentials" not in overrides and "agent" not in overrides:
            path = creds_file.path_from_env()
            if path is None:
                raise ConfigurationError(
                    f"set {creds_file.CREDENTIALS_ENV} to an agent's credentials file, "
                    f"or {creds_file.AGENT_ENV} to a registered agent's id"
                )
            overrides["credentials"] = path
        return cls.connect(**overrides)

    @classmethod
    async def _open(
        cls, settings: Settings, default_timeout: float, name: str | None, connect_timeout: float
    ) -> Client:
        holder: list[Client] = []

        async def on_error(exc: Exception) -> None:
            if holder:
                holder[0]._on_nats_error(exc)

        nc = await open_nats(
            settings,
            name=name or (f"agentgov-sdk-{settings.agent}" if settings.agent else "agentgov-sdk"),
            connect_timeout=connect_timeout,
            on_error=on_error,
        )
        client = cls(nc, settings, default_timeout=default_timeout)
        holder.append(client)
        try:
            await client._start()
        except BaseException:
            await nc.close()
            raise
        return client

    async def _start(self) -> None:
        if self._agent is not None:
            self._reply_sub = await self._nc.subscribe(self._reply_prefix + "*", cb=self._on_reply)
            await self._nc.flush()

    def _on_nats_error(self, exc: Exception) -> None:
        text = str(exc) or type(exc).__name__
        self._last_error = (time.monotonic(), text)
        log.warning("nats (agentgov-sdk %s): %s", self._agent or "-", text)

    async def close(self) -> None:
        """Close the connection; later checks return ``policy_unavailable`` (client closed)."""
        if self._closed:
            return
        self._closed = True
        for fut in self._waiting.values():
            if not fut.done():
                fut.cancel()
        if not self._nc.is_closed:
            await self._nc.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- properties ----------------------------------------------------------------------------------------

    @property
    def agent(self) -> str | None:
        """The agent this client checks for (None for an operator or service client)."""
        return self._agent

    @property
    def settings(self) -> Settings:
        """Where and as whom this client connected (passwords and tokens are not shown in its repr)."""
        return self._settings

    @property
    def nats(self) -> NATS:
        """The underlying nats-py connection."""
        return self._nc

    @property
    def is_connected(self) -> bool:
        """True while connected to NATS (False while reconnecting or once closed)."""
        return bool(self._nc.is_connected)

    @staticmethod
    def trace(trace_id: str | None = None) -> AbstractContextManager[str]:
        """``with client.trace():`` every check inside shares one trace id (see :mod:`agentgov.sdk.tracing`)."""
        return trace(trace_id)

    # -- check ---------------------------------------------------------------------------------------------

    async def check(
        self,
        action: Action,
        *,
        session: str | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
        request_id: str | None = None,
        estimated_usd_micros: int | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Decision:
        """Ask whether the agent may perform ``action``; the policy's Decision, or a fail-closed deny.

        ``timeout`` (seconds, default :attr:`default_timeout`) is the deadline: the request carries it as
        ``deadline_ms`` and the call returns by then. ``request_id`` (default: a new UUIDv7) identifies the
        request; pass one to retry a request idempotently: a request id you give is sent as a retry
        (``attempt`` 2 or more), so the service answers with the decision already recorded for it, if any.
        ``trace_id`` defaults to the enclosing :meth:`trace`, else a new one. Raises only for a client
        without an agent or ids that are not subject-safe (``InvalidIdError``).
        """
        if self._agent is None:
            raise ConfigurationError("this client has no agent: connect with agent= or credentials= to check")
        first_attempt = 1
        if request_id is None:
            request_id = uuid7()
        else:
            check_token("request", request_id)
            first_attempt = 2  # it may have been sent before: the service then looks for its recorded decision
        if session is None:
            session = self.session
        if session is not None:
            check_token("session", session)
        tid = trace_id or current_trace_id() or new_trace_id()
        wait = self.default_timeout if timeout is None else float(timeout)
        if self._expires_at is not None and time.time() > self._expires_at - TOKEN_REFRESH_S:
            self._refresh_token()
        request = CheckAction(
            request_id=request_id,
            agent=self._agent,
            token=self._token,
            action=action,
            attempt=first_attempt,
            session=session,
            trace_id=tid,
            deadline_ms=time.time_ns() // 1_000_000 + int(wait * 1000),
            estimated_usd_micros=estimated_usd_micros,
            context=dict(context) if context else {},
        )
        try:
            payload = self._encoder.encode(request)
        except (TypeError, ValueError, OverflowError) as exc:
            return Decision(
                request_id=request_id,
                verdict="deny",
                claim="denied_before_execution",
                code="bad_request",
                reasons=[f"the request cannot be encoded as JSON: {exc}"],
                trace_id=tid,
            )
        return await self._exchange(request, payload, wait)

    async def _exchange(self, request: CheckAction, payload: bytes, wait: float) -> Decision:
        nc = self._nc
        request_id, trace_id = request.request_id, request.trace_id
        if self._closed or nc.is_closed:
            return unavailable(request_id, "the client is closed", trace_id)
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + wait
        started_mono = time.monotonic()
        fut: asyncio.Future[Msg] = loop.create_future()
        keys: list[str] = []  # one reply subject per attempt: NATS lets a responder answer each only once
        why = ""
        resend_after = RESEND_AFTER_S
        backoff = RETRY_BACKOFF_S
        next_send = started
        try:
            while True:
                now = loop.time()
                if now >= next_send:
                    key = str(next(self._seq))
                    keys.append(key)
                    self._waiting[key] = fut
                    if len(keys) > 1:  # a retry says so, and the service then looks for a recorded decision
                        retry = msgspec.structs.replace(request, attempt=request.attempt + len(keys) - 1)
                        payload = self._encoder.encode(retry)
                    failed = await self._send(payload, self._reply_prefix + key)
                    if failed:
                        why = failed
                        next_send = loop.time() + backoff
                        backoff = min(backoff * 2, RETRY_BACKOFF_MAX_S)
                    else:
                        why = ""
                        next_send = loop.time() + resend_after
                        resend_after *= 2
                    now = loop.time()
                if now >= deadline:
                    break
                if not fut.done():
                    await asyncio.wait((fut,), timeout=min(deadline, next_send) - now)
                if not fut.done():
                    continue
                msg = fut.result()
                if msg.headers and msg.headers.get("Status") == _NO_RESPONDERS and not msg.data:
                    why = "no policy service is listening (no responders)"
                    fut = loop.create_future()
                    for k in keys:
                        self._waiting[k] = fut
                    next_send = loop.time() + backoff
                    backoff = min(backoff * 2, RETRY_BACKOFF_MAX_S)
                    continue
                return self._decode(msg.data, request_id, trace_id)
        except asyncio.CancelledError:
            if self._closed:
                return unavailable(request_id, "the client was closed during the check", trace_id)
            raise
        finally:
            for k in keys:
                self._waiting.pop(k, None)
        return unavailable(request_id, self._timeout_reason(wait, why, started_mono), trace_id)

    async def _send(self, payload: bytes, reply: str) -> str:
        """Publish one attempt; the reason it could not be sent, or ``""``."""
        nc = self._nc
        if nc.is_closed:
            return "the connection is closed"
        if not nc.is_connected:
            return "not connected to NATS (reconnecting)"
        try:
            await nc.publish(self._subject, payload, reply=reply)
        except Exception as exc:  # any send failure is an outage for this check, which then fails closed
            return f"could not send the request: {exc or type(exc).__name__}"
        return ""

    def _timeout_reason(self, wait: float, why: str, started: float) -> str:
        text = f"no decision within {wait * 1000:.0f} ms"
        if why:
            text += f": {why}"
        elif not self._nc.is_connected:
            text += ": not connected to NATS (reconnecting)"
        err = self._last_error
        if err is not None and err[0] >= started:
            text += f" (nats reported: {err[1]})"
        return text

    def _decode(self, data: bytes, request_id: str, trace_id: str | None) -> Decision:
        try:
            decision = self._decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return unavailable(request_id, f"the reply is not a Decision ({exc})", trace_id)
        if decision.request_id != request_id:
            return unavailable(
                request_id, f"the reply is for request {decision.request_id!r}, not {request_id!r}", trace_id
            )
        return decision

    async def _on_reply(self, msg: Msg) -> None:
        fut = self._waiting.get(msg.subject[len(self._reply_prefix) :])
        if fut is not None and not fut.done():
            fut.set_result(msg)

    def _refresh_token(self) -> None:
        """Pick up a renewed token from the credentials file (re-registration rewrites it)."""
        path = self._settings.credentials_path
        now = time.monotonic()
        if path is None or now < self._next_reload:
            return
        self._next_reload = now + TOKEN_RELOAD_EVERY_S
        try:
            fresh = creds_file.load(path)
        except ConfigurationError as exc:
            log.warning("cannot reload the agent token: %s", exc)
            return
        if fresh.agent == self._agent and fresh.token != self._token:
            self._token = fresh.token
            self._expires_at = fresh.token_expires_at
            log.info("agent %s: loaded a renewed token from %s", self._agent, path)

    # -- spend ---------------------------------------------------------------------------------------------

    async def record_spend(
        self,
        model: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_tokens: int = 0,
        reasoning_tokens: int = 0,
        request_id: str | None = None,
        provider: str = "",
        report_id: str | None = None,
        timeout: float | None = None,
    ) -> SpendReceipt:
        """Report the tokens an LLM call used; the budget service prices and records it.

        Token kinds are disjoint (uncached input, cached input, visible output, reasoning). ``request_id`` is
        the CheckAction's, so the spend releases the budget that check reserved. ``report_id`` (default: a
        new UUIDv7) makes a retry idempotent. Raises :class:`SpendRefused` when the service refuses the
        report (``.receipt.error`` is the reason) and ``ConnectError``-free ``TimeoutError`` when no budget
        service answers within ``timeout``.
        """
        if self._agent is None:
            raise ConfigurationError("this client has no agent: connect with agent= or credentials= to record spend")
        if self._expires_at is not None and time.time() > self._expires_at - TOKEN_REFRESH_S:
            self._refresh_token()
        req = RecordSpend(
            report_id=report_id or uuid7(),
            agent=self._agent,
            token=self._token,
            model=model,
            provider=provider,
            request_id=request_id or "",
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached_tokens,
            reasoning_tokens=reasoning_tokens,
            trace_id=current_trace_id(),
        )
        wait = self.default_timeout if timeout is None else float(timeout)
        try:
            reply = await self._nc.request(subjects.usage(self._agent), self._encoder.encode(req), timeout=wait)
        except nats.errors.TimeoutError:
            raise TimeoutError(
                f"no budget service answered on {subjects.usage(self._agent)} within {wait:g} s"
            ) from None
        receipt = msgspec.json.decode(reply.data, type=SpendReceipt)
        if receipt.error:
            raise SpendRefused(receipt)
        return receipt

    # -- decisions -----------------------------------------------------------------------------------------

    def decisions(
        self,
        agent: str | None = None,
        team: str | None = None,
        org: str | None = None,
        since: datetime | int | None = None,
    ) -> AsyncGenerator[ActionDecided, None]:
        """Recorded ActionDecided events, live (or from ``since``: a datetime or Unix ns), filtered.

        Needs a login that may read JetStream (operator or service); see :mod:`agentgov.sdk.decisions`.
        Close it when done: ``async with contextlib.aclosing(client.decisions()) as feed: ...``.
        """
        return feed.follow(self._nc, agent=agent, team=team, org=org, since=since)


class _Connecting:
    """What :meth:`Client.connect` returns: ``await`` it for the client, or ``async with`` it."""

    def __init__(self, opening: Any) -> None:
        self._opening = opening
        self._client: Client | None = None

    def __await__(self) -> Generator[Any, None, Client]:
        return self._opening.__await__()  # type: ignore[no-any-return]

    async def __aenter__(self) -> Client:
        self._client = await self._opening
        return self._client

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.close()

    def close(self) -> None:
        """Discard an unawaited connect (avoids a 'coroutine was never awaited' warning)."""
        self._opening.close()
