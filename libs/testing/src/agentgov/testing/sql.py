"""pytest fixtures for the SQL read model's backends: a real PostgreSQL and a SQLite file.

PostgreSQL comes from ``AGENTGOV_TEST_DATABASE_URL`` (a ``postgresql://`` URL), else the local default
``postgresql://postgres@127.0.0.1:5432/test``. If that does not answer and a Docker engine does, a throwaway
container is started with testcontainers. If neither, the test is skipped with a loud reason, except under
``CI=true``, where a missing server is a failure: CI must never go green by skipping what it was meant to
test. ``redis.py`` follows the same rule through ``plan_for``/``give_up`` below.

Each test session gets its own schema (``agentgov_t_<random>``, dropped at the end) and ``pg_url`` points
at it through ``options=-csearch_path=<schema>``; ``pg_fresh_url`` gives one test a schema of its own.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Final, Literal, NoReturn
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

__all__ = ["pg_fresh_url", "pg_url", "sqlite_path"]

PG_URL_ENV: Final = "AGENTGOV_TEST_DATABASE_URL"
DEFAULT_PG_URL: Final = "postgresql://postgres@127.0.0.1:5432/test"
PG_IMAGE: Final = "postgres:16-alpine"
CONNECT_TIMEOUT_S: Final = 3
DEFAULT_DOCKER_HOST: Final = "unix:///var/run/docker.sock"

Plan = Literal["use", "container", "skip", "fail"]
"""What a fixture does about an external server: use the configured one, start a container, or give up."""


# ------------------------------------------------------------------------------ the skip-or-fail rule


def is_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether we run under CI (``CI=true``, as GitHub Actions and most CI systems set it)."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() in {"true", "1", "yes"}


def plan_for(*, reachable: bool, docker: bool, ci: bool) -> Plan:
    """Decide what to do about a server: the configured one if it answers, else a container if Docker
    answers, else skip, or fail under CI."""
    if reachable:
        return "use"
    if docker:
        return "container"
    return "fail" if ci else "skip"


def give_up(service: str, why: str, *, ci: bool) -> NoReturn:
    """Skip the test loudly, or fail it under CI, because ``service`` is unavailable."""
    message = f"{service.upper()} UNAVAILABLE, tests that need it did not run: {why}"
    if ci:
        pytest.fail(f"{message} (CI=true: a missing server fails the run)", pytrace=False)
    pytest.skip(message)


def docker_reachable() -> bool:
    """Whether a Docker engine answers a ping (never raises)."""
    if not _docker_socket_accepts(os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST):
        return False
    try:
        import docker  # noqa: PLC0415 - the docker SDK loads only when no local server answers

        # A fixed API version: with "auto" the constructor already talks to the engine.
        client = docker.from_env(version=docker.constants.DEFAULT_DOCKER_API_VERSION, timeout=CONNECT_TIMEOUT_S)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # any failure to reach Docker means "no Docker"
        return False


def _docker_socket_accepts(host: str) -> bool:
    """Whether the engine's socket takes a connection (other schemes, e.g. ssh://, are left to the SDK).

    Checked first because the docker SDK leaks its socket when the connect fails, which is a
    ResourceWarning and so an error under ``filterwarnings = error``.
    """
    parts = urlsplit(host)
    try:
        if parts.scheme in ("unix", "http+unix"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(CONNECT_TIMEOUT_S)
                sock.connect(parts.path)
        elif parts.scheme == "tcp" and parts.hostname:
            socket.create_connection((parts.hostname, parts.port or 2375), timeout=CONNECT_TIMEOUT_S).close()
    except OSError:
        return False
    return True


@contextmanager
def external_server(
    service: str,
    url: str,
    probe: Callable[[str], str | None],
    start_container: Callable[[], AbstractContextManager[str]],
    hint: str,
) -> Iterator[str]:
    """Yield the URL of a usable ``service``: ``url`` if ``probe(url)`` finds no problem, else a container's.

    ``probe`` returns ``None`` when the server answers, or why it does not. ``hint`` says how to point the
    tests at a server; it goes into the skip or failure message.
    """
    problem = probe(url)
    docker = problem is not None and docker_reachable()
    match plan_for(reachable=problem is None, docker=docker, ci=is_ci()):
        case "use":
            yield url
        case "container":
            with start_container() as container_url:
                yield container_url
        case _:
            give_up(service, f"{url} does not answer ({problem}) and no Docker engine does; {hint}", ci=is_ci())


# --------------------------------------------------------------------------------------- PostgreSQL


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``options`` set so the session's ``search_path`` is ``schema`` (other options kept)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = " ".join(value for key, value in query if key == "options")
    kept = [opt for opt in options.split() if not opt.startswith("-csearch_path=")]
    params = [(key, value) for key, value in query if key != "options"]
    params.append(("options", " ".join([*kept, f"-csearch_path={schema}"])))
    return urlunsplit(parts._replace(query=urlencode(params, quote_via=quote)))


def probe_postgres(url: str) -> str | None:
    """``None`` if PostgreSQL at ``url`` accepts a connection, else the reason it does not."""
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S):
            return None
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__


@contextmanager
def _postgres_container() -> Iterator[str]:
    from testcontainers.community.postgres import (  # noqa: PLC0415 - only when no local server answers
        PostgresContainer,
    )

    with PostgresContainer(PG_IMAGE, driver=None) as container:
        yield str(container.get_connection_url())


@contextmanager
def _schema(url: str, prefix: str = "agentgov_t") -> Iterator[str]:
    """Create a fresh schema on ``url``, yield its name, drop it (and everything in it) afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose ``search_path`` is a schema made for this test session (dropped after it)."""
    base = os.environ.get(PG_URL_ENV) or DEFAULT_PG_URL
    hint = f"set {PG_URL_ENV} to a postgresql:// URL or start PostgreSQL on 127.0.0.1:5432"
    with (
        external_server("postgresql", base, probe_postgres, _postgres_container, hint) as url,
        _schema(url) as name,
    ):
        yield with_search_path(url, name)


@pytest.fixture
def pg_fresh_url(pg_url: str) -> Iterator[str]:
    """A PostgreSQL URL on a schema of this test's own, empty at the start and dropped at the end."""
    with _schema(pg_url) as name:
        yield with_search_path(pg_url, name)


# ------------------------------------------------------------------------------------------- SQLite


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A path for a fresh SQLite database file (not yet created) in this test's temp directory."""
    return tmp_path / "readmodel.sqlite3"
