"""NATS users, their subject permissions, and the nats-server config file (DESIGN.md §7).

Every connection authenticates as one user, and each user's permissions follow its role:

* ``admin`` may do everything; ``agentgov up`` and the CLI use it to create streams.
* service roles (:data:`SERVICE_PUBLISH`) use the JetStream API, read ``gov.>`` and publish only the
  subjects they produce, plus ``gov.registry.*`` for their producer key.
* ``operator`` publishes policy, registrations and agent pauses (``gov.anomaly.*``) and may read JetStream,
  never change or delete it.
* ``approver`` publishes approval decisions only.
* neither human role may write a service's refusals (``gov.<service>._rejected``).
* an agent ``agent-<id>`` may publish only ``gov.check.<id>`` and ``gov.usage.<id>`` (requests; agents never
  write to the stream themselves, so they can neither price their own spend nor forge events) and receive only
  below its own inbox prefix ``_INBOX_<id>``, so it sees its replies and nothing else.

Clients that receive replies below a private prefix (agents, operators, approvers) must connect with that
``inbox_prefix``; :meth:`Credential.connect_options` carries it. Role inboxes start ``_ROLE_INBOX_``, a
prefix no agent inbox can take, since agent inboxes all start ``_INBOX_``.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import msgspec
from nats.aio.client import Client as NATS

from agentgov.contracts import subjects
from agentgov.contracts.ids import check_token
from agentgov.streaming.connect import open_client

ADMIN: Final = "admin"
OPERATOR: Final = "operator"
APPROVER: Final = "approver"
AGENT_USER_PREFIX: Final = "agent-"

#: JetStream API subjects every service publishes to (requests, acks, flow control, KV puts).
JS_CLIENT: Final[tuple[str, ...]] = ("$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$KV.>")

#: What each service role publishes besides :data:`JS_CLIENT`; every service may register its key.
SERVICE_PUBLISH: Final[Mapping[str, tuple[str, ...]]] = {
    "audit": ("gov.audit.>", "gov.registry.*"),
    "policy": ("gov.decision.*", "gov.registry.*"),
    "budget": ("gov.budget.*", "gov.spend.*", "gov.registry.*"),
    "approval": ("gov.approval.*", "gov.registry.*"),
    "anomaly": ("gov.anomaly.*", "gov.registry.*"),
    "collector": ("gov.observe.>", "gov.spend.*", "gov.registry.*"),
}

#: Services that answer core requests: policy (the Decision reply to ``gov.check.<agent>``) and budget (the
#: SpendReceipt reply to ``gov.usage.<agent>``); ``allow_responses`` lets them publish to the requester's
#: private inbox, once per request.
RESPONDERS: Final[frozenset[str]] = frozenset({"policy", "budget"})

#: JetStream API calls that read: account and stream info, message gets, and the ephemeral consumers
#: that reading a stream needs. Nothing here creates, changes, purges or deletes a stream, a message or
#: a consumer (ephemeral consumers go away by themselves once unused).
JS_READ: Final[tuple[str, ...]] = (
    "$JS.API.INFO",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.DIRECT.GET.>",
    "$JS.API.CONSUMER.CREATE.*",
    "$JS.API.CONSUMER.CREATE.*.>",
    "$JS.API.CONSUMER.INFO.*.*",
    "$JS.API.CONSUMER.NAMES.*",
    "$JS.API.CONSUMER.LIST.*",
    "$JS.API.CONSUMER.MSG.NEXT.*.*",
    "$JS.ACK.>",
    "$JS.FC.>",
)

ROLES: Final[tuple[str, ...]] = (ADMIN, *SERVICE_PUBLISH, OPERATOR, APPROVER)

#: Where services record the events they refused (EventRejected); inside subjects people may write
#: (``gov.anomaly.*`` for pauses, ``gov.approval.*`` for resolutions), so denied to them explicitly.
SERVICE_DIAGNOSTICS: Final[tuple[str, ...]] = tuple(subjects.rejected(s) for s in subjects.REJECTING_SERVICES)


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    """One NATS user: name, password, and the reply-inbox prefix its connections must use (if any)."""

    user: str
    password: str
    inbox_prefix: str | None = None

    def __repr__(self) -> str:
        return f"Credential(user={self.user!r}, password='***', inbox_prefix={self.inbox_prefix!r})"

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`nats.connect` that log in as this user."""
        options: dict[str, Any] = {"user": self.user, "password": self.password}
        if self.inbox_prefix is not None:
            options["inbox_prefix"] = self.inbox_prefix
        return options


