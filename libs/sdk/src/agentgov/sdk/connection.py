"""Where and as whom the SDK connects, and opening that NATS connection.

Settings are taken, first match wins, from: the arguments, the credentials file (``credentials=``, or the
agent's default file when only ``agent=`` is given), ``AGENTGOV_NATS_URL`` for the URL, and finally
``nats://127.0.0.1:4222``.

Reply inboxes: an agent's NATS user may subscribe only below ``_INBOX_<agent>``, and the operator and
approver users only below ``_ROLE_INBOX_<role>`` (the server configuration in ``agentgov.streaming.natsconf``
sets these permissions); the connection uses the prefix its user needs.

Once connected, the connection reconnects forever, with exponential backoff and jitter (50 ms doubling to
2 s), so a NATS restart pauses checks (they fail closed meanwhile) instead of ending the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS

from agentgov.contracts import subjects
from agentgov.contracts.errors import InvalidIdError
from agentgov.contracts.ids import check_token
from agentgov.sdk import credentials as creds_file
from agentgov.sdk.errors import ConfigurationError, ConnectError

log = logging.getLogger(__name__)

DEFAULT_URL = "nats://127.0.0.1:4222"
NATS_URL_ENV = "AGENTGOV_NATS_URL"
_ROLES_WITH_PRIVATE_INBOX = frozenset({"operator", "approver"})

RECONNECT_FIRST_S = 0.05
RECONNECT_MAX_S = 2.0


@dataclass(frozen=True, slots=True)
class Settings:
    """A resolved connection: server, login, inbox prefix, and the agent's id and token (if an agent)."""

    url: str
    user: str | None = None
    password: str | None = None
    inbox_prefix: str | None = None
    agent: str | None = None
    token: str | None = None
    token_expires_at: int | None = None
    credentials_path: Path | None = None

    def __repr__(self) -> str:
        return (
            f"Settings(url={self.url!r}, user={self.user!r}, inbox_prefix={self.inbox_prefix!r}, "
            f"agent={self.agent!r}, credentials_path={self.credentials_path!r})"
        )


def resolve(
    *,
    url: str | None = None,
    agent: str | None = None,
    token: str | None = None,
    user: str | None = None,
    password: str | None = None,
    credentials: str | os.PathLike[str] | None = None,
    inbox_prefix: str | None = None,
) -> Settings:
    """Combine arguments, the credentials file and the environment; ConfigurationError when inconsistent."""
    loaded: creds_file.AgentCredentials | None = None
    path: Path | None = None
    if credentials is not None:
        path = Path(credentials).expanduser()
        loaded = creds_file.load(path)
    elif agent is not None and token is None and user is None:
        candidate = _default_path(agent)
        if candidate.exists():
            path, loaded = candidate, creds_file.load(candidate)
    if loaded is not None:
        if agent is not None and agent != loaded.agent:
            raise ConfigurationError(f"credentials file {path} is for agent {loaded.agent!r}, not {agent!r}")
        agent = loaded.agent
    if agent is not None:
        _check_agent(agent)
        if not token and loaded is None:
            raise ConfigurationError(
                f"no token for agent {agent!r}: register it with `agentgov agent register {agent}` "
                f"(its credentials go to {_default_path(agent)}), or pass credentials= or token="
            )
    nats_login = loaded.nats if loaded is not None else creds_file.NatsLogin()
    resolved_user = user or nats_login.user
    prefix = inbox_prefix or nats_login.inbox_prefix
    if prefix is None and agent is not None:
        prefix = subjects.inbox_prefix(agent)
    if prefix is None and resolved_user in _ROLES_WITH_PRIVATE_INBOX:
        prefix = f"_ROLE_INBOX_{resolved_user}"
    return Settings(
        url=url or nats_login.url or os.environ.get(NATS_URL_ENV) or DEFAULT_URL,
        user=resolved_user,
        password=password if password is not None else nats_login.password,
        inbox_prefix=prefix,
        agent=agent,
        token=token or (loaded.token if loaded is not None else None),
        token_expires_at=loaded.token_expires_at if loaded is not None and not token else None,
        credentials_path=path,
    )


