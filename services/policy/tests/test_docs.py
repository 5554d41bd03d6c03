"""docs/language.md stays true to the code: codes, the CEL context, and every bundle shown in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentgov.policy.lang import CODES, check_bundle
from agentgov.policy.lang.celexpr import VARIABLES

DOC = (Path(__file__).parents[1] / "docs" / "language.md").read_text()
YAML_BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC, re.S)


def test_every_code_is_documented_with_its_name_and_severity() -> None:
    """The diagnostics table lists each code with the same name and severity as the code table."""
    rows = dict(re.findall(r"^\| (AG\d{3}) \| ([a-z-]+) \| (?:error|warning) \|", DOC, re.M))
    assert rows == {code: name for code, (name, _, _) in CODES.items()}


def test_the_cel_context_table_lists_every_variable() -> None:
    """Each variable of the rule context has a row in the context table."""
    rows = set(re.findall(r"^\| `([a-z]+)` \|", DOC, re.M))
    assert set(VARIABLES) <= rows


@pytest.mark.parametrize("block", [b for b in YAML_BLOCKS if b.startswith("apiVersion:")])
def test_bundles_in_the_doc_are_valid(block: str) -> None:
    """A complete bundle shown in the doc loads without errors."""
    assert [str(d) for d in check_bundle(block) if d.is_error] == []


@pytest.mark.parametrize("block", [b for b in YAML_BLOCKS if not b.startswith(("apiVersion:", "bundle:"))])
def test_sections_in_the_doc_are_valid(block: str) -> None:
    """Each section example in the doc is valid inside a bundle."""
    header = 'apiVersion: agentgov/v1\nkind: PolicyBundle\nmetadata: {name: doc, scope: "*"}\n'
    assert [str(d) for d in check_bundle(header + block) if d.is_error] == []
