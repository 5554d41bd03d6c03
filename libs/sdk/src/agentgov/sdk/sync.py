"""The synchronous client: the asynchronous one, run on an event loop in a background thread.

For agents and tools written without asyncio. Each ``check`` hands the request to the loop thread and
blocks until the decision (or the fail-closed deny) is back; it is safe to call from many threads at once.
The trace id is read in the calling thread, so ``with trace():`` works as it does with :class:`Client`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine, Mapping
from contextlib import AbstractContextManager, suppress
from types import TracebackType
from typing import Any, Self, TypeVar

from agentgov.contracts.events import Action
from agentgov.contracts.ids import uuid7
from agentgov.contracts.requests import Decision, SpendReceipt
from agentgov.sdk.client import DEFAULT_TIMEOUT_S, Client, unavailable
from agentgov.sdk.errors import ConfigurationError
from agentgov.sdk.tracing import current_trace_id, new_trace_id, trace

T = TypeVar("T")

_HANDOFF_SLACK_S = 5.0
"""How much longer than the check's own deadline the calling thread waits for the loop thread."""


class SyncClient:
    """A blocking client: ``SyncClient.connect(...)``, ``.check(...)``, ``.close()``, or ``with``."""

    def __init__(self, client: Client, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        """Wrap a client running on ``loop`` in ``thread``; use :meth:`connect` instead."""
        self._client = client
        self._loop = loop
        self._thread = thread
        self._lock = threading.Lock()
        self._closed = False

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
    ) -> SyncClient:
        """Start the loop thread and connect, with the arguments of :meth:`Client.connect`."""
        options: dict[str, Any] = {
            "agent": agent,
            "token": token,
            "user": user,
            "password": password,
            "credentials": credentials,
            "default_timeout": default_timeout,
            "inbox_prefix": inbox_prefix,
            "name": name,
            "connect_timeout": connect_timeout,
        }
        return cls._start(lambda: Client.connect(url, **options))

    @classmethod
    def from_env(cls, **overrides: Any) -> SyncClient:
        """Connect as :meth:`Client.from_env` does."""
        return cls._start(lambda: Client.from_env(**overrides))

    @classmethod
    def _start(cls, opening: Any) -> SyncClient:
        connecting = opening()  # resolves settings here, so configuration errors raise before a thread starts
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="agentgov-sdk", daemon=True)
        thread.start()

        async def open_client() -> Client:
            client: Client = await connecting
            return client

        try:
            client = asyncio.run_coroutine_threadsafe(open_client(), loop).result()
        except BaseException:
            _stop(loop, thread)
            raise
        return cls(client, loop, thread)

    # -- properties ----------------------------------------------------------------------------------------

    @property
    def agent(self) -> str | None:
        """The agent this client checks for."""
        return self._client.agent

    @property
    def default_timeout(self) -> float:
        """The deadline of a check, in seconds, when ``check`` is given none."""
        return self._client.default_timeout

    @property
    def is_connected(self) -> bool:
        """True while connected to NATS."""
        return self._client.is_connected

    @staticmethod
    def trace(trace_id: str | None = None) -> AbstractContextManager[str]:
        """``with client.trace():`` every check inside shares one trace id."""
        return trace(trace_id)

    # -- check ---------------------------------------------------------------------------------------------

    def check(
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
        """:meth:`Client.check`, blocking; fails closed the same way."""
        tid = trace_id or current_trace_id() or new_trace_id()
        wait = self.default_timeout if timeout is None else float(timeout)
        try:
            fut = self._submit_check(
                action,
                session=session,
                trace_id=tid,
                timeout=wait,
                request_id=request_id,
                estimated_usd_micros=estimated_usd_micros,
                context=context,
            )
        except RuntimeError:
            return unavailable(request_id or uuid7(), "the client is closed", tid)
        try:
            return fut.result(wait + _HANDOFF_SLACK_S)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            return unavailable(request_id or uuid7(), "the client's event loop did not answer", tid)
        except concurrent.futures.CancelledError:
            return unavailable(request_id or uuid7(), "the client was closed during the check", tid)

    def record_spend(self, model: str, **kwargs: Any) -> SpendReceipt:
        """:meth:`Client.record_spend`, blocking (raises ``SpendRefused`` the same way)."""
        wait = self.default_timeout if kwargs.get("timeout") is None else float(kwargs["timeout"])
        return self._submit(self._client.record_spend(model, **kwargs)).result(wait + _HANDOFF_SLACK_S)

    def _submit_check(self, action: Action, **kwargs: Any) -> concurrent.futures.Future[Decision]:
        """Start a check on the loop thread (also used by ``guard`` for coroutine functions)."""
        return self._submit(self._client.check(action, **kwargs))

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if threading.current_thread() is self._thread:
            coro.close()
            raise ConfigurationError("SyncClient called from its own event loop thread; use the async Client there")
        with self._lock:
            if self._closed:
                coro.close()
                raise RuntimeError("client closed")
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    # -- lifecycle -----------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection and stop the loop thread (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._client.close(), self._loop).result(_HANDOFF_SLACK_S)
        finally:
            _stop(self._loop, self._thread)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    """Stop the loop thread and close the loop, cancelling whatever still runs on it."""

    async def cancel_rest() -> None:
        current = asyncio.current_task()
        rest = [t for t in asyncio.all_tasks() if t is not current]
        for t in rest:
            t.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        await loop.shutdown_asyncgens()

    if thread.is_alive():
        with suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(cancel_rest(), loop).result(_HANDOFF_SLACK_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_HANDOFF_SLACK_S)
    if not loop.is_running():
        loop.close()
