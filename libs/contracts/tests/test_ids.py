"""Ids and subject builders reject anything that is not a subject-safe token."""

import re

import pytest

from agentgov.contracts import InvalidIdError, subjects
from agentgov.contracts.ids import check_token, uuid7


@pytest.mark.parametrize("bad", ["a.b", "a*", ">", "a b", "tab\there", "", "x" * 129, "-lead", "ü", "new\nline"])
def test_builders_reject_unsafe_ids(bad: str) -> None:
    """Every builder refuses '.', '*', '>', whitespace, empty and oversize ids with a reason."""
    for build in (subjects.check, subjects.decision, subjects.spend, subjects.approval, subjects.anomaly):
        with pytest.raises(InvalidIdError) as info:
            build(bad)
        assert info.value.value == bad and info.value.why


def test_reasons_name_the_offending_character() -> None:
    """The error says what is wrong, e.g. that '.' separates subject tokens."""
    with pytest.raises(InvalidIdError, match="separates subject tokens"):
        check_token("agent", "a.b")
    with pytest.raises(InvalidIdError, match="wildcard"):
        check_token("agent", "a>")
    with pytest.raises(InvalidIdError, match="whitespace"):
        check_token("agent", "a b")


def test_builders_compose_subjects() -> None:
    """Valid ids build the subjects of DESIGN.md section 2."""
    assert subjects.check("a1") == "gov.check.a1"
    assert subjects.decision("a-1_x") == "gov.decision.a-1_x"
    assert subjects.observe("ebpf", "a1") == "gov.observe.ebpf.a1"
    assert subjects.registry("audit-01") == "gov.registry.audit-01"
    with pytest.raises(InvalidIdError):
        subjects.observe("e.bpf", "a1")


def test_non_string_ids_are_rejected() -> None:
    """A number or None is not an id."""
    with pytest.raises(InvalidIdError, match="must be a string"):
        check_token("agent", 5)


def test_uuid7_is_version_7_and_monotonic() -> None:
    """uuid7() yields RFC 9562 version-7 ids that sort in creation order."""
    ids = [uuid7() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", i) for i in ids)