def role_inbox_prefix(role: str) -> str:
    """The private reply-inbox prefix of a human role (operator, approver)."""
    return f"_ROLE_INBOX_{role}"


def agent_user(agent: str) -> str:
    """The NATS user name of an agent."""
    return AGENT_USER_PREFIX + check_token("agent", agent)


class _UsersFile(msgspec.Struct, kw_only=True):
    """On-disk form: passwords only; user names and permissions are derived from the role or agent id."""

    version: int = 1
    roles: dict[str, str] = msgspec.field(default_factory=dict)
    agents: dict[str, str] = msgspec.field(default_factory=dict)


def _new_password() -> str:
    """32 random bytes, URL-safe; never starting with ``-``, which a command line would read as an option."""
    return "p" + secrets.token_urlsafe(32)


class NatsUsers:
    """Every role's and agent's credentials; optionally backed by a 0600 JSON file."""

    def __init__(
        self,
        roles: Mapping[str, str] | None = None,
        agents: Mapping[str, str] | None = None,
        *,
        path: Path | None = None,
    ) -> None:
        """Build from role → password and agent id → password; missing roles get fresh passwords."""
        self.path = path
        self._roles = {role: (roles or {}).get(role) or _new_password() for role in ROLES}
        self._agents = {check_token("agent", a): pw for a, pw in (agents or {}).items()}

    @classmethod
    def generate(cls, agents: Iterable[str] = ("demo",)) -> NatsUsers:
        """Fresh random passwords for every role and the given agents, kept in memory only."""
        return cls(agents={check_token("agent", a): _new_password() for a in agents})

    @classmethod
    def load_or_create(cls, path: Path, agents: Iterable[str] = ("demo",)) -> NatsUsers:
        """Load the users file at ``path``, creating it (mode 0600) with random passwords on first run.

        Agents in ``agents`` that the file lacks are added, as are roles a newer build introduced.
        """
        if path.exists():
            if path.stat().st_mode & 0o077:
                os.chmod(path, 0o600)  # it holds passwords: never readable by group or others
            stored = msgspec.json.decode(path.read_bytes(), type=_UsersFile)
            users = cls(stored.roles, stored.agents, path=path)
            changed = set(stored.roles) != set(ROLES)
        else:
            users = cls(path=path)
            changed = True
        for agent in agents:
            if not users.has_agent(agent):
                users._agents[check_token("agent", agent)] = _new_password()
                changed = True
        if changed:
            users.save()
        return users

    def save(self, path: Path | None = None) -> None:
        """Write the users file with mode 0600 (its directory 0700); atomic replace."""
        target = path or self.path
        if target is None:
            raise ValueError("NatsUsers has no file; pass a path")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = msgspec.json.format(
            msgspec.json.encode(_UsersFile(roles=dict(self._roles), agents=dict(self._agents))), indent=2
        )
        tmp = target.with_name(target.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        self.path = target

    def role(self, role: str) -> Credential:
        """The credential of a role (``admin``, a service role, ``operator``, ``approver``)."""
        if role not in self._roles:
            raise KeyError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        prefix = role_inbox_prefix(role) if role in (OPERATOR, APPROVER) else None
        return Credential(user=role, password=self._roles[role], inbox_prefix=prefix)

    @property
    def admin(self) -> Credential:
        """The admin credential."""
        return self.role(ADMIN)

    def agent(self, agent: str) -> Credential:
        """The credential of an agent; its connections must use its private inbox prefix."""
        password = self._agents.get(check_token("agent", agent))
        if password is None:
            raise KeyError(f"no NATS user for agent {agent!r}; add it with add_agent()")
        return Credential(user=agent_user(agent), password=password, inbox_prefix=subjects.inbox_prefix(agent))

    def has_agent(self, agent: str) -> bool:
        """True when the agent has a NATS user."""
        return agent in self._agents

    @property
    def agents(self) -> tuple[str, ...]:
        """The agent ids with a NATS user, sorted."""
        return tuple(sorted(self._agents))

    def add_agent(self, agent: str) -> Credential:
        """Give an agent a NATS user (idempotent); saves the file if there is one.

        The running server learns about it only when its config is re-rendered and reloaded.
        """
        agent = check_token("agent", agent)
        if agent not in self._agents:
            self._agents[agent] = _new_password()
            if self.path is not None:
                self.save()
        return self.agent(agent)


def role_permissions(role: str) -> dict[str, Any] | None:
    """The nats-server ``permissions`` block of a role; None means unrestricted (admin)."""
    if role == ADMIN:
        return None
    if role in SERVICE_PUBLISH:
        perms: dict[str, Any] = {
            "publish": {"allow": [*JS_CLIENT, *SERVICE_PUBLISH[role]]},
            "subscribe": {"allow": ["_INBOX.>", "gov.>"]},
        }
        if role in RESPONDERS:
            perms["allow_responses"] = True
        # Requests carry agent tokens: only the service that answers them may see them.
        deny = [s for s, owner in (("gov.check.>", "policy"), ("gov.usage.>", "budget")) if owner != role]
        if deny:
            perms["subscribe"]["deny"] = deny
        return perms
    inbox = role_inbox_prefix(role) + ".>"
    if role == OPERATOR:
        return {
            "publish": {
                "allow": [
                    subjects.POLICY,
                    "gov.registry.*",
                    "gov.anomaly.*",
                    "gov.budget.pricing",
                    "gov.budget.limits",
                    *JS_READ,
                ],
                "deny": list(SERVICE_DIAGNOSTICS),
            },
            "subscribe": {"allow": [inbox]},
        }
    if role == APPROVER:
        return {
            "publish": {"allow": ["gov.approval.*"], "deny": list(SERVICE_DIAGNOSTICS)},
            "subscribe": {"allow": [inbox]},
        }
    raise KeyError(f"unknown role {role!r}")


def agent_permissions(agent: str) -> dict[str, Any]:
    """The ``permissions`` block of an agent: its own check and spend subjects and its own inbox only."""
    return {
        "publish": {"allow": [subjects.check(agent), subjects.usage(agent)]},
        "subscribe": {"allow": [subjects.inbox_prefix(agent) + ".>"]},
    }


def _q(value: str) -> str:
    """A double-quoted config string; the config parser reads JSON's ``\\"`` and ``\\\\`` escapes."""
    return json.dumps(value, ensure_ascii=False)


def _render_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _q(value)
    if isinstance(value, list):
        return "[" + ", ".join(_render_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k}: {_render_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot render {type(value).__name__} in a nats-server config")


def _user_entry(cred: Credential, permissions: dict[str, Any] | None) -> str:
    entry: dict[str, Any] = {"user": cred.user, "password": cred.password}
    if permissions is not None:
        entry["permissions"] = permissions
    return "    " + _render_value(entry)


def render_config(
    *,
    host: str,
    port: int,
    store_dir: Path,
    users: NatsUsers | None,
    max_payload: int,
    server_name: str | None = None,
) -> str:
    """A nats-server config: listen address, JetStream file store, max payload, users and permissions.

    nats-server keeps its JetStream files in ``<store_dir>/jetstream/``.

    ``users=None`` renders no authorization block: anyone who can reach the port may do anything. Only
    throwaway test servers bound to loopback should run that way.
    """
    lines = [
        "# agentgov embedded nats-server, generated; edits are overwritten on the next start.",
        f"host: {_q(host)}",
        f"port: {port}",
        f"max_payload: {max_payload}",
    ]
    if server_name is not None:
        lines.append(f"server_name: {_q(server_name)}")
    lines += ["jetstream {", f"  store_dir: {_q(str(store_dir))}", "}"]
    if users is not None:
        # Passwords are in plain text (nats-server warns "Plaintext passwords detected"); the file is
        # written 0600 in a directory only its owner reads, like the users file it is rendered from.
        entries = [_user_entry(users.role(role), role_permissions(role)) for role in ROLES]
        entries += [_user_entry(users.agent(a), agent_permissions(a)) for a in users.agents]
        lines += ["authorization {", "  users = [", *entries, "  ]", "}"]
    return "\n".join(lines) + "\n"


async def connect(url: str, credential: Credential | None = None, **options: Any) -> NATS:
    """Connect to ``url`` with nats-py as ``credential`` (anonymous when None); ``options`` go to connect."""
    if credential is not None:
        options = {**credential.connect_options(), **options}
    return await open_client(servers=[url], **options)
