"""JSON Schemas generated from the event types; checked in under ``libs/contracts/schemas/``.

``make schemas`` rewrites them; ``tests/test_schemas.py`` fails when the checked-in files drift.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from agentgov.contracts.events import EVENT_TYPES, tag_of
from agentgov.contracts.requests import CheckAction, Decision, RecordSpend, SpendReceipt

REQUEST_TYPES: tuple[type[msgspec.Struct], ...] = (CheckAction, Decision, RecordSpend, SpendReceipt)
"""The decision path's request and reply; their schemas are named ``<Name>.json`` (no version tag)."""


def event_schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema document per event tag and request type, keyed by file name (``ActionDecided.v1.json``)."""
    out: dict[str, dict[str, Any]] = {}
    names = [(cls, tag_of(cls)) for cls in EVENT_TYPES] + [(cls, cls.__name__) for cls in REQUEST_TYPES]
    for cls, name in names:
        schema = msgspec.json.schema(cls)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://agentgov.dev/schemas/{name}.json"
        out[f"{name}.json"] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    """The checked-in text of a schema: sorted keys, two-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m agentgov.contracts.schema DIR``: write every schema into DIR."""
    import sys  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "libs/contracts/schemas")
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in event_schemas().items():
        (out / name).write_text(render(schema))
    for stale in {p.name for p in out.glob("*.json")} - set(event_schemas()):
        (out / stale).unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
