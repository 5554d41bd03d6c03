"""The public names of agentgov.contracts are pinned."""

from agentgov import contracts


def test_public_api_is_pinned() -> None:
    """__all__ lists exactly the names we promise; change this test deliberately when it grows."""
    assert sorted(contracts.__all__) == sorted(
        [
            "GENESIS",
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
            "ModelPrice",
            "PricingPublished",
            "SpendRejected",
            "RecordSpend",
            "SpendReceipt",
            "Action",
            "ActionDecided",
            "AgentPaused",
            "AgentRegistered",
            "AgentResumed",
            "AgentRetired",
            "AgentTokenRevoked",
            "Chain",
            "ChainBroken",
            "ChainHead",
            "CheckAction",
            "Checkpoint",
            "ContractError",
            "DecodeError",
            "Decision",
            "EnvelopeView",
            "Event",
            "EventRejected",
            "Evidence",
            "InvalidIdError",
            "KnownEvent",
            "MalformedEvent",
            "MatchedRule",
            "PayloadTooLargeError",
            "PolicyPublished",
            "ProducerKeyRegistered",
            "Redaction",
            "RiskPart",
            "SignatureError",
            "SpendRecorded",
            "UnknownEventTypeError",
            "canonical",
            "check_token",
            "decode_envelope",
            "decode_event",
            "frame",
            "split",
            "uuid7",
        ]
    )
    for name in contracts.__all__:
        assert hasattr(contracts, name), name


def test_contracts_do_no_io() -> None:
    """agentgov.contracts imports no networking, database or file-system client modules."""
    import ast
    from pathlib import Path

    src = Path(contracts.__file__).parent
    banned = {"nats", "psycopg", "redis", "sqlite3", "socket", "asyncio", "subprocess"}
    for path in src.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            for n in names:
                assert n.split(".")[0] not in banned, f"{path.name} imports {n}"
