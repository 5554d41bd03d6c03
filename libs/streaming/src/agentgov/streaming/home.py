"""The agentgov data directory and how commands find the running server.

Everything one installation keeps lives under one directory (``$AGENTGOV_HOME``, default ``~/.agentgov``):
``nats/`` (the embedded server's config, store and log), ``keys/`` (Ed25519 keys, 0600), ``secrets/`` (NATS
user passwords, 0600), ``audit.db`` (the SQLite read model) and ``run/nats.json`` (written by
``agentgov up`` so other commands find the server without flags).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec

from agentgov.streaming.errors import NotConfiguredError


class Runtime(msgspec.Struct, frozen=True, kw_only=True):
    """How to reach a NATS server and as whom."""

    url: str
    user: str | None = None
    password: str | None = None
    inbox_prefix: str | None = None
    """Reply-inbox prefix the user's permissions require (agents and human roles have private inboxes)."""
    pid: int | None = None


def home() -> Path:
    """The data directory."""
    return Path(os.environ.get("AGENTGOV_HOME") or Path.home() / ".agentgov").expanduser()


def runtime_path(base: Path | None = None) -> Path:
    """Where ``agentgov up`` records the running server."""
    return (base or home()) / "run" / "nats.json"


def write_runtime(rt: Runtime, base: Path | None = None) -> Path:
    """Record the running server (mode 0600: it holds the admin password)."""
    path = runtime_path(base)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(msgspec.json.encode(rt))
    tmp.replace(path)
    return path


def clear_runtime(base: Path | None = None) -> None:
    """Forget the running server (on a clean stop)."""
    runtime_path(base).unlink(missing_ok=True)


def resolve(url: str | None = None, user: str | None = None, password: str | None = None) -> Runtime:
    """Where to connect: explicit arguments, then ``AGENTGOV_NATS_*`` variables, then ``agentgov up``'s record."""
    url = url or os.environ.get("AGENTGOV_NATS_URL")
    user = user or os.environ.get("AGENTGOV_NATS_USER")
    password = password or os.environ.get("AGENTGOV_NATS_PASSWORD")
    if url:
        return Runtime(url=url, user=user, password=password)
    path = runtime_path()
    try:
        rt = msgspec.json.decode(path.read_bytes(), type=Runtime)
    except FileNotFoundError:
        raise NotConfiguredError(
            "no NATS server: start one with `agentgov up` (or `make up`), or pass --nats-url / set AGENTGOV_NATS_URL"
        ) from None
    except (msgspec.DecodeError, json.JSONDecodeError) as exc:
        raise NotConfiguredError(f"{path} is unreadable ({exc}); restart `agentgov up`") from None
    return Runtime(url=rt.url, user=user or rt.user, password=password or rt.password, pid=rt.pid)