def _check_agent(agent: str) -> None:
    try:
        check_token("agent", agent)
    except InvalidIdError as exc:
        raise ConfigurationError(str(exc)) from None


def _default_path(agent: str) -> Path:
    _check_agent(agent)
    return creds_file.default_path(agent)


def _backoff(servers: list[Any], _info: dict[str, Any]) -> tuple[Any, float]:
    """nats-py reconnect handler: the least-failed server, after 50 ms doubling per failure up to 2 s."""
    server = min(servers, key=lambda s: s.reconnects)
    delay = min(RECONNECT_MAX_S, RECONNECT_FIRST_S * 2 ** min(server.reconnects, 16))
    return server, delay * random.uniform(0.8, 1.2)


_HAS_RECONNECT_HANDLER = "reconnect_to_server_handler" in inspect.signature(NATS.connect).parameters


async def open_nats(
    settings: Settings,
    *,
    name: str,
    connect_timeout: float,
    on_error: Callable[[Exception], Awaitable[None]] | None = None,
) -> NATS:
    """Connect, giving up with :class:`ConnectError` after ``connect_timeout`` seconds; reconnect forever after."""
    nc = NATS()
    last_error: list[Exception] = []
    refused: asyncio.Future[Exception] = asyncio.get_running_loop().create_future()

    async def error_cb(exc: Exception) -> None:
        last_error[:] = [exc]
        if not refused.done() and "authorization" in str(exc).lower():
            refused.set_result(exc)  # a login the server refuses will not work on the next try either
        if on_error is not None:
            await on_error(exc)
        elif nc.is_connected:
            log.warning("nats (%s): %s", name, exc)

    async def disconnected_cb() -> None:
        if not nc.is_closed and not nc.is_draining:
            log.warning("nats (%s): disconnected from %s; reconnecting (checks fail closed meanwhile)", name, url)

    async def reconnected_cb() -> None:
        log.info("nats (%s): reconnected to %s", name, url)

    url = settings.url
    options: dict[str, Any] = {
        "servers": [u.strip() for u in url.split(",") if u.strip()],
        "name": name,
        "connect_timeout": max(0.1, min(connect_timeout, 2.0)),
        "allow_reconnect": True,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "error_cb": error_cb,
        "disconnected_cb": disconnected_cb,
        "reconnected_cb": reconnected_cb,
    }
    if _HAS_RECONNECT_HANDLER:
        options["reconnect_to_server_handler"] = _backoff
    if settings.user:
        options["user"] = settings.user
        options["password"] = settings.password or ""
    if settings.inbox_prefix:
        options["inbox_prefix"] = settings.inbox_prefix
    connecting = asyncio.ensure_future(nc.connect(**options))
    try:
        await asyncio.wait((connecting, refused), timeout=connect_timeout, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        connecting.cancel()
        await _abandon(nc, connecting)
        raise
    if connecting.done() and connecting.exception() is None:
        refused.cancel()
        return nc
    why = str(refused.result()) if refused.done() and not refused.cancelled() else ""
    if not why and connecting.done():
        why = str(connecting.exception())
    if not why:
        why = f"no connection within {connect_timeout:g} s"
        if last_error:
            why = f"{last_error[0] or type(last_error[0]).__name__} ({why})"
    await _abandon(nc, connecting)
    raise ConnectError(url, why)


async def _abandon(nc: NATS, connecting: asyncio.Future[None]) -> None:
    """Stop a first connect and close the socket it may have left open (nats-py leaks it otherwise)."""
    if not connecting.done():
        connecting.cancel()
    with contextlib.suppress(BaseException):
        await connecting
    with contextlib.suppress(Exception):
        await nc.close()
