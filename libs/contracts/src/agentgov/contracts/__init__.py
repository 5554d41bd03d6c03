"""agentgov contracts: the events, subjects, stream configs, canonical bytes, chain and signatures.

No I/O and no business rules live here (STYLE.md, convention 3). The public names are listed in
``__all__`` and pinned by ``tests/test_public_api.py``; modules are imported as ``agentgov.contracts.X``
for everything else.
"""

from agentgov.contracts import codec, crypto, merkle, subjects  # noqa: F401 - submodules used as contracts.X
from agentgov.contracts.codec import canonical, decode_envelope, decode_event, frame, split
from agentgov.contracts.envelope import GENESIS, Chain, EnvelopeView, Event
from agentgov.contracts.errors import (
    ContractError,
    DecodeError,
    InvalidIdError,
    PayloadTooLargeError,
    SignatureError,
    UnknownEventTypeError,
)
from agentgov.contracts.events import (
    Action,
    ActionDecided,
    AgentPaused,
    AgentRegistered,
    AgentResumed,
    AgentRetired,
    AgentTokenRevoked,
    ChainBroken,
    ChainHead,
    Checkpoint,
    EventRejected,
    Evidence,
    KnownEvent,
    MalformedEvent,
    MatchedRule,
    PolicyPublished,
    ProducerKeyRegistered,
    Redaction,
    RiskPart,
    SpendRecorded,
)
from agentgov.contracts.events_anomaly import AnomalyDetected
from agentgov.contracts.events_approval import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    ApprovalRequested,
    ApprovalSubject,
)
from agentgov.contracts.events_budget import (
    BudgetAlert,
    BudgetExceeded,
    BudgetLimitSet,
    BudgetReserved,
    BudgetReset,
    ModelPrice,
    PricingPublished,
    SpendRejected,
)
from agentgov.contracts.ids import check_token, uuid7
from agentgov.contracts.requests import CheckAction, Decision, RecordSpend, SpendReceipt

__all__ = [
    "GENESIS",
    "Action",
    "ActionDecided",
    "AgentPaused",
    "AgentRegistered",
    "AgentResumed",
    "AgentRetired",
    "AgentTokenRevoked",
    "AnomalyDetected",
    "ApprovalDenied",
    "ApprovalExpired",
    "ApprovalGranted",
    "ApprovalRequested",
    "ApprovalSubject",
    "BudgetAlert",
    "BudgetExceeded",
    "BudgetLimitSet",
    "BudgetReserved",
    "BudgetReset",
    "Chain",
    "ChainBroken",
    "ChainHead",
    "CheckAction",
    "Checkpoint",
    "ContractError",
    "Decision",
    "DecodeError",
    "EnvelopeView",
    "Event",
    "EventRejected",
    "Evidence",
    "InvalidIdError",
    "KnownEvent",
    "MalformedEvent",
    "MatchedRule",
    "ModelPrice",
    "PayloadTooLargeError",
    "PolicyPublished",
    "PricingPublished",
    "ProducerKeyRegistered",
    "RecordSpend",
    "Redaction",
    "RiskPart",
    "SignatureError",
    "SpendReceipt",
    "SpendRecorded",
    "SpendRejected",
    "UnknownEventTypeError",
    "canonical",
    "check_token",
    "decode_envelope",
    "decode_event",
    "frame",
    "split",
    "uuid7",
]
