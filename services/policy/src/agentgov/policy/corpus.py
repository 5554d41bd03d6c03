"""Running labelled corpora through the policy, offline (``agentgov eval``).

A record is one JSON object per line (gzipped or not): ``{"id", "command" | "text", "label", "category",
...}``; the first segment of ``id`` names its source. A ``command`` becomes a shell action, a ``text`` an
``other`` action carrying it in ``args.text``; each is evaluated by the same compiled bundle code the policy
service runs (no NATS, no registry: one synthetic agent), so what the detectors wired into evaluation see,
eval measures. A record counts as **detected** when its verdict is anything but allow.

Figures are kept per source and per category, never pooled (``../shared/corpora/README.md``). Records that
carry labelled ``spans`` (``{"entity_type", "start", "end"}``, character offsets) are also scored span by
span for the entity types the detectors claim (:data:`ENTITY_OF_KIND`): a labelled span is found when a
finding of the mapped kind overlaps it, a finding is right when it overlaps a labelled span of its type.
"""

from __future__ import annotations

import gzip
import io
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from agentgov.contracts.events import Action
from agentgov.policy.lang import AgentFacts, CompiledBundle, EvalInput, Evaluation
from agentgov.policy.lang.evaluate import evidence_kind

POSITIVE: Final = frozenset({"attack", "secret", "pii", "injection", "malicious"})
"""Labels that mean "should be caught"; every other label is a benign one."""

EVAL_AGENT: Final = AgentFacts(id="eval", org="eval", team="eval", trust=50)
EVAL_NOW_NS: Final = 1_790_000_000 * 1_000_000_000
"""A fixed time (a Tuesday, 14:13 UTC) so schedule sections give the same answer on every run."""


class CorpusError(ValueError):
    """A file or line that is not a corpus record, with where."""


@dataclass(frozen=True, slots=True)
class Record:
    """One labelled input."""

    id: str
    source: str
    label: str
    category: str
    command: str | None
    text: str | None
    conflict: bool = False
    spans: tuple[tuple[str, int, int], ...] = ()
    """Labelled (entity type, start, end) character spans, when the record has them."""

    @property
    def positive(self) -> bool:
        """True when the label says this should be caught."""
        return self.label in POSITIVE


def read_records(path: Path) -> Iterator[Record]:
    """The records of a JSONL file (``.gz`` read transparently); CorpusError names the bad line."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    for n, line in enumerate(io.BytesIO(raw), 1):
        if not line.strip():
            continue
        try:
            obj: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path}:{n}: not JSON: {exc}") from None
        rid, command, text = obj.get("id"), obj.get("command"), obj.get("text")
        if not isinstance(rid, str) or not (isinstance(command, str) or isinstance(text, str)):
            raise CorpusError(f"{path}:{n}: a record needs a string 'id' and a string 'command' or 'text'")
        yield Record(
            id=rid,
            source=rid.split("/", 1)[0],
            label=str(obj.get("label", "")),
            category=str(obj.get("category", "")),
            command=command if isinstance(command, str) else None,
            text=text if isinstance(text, str) else None,
            conflict=bool(obj.get("label_conflict", False)),
            spans=_spans(obj.get("spans")),
        )


def _spans(raw: object) -> tuple[tuple[str, int, int], ...]:
    if not isinstance(raw, list):
        return ()
    out = []
    for span in raw:
        if isinstance(span, dict):
            kind, start, end = span.get("entity_type"), span.get("start"), span.get("end")
            if isinstance(kind, str) and isinstance(start, int) and isinstance(end, int):
                out.append((kind, start, end))
    return tuple(out)


def action_of(record: Record) -> Action:
    """The action a record stands for."""
    if record.command is not None:
        return Action(kind="shell", tool="shell", target=record.command)
    return Action(kind="other", args={"text": record.text or ""})


@dataclass
class Tally:
    """Verdicts and timings of one group (a source, or a category)."""

    records: int = 0
    positives: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    detected_positive: int = 0
    denied_positive: int = 0
    flagged_negative: int = 0
    stopped_negative: int = 0
    """Benign records reviewed or denied (flagged, not counting redactions)."""
    denied_negative: int = 0

    def add(self, record: Record, result: Evaluation) -> None:
        """Count one evaluated record."""
        self.records += 1
        self.verdicts[result.verdict] += 1
        detected = result.verdict != "allow"
        if record.positive:
            self.positives += 1
            self.detected_positive += detected
            self.denied_positive += result.verdict == "deny"
        else:
            self.flagged_negative += detected
            self.stopped_negative += result.verdict in ("review", "deny")
            self.denied_negative += result.verdict == "deny"

    @property
    def negatives(self) -> int:
        """Records labelled benign."""
        return self.records - self.positives


ENTITY_OF_KIND: Final = {
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "payment_card": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "ip_address": "IP_ADDRESS",
    "national_id": "US_SSN",
}
"""The labelled entity type each personal-data finding kind stands for (span scoring). ``national_id``
covers several schemes (its detail names which); the labelled corpora's national ids are US SSNs."""


