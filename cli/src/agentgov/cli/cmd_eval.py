"""``agentgov eval FILE...``: run labelled corpora through the policy offline and report per source and category."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentgov.cli.output import Progress, error, table

if TYPE_CHECKING:
    from agentgov.policy.corpus import SpanTally, Summary, Tally
    from agentgov.policy.lang import CompiledBundle

EVAL_HELP = """\
Evaluate every record of labelled JSONL files (gzipped or not; {"id", "command" | "text", "label",
"category"}, the first segment of "id" naming the source) with the policy's own evaluation code, offline.
A record is detected when its verdict is anything but allow. Prints, per source and per category, the
records, verdict counts, detection and deny rates on positives (attack, secret, pii), precision where a
source holds both labels, and the flag and deny rates on benign records; records with labelled "spans"
are also scored span by span per entity type (precision, recall, F1); then p50/p99 time per record.
Rows marked label_conflict are counted apart. --records writes one line per record: id, verdict, risk,
findings (category, kind, severity, field, byte span) and the risk's parts.

The default bundle allows unless a detector raises the risk (review at 60, deny at 90) or finds a secret
or personal data (redact); --bundle measures another.
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``eval``."""
    p = sub.add_parser(
        "eval",
        help="measure detection on labelled corpora, offline",
        description=EVAL_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--bundle", type=Path, help="policy bundle to evaluate with (default: the detectors decide)")
    p.add_argument("--records", type=Path, metavar="OUT.jsonl", help="also write one result line per record")
    p.add_argument("--json", action="store_true", help="the summary as one JSON object")
    p.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also write the tables as Markdown (docs/detection.md)"
    )
    p.set_defaults(handler=eval_cmd)


def eval_cmd(args: argparse.Namespace) -> int:
    """Run the files and print the tables."""
    from agentgov.policy.corpus import CorpusError, read_records, run
    from agentgov.policy.lang import BundleInvalid

    try:
        bundle = _bundle(args.bundle)
    except (BundleInvalid, OSError) as exc:
        error(str(exc))
        return 1
    out: list[dict[str, Any]] | None = [] if args.records else None
    progress = Progress("evaluating")
    done = 0

    def records() -> Any:
        nonlocal done
        for path in args.files:
            for record in read_records(path):
                done += 1
                progress(done)
                yield record

    try:
        summary = run(records(), bundle, out=out)
    except (CorpusError, OSError) as exc:
        progress.done()
        error(str(exc))
        return 1
    progress.done()
    if args.records and out is not None:
        with args.records.open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(line) + "\n" for line in out)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(summary, [str(f) for f in args.files], args.bundle), encoding="utf-8")
    if args.json:
        print(json.dumps(_as_json(summary)))
        return 0
    _print(summary)
    return 0


def markdown(summary: Summary, files: list[str], bundle: Path | None) -> str:
    """The tables as a Markdown document (what ``make eval`` writes to docs/detection.md)."""

    def md(groups: dict[str, Tally]) -> list[str]:
        lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in _rows(groups)]
        return lines

    out = [
        "# Detection, measured",
        "",
        "Written by `agentgov eval --markdown` (`make eval`): every record of the labelled corpora through the",
        "policy's own evaluation, offline. *Detected* = any verdict but allow, on records labelled attack,",
        "secret or pii; *benign flagged / review/deny / denied* = verdict not allow / review or deny / deny on",
        "the other records (a redaction of personal data in a benign text counts as flagged, not as stopped).",
        "Targets, the gaps and their reasons: `docs/detection-targets.md`.",
        "",
        f"Files: {', '.join(f'`{f}`' for f in files)}. Bundle: {f'`{bundle}`' if bundle else 'the eval default'}.",
        "",
        "## By source",
        "",
        *md(summary.by_source),
        "",
        "## By category",
        "",
        *md(summary.by_category),
        "",
    ]
    if summary.spans:
        out += ["## Personal data, span by span", ""]
        out += ["| " + " | ".join(SPAN_HEADERS) + " |", "|" + "---|" * len(SPAN_HEADERS)]
        out += ["| " + " | ".join(str(c) for c in row) + " |" for row in _span_rows(summary.spans)]
        out += [""]
    if summary.micros:
        q = statistics.quantiles(summary.micros, n=100) if len(summary.micros) > 1 else summary.micros * 99
        out += [f"Time per record: p50 {q[49]:.0f} µs, p99 {q[98]:.0f} µs over {len(summary.micros)} records.", ""]
    return "\n".join(out)


def _bundle(path: Path | None) -> CompiledBundle:
    from agentgov.policy.corpus import DEFAULT_BUNDLE
    from agentgov.policy.lang import compile_bundle, load_bundle

    if path is None:
        return compile_bundle(load_bundle(DEFAULT_BUNDLE, "<eval default>"))
    return compile_bundle(load_bundle(path.read_text(encoding="utf-8"), str(path)))


def _rate(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "-"


def _rows(groups: dict[str, Tally]) -> list[list[object]]:
    return [
        [
            name,
            t.records,
            t.verdicts["allow"],
            t.verdicts["review"],
            t.verdicts["redact"],
            t.verdicts["deny"],
            _rate(t.detected_positive, t.positives),
            _rate(t.denied_positive, t.positives),
            _rate(t.detected_positive, t.detected_positive + t.flagged_negative)
            if t.positives and t.negatives
            else "-",
            _rate(t.flagged_negative, t.negatives),
            _rate(t.stopped_negative, t.negatives),
            _rate(t.denied_negative, t.negatives),
        ]
        for name, t in sorted(groups.items())
    ]


HEADERS = [
    "group",
    "records",
    "allow",
    "review",
    "redact",
    "deny",
    "detected",
    "attacks denied",
    "precision",
    "benign flagged",
    "benign review/deny",
    "benign denied",
]
SPAN_HEADERS = ["entity", "labelled", "found", "findings", "right", "recall", "precision", "F1"]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _span_rows(spans: dict[str, SpanTally]) -> list[list[object]]:
    return [
        [name, t.labelled, t.found, t.predicted, t.right, _pct(t.recall), _pct(t.precision), _pct(t.f1)]
        for name, t in sorted(spans.items())
    ]


def _print(summary: Summary) -> None:
    print("by source")
    table(HEADERS, _rows(summary.by_source))
    print("\nby category")
    table(HEADERS, _rows(summary.by_category))
    if summary.spans:
        print("\npersonal data, span by span")
        table(SPAN_HEADERS, _span_rows(summary.spans))
    if summary.conflicts.records:
        print(f"\nlabel_conflict rows (counted apart): {summary.conflicts.records}")
    if summary.micros:
        q = statistics.quantiles(summary.micros, n=100) if len(summary.micros) > 1 else summary.micros * 99
        print(f"\ntime per record: p50 {q[49]:.0f} µs, p99 {q[98]:.0f} µs ({len(summary.micros)} records)")
    sys.stdout.flush()


def _as_json(summary: Summary) -> dict[str, Any]:
    def tally(t: Tally) -> dict[str, Any]:
        return {
            "records": t.records,
            "verdicts": dict(t.verdicts),
            "positives": t.positives,
            "detected_positive": t.detected_positive,
            "denied_positive": t.denied_positive,
            "negatives": t.negatives,
            "flagged_negative": t.flagged_negative,
            "stopped_negative": t.stopped_negative,
            "denied_negative": t.denied_negative,
        }

    return {
        "by_source": {k: tally(v) for k, v in summary.by_source.items()},
        "by_category": {k: tally(v) for k, v in summary.by_category.items()},
        "conflicts": tally(summary.conflicts),
        "spans": {
            k: {"labelled": t.labelled, "found": t.found, "predicted": t.predicted, "right": t.right}
            for k, t in summary.spans.items()
        },
    }
