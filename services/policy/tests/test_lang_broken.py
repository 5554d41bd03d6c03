"""Every broken bundle in tests/broken is rejected with its stable code at its line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agentgov.policy.lang import CODES, BundleInvalid, check_bundle, load_bundle

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))
_EXPECT = re.compile(r"# expect: (AG\d{3}) line (\d+)")


def _expected(path: Path) -> tuple[str, int]:
    m = _EXPECT.match(path.read_text())
    assert m, f"{path.name} has no '# expect: AGnnn line N' header"
    return m.group(1), int(m.group(2))


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_bundle_reports_its_code_and_line(path: Path) -> None:
    """The expected diagnostic is among those reported, at the expected line; errors stop loading."""
    code, line = _expected(path)
    found = [(d.code, d.line) for d in check_bundle(path.read_text(), path.name)]
    assert (code, line) in found
    if CODES[code][1] == "error":
        with pytest.raises(BundleInvalid):
            load_bundle(path.read_text(), path.name)
    else:
        load_bundle(path.read_text(), path.name)


def test_every_code_has_a_broken_example() -> None:
    """Each code in the table is pinned by one broken bundle."""
    assert sorted(_expected(p)[0] for p in BROKEN) == sorted(CODES)
