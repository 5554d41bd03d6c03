"""The bundle's ``anomaly:`` section: the policy language and the anomaly service read it the same way."""

from __future__ import annotations

import re
from pathlib import Path

from agentgov.anomaly import config
from agentgov.policy.lang import check_bundle, load_bundle
from agentgov.policy.lang.parse_anomaly import FLAGS, KEYS, PARTS, RISK_DEFAULTS

HEADER = 'apiVersion: agentgov/v1\nkind: PolicyBundle\nmetadata: {name: t, scope: "*"}\n'
DOC = (Path(__file__).parents[2] / "services" / "policy" / "docs" / "language.md").read_text()


def test_both_sides_know_the_same_keys() -> None:
    """Every key (and sub-key) the language accepts is one the anomaly service reads, and the other way round."""
    assert set(KEYS) == set(config.KEYS)
    for part, keys in PARTS.items():
        model = config.AnomalyConfig.model_fields[
            next(n for n, f in config.AnomalyConfig.model_fields.items() if (f.alias or n) == part)
        ].annotation
        assert isinstance(model, type)
        assert set(keys) == {f.alias or n for n, f in model.model_fields.items()}, part
    assert set(FLAGS) == {"enabled", "pause", "off_hours", "cooldown"}
    risk = config.DEFAULTS.cumulative_risk
    assert {"review_at": risk.review_at, "pause_at": risk.pause_at} == RISK_DEFAULTS


def test_the_documented_section_is_the_defaults() -> None:
    """The doc's example section validates in the language and equals the service's defaults."""
    block = re.search(r"## anomaly\n\n```yaml\n(.*?)```", DOC, re.S)
    assert block is not None
    bundle = load_bundle(HEADER + block.group(1))
    assert bundle.org.anomaly is not None and bundle.org.anomaly.values["loop.count"] == 30
    assert config.read_bundle(HEADER + block.group(1)).for_agent("a", None) == (config.DEFAULTS, "UTC")


def test_levels_and_diagnostics() -> None:
    """Team and agent levels accept the section; bad values get the language's codes, each at its line."""
    good = HEADER + "teams: {pay: {anomaly: {loop: {count: 5}}}}\nagents: {bot: {anomaly: {enabled: false}}}\n"
    assert [d for d in check_bundle(good) if d.is_error] == []
    bad = HEADER + "anomaly:\n  pause: 1\n  cooldown: soon\n  loop: {count: 1}\n  nope: 2\n"
    assert sorted((d.code, d.line) for d in check_bundle(bad)) == [
        ("AG101", 8),
        ("AG102", 5),
        ("AG109", 7),
        ("AG206", 6),
    ]
    for source in (good, HEADER + "anomaly: {cumulative_risk: {review_at: 500}}\n"):
        ok = not [d for d in check_bundle(source) if d.is_error]
        try:
            config.read_bundle(source)
            service_ok = True
        except config.ConfigError:
            service_ok = False
        assert ok == service_ok, source