@dataclass
class SpanTally:
    """Span matches of one entity type."""

    labelled: int = 0
    found: int = 0
    predicted: int = 0
    right: int = 0

    @property
    def recall(self) -> float | None:
        """Labelled spans found."""
        return self.found / self.labelled if self.labelled else None

    @property
    def precision(self) -> float | None:
        """Findings that overlap a labelled span of their type."""
        return self.right / self.predicted if self.predicted else None

    @property
    def f1(self) -> float | None:
        """Harmonic mean of the two."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p is not None and r is not None and p + r else None


@dataclass
class Summary:
    """Everything ``agentgov eval`` reports."""

    by_source: dict[str, Tally] = field(default_factory=dict)
    by_category: dict[str, Tally] = field(default_factory=dict)
    conflicts: Tally = field(default_factory=Tally)
    spans: dict[str, SpanTally] = field(default_factory=dict)
    micros: list[float] = field(default_factory=list)


def run(records: Iterable[Record], bundle: CompiledBundle, *, out: list[dict[str, Any]] | None = None) -> Summary:
    """Evaluate every record; with ``out``, also one result line per record."""
    summary = Summary()
    for record in records:
        started = time.perf_counter()
        result = bundle.evaluate(EvalInput(action=action_of(record), agent=EVAL_AGENT, now_ns=EVAL_NOW_NS))
        summary.micros.append((time.perf_counter() - started) * 1e6)
        if record.spans:
            _score_spans(record, result, summary.spans)
        if record.conflict:
            summary.conflicts.add(record, result)
        else:
            summary.by_source.setdefault(record.source, Tally()).add(record, result)
            summary.by_category.setdefault(record.category or "-", Tally()).add(record, result)
        if out is not None:
            out.append(
                {
                    "id": record.id,
                    "verdict": result.verdict,
                    "risk": result.risk,
                    "findings": [
                        {
                            "category": e.category,
                            "kind": evidence_kind(e),
                            "severity": e.severity,
                            "field": e.field,
                            "start": e.start,
                            "end": e.end,
                            "detail": e.detail,
                        }
                        for e in result.evidence
                    ],
                    "risk_parts": [{"name": p.name, "points": p.points} for p in result.risk_parts],
                }
            )
    return summary


def _score_spans(record: Record, result: Evaluation, spans: dict[str, SpanTally]) -> None:
    text = record.text or record.command or ""
    raw = text.encode()
    field_name = "args.text" if record.text is not None else "target"
    predicted: list[tuple[str, int, int]] = []
    for e in result.evidence:
        entity = ENTITY_OF_KIND.get(evidence_kind(e))
        if entity is None or e.field != field_name or e.start is None or e.end is None:
            continue
        c0 = len(raw[: e.start].decode(errors="ignore"))
        c1 = c0 + len(raw[e.start : e.end].decode(errors="ignore"))
        predicted.append((entity, c0, c1))
    scored = set(ENTITY_OF_KIND.values())
    for entity, start, end in record.spans:
        if entity not in scored:
            continue
        t = spans.setdefault(entity, SpanTally())
        t.labelled += 1
        t.found += any(k == entity and s < end and start < e for k, s, e in predicted)
    for entity, start, end in predicted:
        t = spans.setdefault(entity, SpanTally())
        t.predicted += 1
        t.right += any(k == entity and s < end and start < e for k, s, e in record.spans)


DEFAULT_BUNDLE: Final = """\
apiVersion: agentgov/v1
kind: PolicyBundle
metadata:
  name: eval-default
  scope: "*"
  description: "what agentgov eval measures unless --bundle names another: the detectors decide"
default: allow
risk:
  review_at: 60
  deny_at: 90
data:
  secrets: redact
  pii: redact
"""
"""The bundle ``agentgov eval`` uses by default: allow unless a detector's finding raises the risk (review
at 60, deny at 90) or a secret or personal data is found (redact)."""
