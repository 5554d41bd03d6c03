"""What operator commands share: the operator key, the trust file, and appending events as an operator.

The local operator key lives in ``$AGENTGOV_HOME/keys/operator.ed25519`` (created on first use, 0600) and
is added to the trust file (``operators.json``) with every role over ``*`` the first time. Policy replicas
read the trust file at start: one started before the key existed must be restarted to trust it.
Each command run is one producer chain (role ``operator``): its ProducerKeyRegistered, then its events.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client

from agentgov.contracts import crypto
from agentgov.identity.operators import Operator, ensure_local_operator, trust_file
from agentgov.streaming import home
from agentgov.streaming.connect import connect
from agentgov.streaming.home import Runtime
from agentgov.streaming.keys import load_or_create_key
from agentgov.streaming.producer import ChainedProducer


@dataclass(frozen=True, slots=True)
class OperatorIdentity:
    """The operator key this command signs with, and its trust entry."""

    key: Ed25519PrivateKey
    operator: Operator
    trust_path: Path

    @property
    def key_id(self) -> str:
        """Short id of the operator key."""
        return crypto.key_id(crypto.public_key_text(self.key))


def operator_key_path(base: Path | None = None) -> Path:
    """Where the local operator key is kept."""
    return (base or home.home()) / "keys" / "operator.ed25519"


def local_operator(base: Path | None = None) -> OperatorIdentity:
    """Load (or create) the local operator key and make sure the trust file lists it."""
    base = base or home.home()
    key = load_or_create_key(operator_key_path(base))
    path = trust_file(base)
    op = ensure_local_operator(key, path, name="local")
    return OperatorIdentity(key=key, operator=op, trust_path=path)


@contextlib.asynccontextmanager
async def operator_session(rt: Runtime, name: str) -> AsyncIterator[tuple[Client, ChainedProducer]]:
    """A connection and a registered operator producer chain, flushed and closed on exit."""
    nc = await connect(rt, name=name)
    try:
        js = nc.jetstream()
        producer = ChainedProducer(js, Ed25519PrivateKey.generate(), role="operator")
        await producer.register()
        yield nc, producer
        await producer.close()
    finally:
        await nc.close()
