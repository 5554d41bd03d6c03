"""Agent credentials: the JSON file ``agentgov agent register`` writes, and where the SDK looks for it.

The file (mode 0600) holds the agent's ids, its signed token and its NATS login::

    {"agent": "a1", "org": "acme", "team": "payments",
     "token": "<jwt>", "token_expires_at": 1790000000,
     "nats": {"url": "nats://127.0.0.1:4333", "user": "agent-a1", "password": "…", "inbox_prefix": "_INBOX_a1"}}

It lives at ``$AGENTGOV_HOME/agents/<agent>.json`` (``AGENTGOV_HOME`` defaults to ``~/.agentgov``).
:func:`from_env` finds it through ``AGENTGOV_AGENT_CREDENTIALS`` (a path) or ``AGENTGOV_AGENT`` (an id).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import msgspec

from agentgov.contracts.errors import InvalidIdError
from agentgov.contracts.ids import check_token
from agentgov.sdk.errors import ConfigurationError

log = logging.getLogger(__name__)

CREDENTIALS_ENV = "AGENTGOV_AGENT_CREDENTIALS"
AGENT_ENV = "AGENTGOV_AGENT"
HOME_ENV = "AGENTGOV_HOME"


class NatsLogin(msgspec.Struct, frozen=True, kw_only=True):
    """Where the agent's NATS server is and how the agent logs in to it."""

    url: str | None = None
    user: str | None = None
    password: str | None = None
    inbox_prefix: str | None = None
    """The only reply-inbox prefix the agent's NATS user may subscribe to (``_INBOX_<agent>``)."""

    def __repr__(self) -> str:
        shown = "'***'" if self.password else "None"
        return f"NatsLogin(url={self.url!r}, user={self.user!r}, password={shown}, inbox_prefix={self.inbox_prefix!r})"


class AgentCredentials(msgspec.Struct, frozen=True, kw_only=True):
    """One agent's credentials file."""

    agent: str
    token: str
    org: str | None = None
    team: str | None = None
    token_expires_at: int | None = None
    """Unix seconds after which the token is refused (``token_expired``)."""
    nats: NatsLogin = NatsLogin()

    def __repr__(self) -> str:
        return (
            f"AgentCredentials(agent={self.agent!r}, org={self.org!r}, team={self.team!r}, token='***', "
            f"token_expires_at={self.token_expires_at!r}, nats={self.nats!r})"
        )


_decoder = msgspec.json.Decoder(AgentCredentials)


def home() -> Path:
    """The agentgov data directory: ``$AGENTGOV_HOME``, default ``~/.agentgov``."""
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".agentgov").expanduser()


def default_path(agent: str) -> Path:
    """Where ``agentgov agent register`` writes an agent's credentials."""
    return home() / "agents" / f"{check_token('agent', agent)}.json"


def load(path: str | os.PathLike[str]) -> AgentCredentials:
    """Read and check a credentials file; :class:`ConfigurationError` saying what is wrong otherwise."""
    p = Path(path).expanduser()
    try:
        data = p.read_bytes()
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise ConfigurationError(
            f"no agent credentials at {p}: register the agent with `agentgov agent register <agent>`, "
            f"or point {CREDENTIALS_ENV} at its credentials file"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read agent credentials {p}: {exc.strerror or exc}") from None
    try:
        creds = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigurationError(f"agent credentials {p} are invalid: {exc}") from None
    try:
        check_token("agent", creds.agent)
    except InvalidIdError as exc:
        raise ConfigurationError(f"agent credentials {p}: {exc}") from None
    if not creds.token:
        raise ConfigurationError(f"agent credentials {p} hold no token; register the agent again")
    if mode & 0o077:
        log.warning("agent credentials %s are readable by others (mode %o); chmod 600 it", p, mode & 0o777)
    return creds


def path_from_env() -> Path | None:
    """The credentials file ``AGENTGOV_AGENT_CREDENTIALS`` or ``AGENTGOV_AGENT`` names, if either is set."""
    explicit = os.environ.get(CREDENTIALS_ENV)
    if explicit:
        return Path(explicit).expanduser()
    agent = os.environ.get(AGENT_ENV)
    if agent:
        try:
            return default_path(agent)
        except InvalidIdError as exc:
            raise ConfigurationError(f"{AGENT_ENV}: {exc}") from None
    return None
