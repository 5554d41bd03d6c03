"""Operator keys with roles and scopes (DESIGN.md §7: "signed by keys whose role permits it").

The trust file (``operators.json``; ``AGENTGOV_OPERATORS_FILE`` or ``$AGENTGOV_HOME/operators.json``) lists
the operator public keys the services accept, each with:

- ``roles``: ``policy`` (publish bundles), ``agents`` (register agents, issue and revoke tokens, pause and
  resume agents), ``approver`` (resolve approvals);
- ``scopes``: ``*`` (everything), ``org:<org>`` (that org and its teams), ``org:<org>/team:<team>``.

The file holds public keys only; each operator's private key stays with that operator. ``agentgov up``
creates the file on first run with the local operator key (``keys/operator.pem``) trusted for every role
and scope. Services read the file at start: adding an operator needs a restart of the services (written
down in the notes; endorsing operators with a root key on the stream is later work).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Final, Literal

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agentgov.contracts import crypto
from agentgov.contracts.errors import SignatureError
from agentgov.contracts.ids import check_token
from agentgov.identity.errors import TrustError

Role = Literal["policy", "agents", "approver"]
ROLES: Final[tuple[str, ...]] = ("policy", "agents", "approver")


class Scope(msgspec.Struct, frozen=True):
    """``*``, ``org:<org>`` or ``org:<org>/team:<team>``, parsed."""

    org: str | None = None
    team: str | None = None

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Parse a scope string; TrustError says what is wrong."""
        if text == "*":
            return cls()
        parts = text.split("/")
        try:
            if len(parts) in (1, 2) and parts[0].startswith("org:"):
                org = check_token("org", parts[0][4:])
                if len(parts) == 1:
                    return cls(org=org)
                if parts[1].startswith("team:"):
                    return cls(org=org, team=check_token("team", parts[1][5:]))
        except ValueError as exc:
            raise TrustError(f"bad scope {text!r}: {exc}") from None
        raise TrustError(f"bad scope {text!r}: use '*', 'org:<org>' or 'org:<org>/team:<team>'")

    def __str__(self) -> str:
        if self.org is None:
            return "*"
        return f"org:{self.org}" if self.team is None else f"org:{self.org}/team:{self.team}"

    def covers(self, org: str | None, team: str | None = None) -> bool:
        """True when this scope includes the given org (and team; ``None`` means the whole org)."""
        if self.org is None:
            return True
        if org != self.org:
            return False
        return self.team is None or team == self.team


class Operator(msgspec.Struct, frozen=True, kw_only=True):
    """One trusted operator key."""

    name: str
    public_key: str
    roles: list[str]
    scopes: list[str] = msgspec.field(default_factory=lambda: ["*"])

    @property
    def key_id(self) -> str:
        """The short id of the key (see :func:`agentgov.contracts.crypto.key_id`)."""
        return crypto.key_id(self.public_key)

    def allows(self, role: str, org: str | None, team: str | None = None) -> bool:
        """True when this operator has ``role`` over that org/team."""
        return role in self.roles and any(Scope.parse(s).covers(org, team) for s in self.scopes)


class _TrustFile(msgspec.Struct, kw_only=True):
    version: int = 1
    operators: list[Operator] = []


class TrustStore:
    """The operators a service trusts, by key id."""

    def __init__(self, operators: Iterable[Operator] = ()) -> None:
        self._by_id: dict[str, Operator] = {}
        self._keys: dict[str, Ed25519PublicKey] = {}
        for op in operators:
            self.add(op)

    def add(self, op: Operator) -> None:
        """Trust one more operator (validates its key, roles and scopes)."""
        try:
            key = crypto.load_public_key(op.public_key)
        except SignatureError as exc:
            raise TrustError(f"operator {op.name!r}: {exc}") from None
        for role in op.roles:
            if role not in ROLES:
                raise TrustError(f"operator {op.name!r}: unknown role {role!r}; roles are {', '.join(ROLES)}")
        for scope in op.scopes:
            Scope.parse(scope)
        self._by_id[op.key_id] = op
        self._keys[op.key_id] = key

    def get(self, key_id: str) -> Operator | None:
        """The operator with this key id, if trusted."""
        return self._by_id.get(key_id)

    def public_key(self, key_id: str) -> Ed25519PublicKey | None:
        """The loaded public key of a trusted operator."""
        return self._keys.get(key_id)

    @property
    def operators(self) -> tuple[Operator, ...]:
        """Every trusted operator."""
        return tuple(self._by_id.values())

    def authorize(self, key_id: str, role: str, org: str | None, team: str | None = None) -> Operator:
        """The operator if it may act as ``role`` over org/team; TrustError saying why not otherwise."""
        op = self._by_id.get(key_id)
        if op is None:
            raise TrustError(f"key {key_id} is not a trusted operator key")
        if not op.allows(role, org, team):
            where = "*" if org is None else str(Scope(org=org, team=team))
            raise TrustError(f"operator {op.name!r} ({key_id}) may not act as {role!r} on {where}")
        return op

    @classmethod
    def load(cls, path: Path) -> TrustStore:
        """Read a trust file; a missing file is an empty store, a broken one a TrustError naming it."""
        if not path.exists():
            return cls()
        try:
            data = msgspec.json.decode(path.read_bytes(), type=_TrustFile)
        except msgspec.DecodeError as exc:
            raise TrustError(f"{path}: {exc}") from None
        return cls(data.operators)

    def save(self, path: Path) -> None:
        """Write the trust file (public keys only; mode 0644, atomic replace)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        body = msgspec.json.format(msgspec.json.encode(_TrustFile(operators=list(self.operators))), indent=2)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(body + b"\n")
        os.replace(tmp, path)


def trust_file(home: Path) -> Path:
    """The trust file in use: ``AGENTGOV_OPERATORS_FILE`` or ``<home>/operators.json``."""
    env = os.environ.get("AGENTGOV_OPERATORS_FILE")
    return Path(env) if env else home / "operators.json"


def ensure_local_operator(key: Ed25519PrivateKey, path: Path, name: str = "local") -> Operator:
    """Make sure ``key`` is trusted in the file at ``path`` (with every role over ``*`` when newly added)."""
    store = TrustStore.load(path)
    pub = crypto.public_key_text(key)
    existing = store.get(crypto.key_id(pub))
    if existing is not None:
        return existing
    op = Operator(name=name, public_key=pub, roles=list(ROLES), scopes=["*"])
    store.add(op)
    store.save(path)
    return op
