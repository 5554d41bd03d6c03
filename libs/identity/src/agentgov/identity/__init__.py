"""agentgov identity: who may publish policy and register agents, and how agents prove who they are.

- :mod:`agentgov.identity.operators`: operator keys, their roles (``policy``, ``agents``, ``approver``) and
  scopes (``*``, ``org:<org>``, ``org:<org>/team:<team>``), kept in a trust file the services read.
- :mod:`agentgov.identity.tokens`: short-lived agent tokens (JWT, EdDSA) issued by an operator key with the
  ``agents`` role, and their verification (signature, trust, scope, expiry), with a cache so a token is
  verified once, not on every request.
"""

from agentgov.identity.errors import IdentityError, TokenError, TrustError
from agentgov.identity.operators import Operator, Scope, TrustStore
from agentgov.identity.tokens import AgentClaims, TokenVerifier, issue_token

__all__ = [
    "AgentClaims",
    "IdentityError",
    "Operator",
    "Scope",
    "TokenError",
    "TokenVerifier",
    "TrustError",
    "TrustStore",
    "issue_token",
]
