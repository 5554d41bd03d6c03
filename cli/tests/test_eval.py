"""`agentgov eval`: labelled records through the policy's own evaluation, per source and category."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from agentgov.cli.main import main

RECORDS: list[dict[str, object]] = [
    {"id": "secrets/1", "text": "key AKIAIOSFODNN7EXAMPLE here", "label": "secret", "category": "secret/aws"},
    {"id": "secrets/2", "text": "nothing to see", "label": "not_secret", "category": "secret/aws"},
    {"id": "tldr/1", "command": "ls -la", "label": "benign", "category": "benign/tldr"},
    {"id": "tldr/2", "command": "ls", "label": "benign", "category": "benign/tldr", "label_conflict": True},
]


def test_eval_reports_per_source_and_writes_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A secret is caught (redact), benign records pass, conflicts are apart; --records has one line each."""
    corpus = tmp_path / "mini.jsonl.gz"
    corpus.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in RECORDS).encode()))
    out = tmp_path / "records.jsonl"
    doc = tmp_path / "detection.md"
    assert main(["eval", str(corpus), "--records", str(out), "--json", "--markdown", str(doc)]) == 0
    assert "| secrets | 2 |" in doc.read_text()
    summary = json.loads(capsys.readouterr().out)
    assert summary["by_source"]["secrets"]["detected_positive"] == 1
    assert summary["by_source"]["secrets"]["flagged_negative"] == 0
    assert summary["by_source"]["tldr"]["verdicts"] == {"allow": 1}
    assert summary["conflicts"]["records"] == 1
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == [r["id"] for r in RECORDS]
    assert lines[0]["verdict"] == "redact" and lines[0]["findings"][0]["category"] == "secret"


def test_eval_names_a_bad_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A line that is not a record is an error naming file and line."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(RECORDS[0]) + "\n{not json\n")
    assert main(["eval", str(bad)]) == 1
    assert f"{bad}:2: not JSON" in capsys.readouterr().err
