"""The checked-in JSON Schemas match the event types."""

from pathlib import Path

from agentgov.contracts.schema import REQUEST_TYPES, event_schemas, render

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def test_checked_in_schemas_match_the_code() -> None:
    """Every event's generated schema equals its checked-in file, and no stale file remains (run `make schemas`)."""
    generated = event_schemas()
    on_disk = {p.name for p in SCHEMAS.glob("*.json")}
    assert on_disk == set(generated), "schemas/ differs from the event types: run `make schemas`"
    for name, schema in generated.items():
        assert (SCHEMAS / name).read_text() == render(schema), f"{name} drifted: run `make schemas`"


def test_every_schema_names_its_versioned_tag() -> None:
    """Each event schema file is named after a versioned tag like ActionDecided.v1; requests by their name."""
    requests = {f"{cls.__name__}.json" for cls in REQUEST_TYPES}
    for name in set(event_schemas()) - requests:
        stem = name.removesuffix(".json")
        assert "." in stem and stem.rsplit(".", 1)[1].startswith("v"), name
    assert requests <= set(event_schemas())
