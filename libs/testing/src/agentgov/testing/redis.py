"""pytest fixtures for a real Redis.

Redis comes from ``AGENTGOV_TEST_REDIS_URL``, else ``redis://127.0.0.1:6379/0``; if that does not answer,
a container (Docker engine permitting), else skip, or fail under ``CI=true`` (the rule in ``sql.py``).
Tests share the server, so each session writes under its own key prefix (``redis_prefix``), and the keys
under it are deleted when the session ends.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import pytest
import redis

from agentgov.testing.sql import CONNECT_TIMEOUT_S, external_server

__all__ = ["redis_prefix", "redis_url"]

REDIS_URL_ENV: Final = "AGENTGOV_TEST_REDIS_URL"
DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/0"
REDIS_IMAGE: Final = "redis:7-alpine"


def probe_redis(url: str) -> str | None:
    """``None`` if Redis at ``url`` answers PING, else the reason it does not."""
    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=CONNECT_TIMEOUT_S)
    try:
        client.ping()
    except redis.RedisError as exc:
        return str(exc) or type(exc).__name__
    finally:
        client.close()
    return None


def delete_prefixed(client: redis.Redis, prefix: str) -> int:
    """Delete every key starting with ``prefix`` (a plain token, no glob characters); return how many."""
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        batch.append(key)
        if len(batch) == 1000:
            deleted += int(client.unlink(*batch))
            batch.clear()
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted


@contextmanager
def _redis_container() -> Iterator[str]:
    from testcontainers.community.redis import (  # noqa: PLC0415 - only when no local server answers
        RedisContainer,
    )

    with RedisContainer(REDIS_IMAGE) as container:
        yield f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a Redis that answers (configured, local or a container)."""
    base = os.environ.get(REDIS_URL_ENV) or DEFAULT_REDIS_URL
    hint = f"set {REDIS_URL_ENV} to a redis:// URL or start Redis on 127.0.0.1:6379"
    with external_server("redis", base, probe_redis, _redis_container, hint) as url:
        yield url


@pytest.fixture(scope="session")
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this session's own (``agentgov_t_<random>:``); its keys are deleted afterwards."""
    prefix = f"agentgov_t_{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        delete_prefixed(client, prefix)
    finally:
        client.close()
