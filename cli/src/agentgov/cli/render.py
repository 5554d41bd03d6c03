"""Rendering reports, events and read-model rows for people (tables) and for scripts (JSON)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import msgspec

from agentgov.audit.bundle import Selection
from agentgov.audit.store import EventRow
from agentgov.audit.verify import Report
from agentgov.cli.output import table
from agentgov.cli.timeparse import format_ns
from agentgov.contracts import codec
from agentgov.contracts.errors import ContractError
from agentgov.streaming.reader import StoredMsg

_json = msgspec.json.Encoder()


def report(r: Report, *, as_json: bool, source: str) -> None:
    """Print a verification report; the first bad sequence leads when there is one."""
    if as_json:
        first = r.first_bad
        sys.stdout.write(
            _json.encode(
                {
                    "ok": r.ok,
                    "source": source,
                    "messages": r.messages,
                    "events": r.events,
                    "producers": r.producers,
                    "checkpoints": r.checkpoints,
                    "sealed_upto": r.sealed_upto,
                    "malformed": sorted(r.malformed),
                    "first_bad_seq": first.stream_seq if first else None,
                    "first_bad_reason": first.reason if first else None,
                    "problems": [
                        {"seq": p.stream_seq, "reason": p.reason, "detail": p.detail, "producer": p.producer}
                        for p in r.problems
                    ],
                    "checkpoint_problems": [
                        {"checkpoint": c.number, "detail": c.detail} for c in r.checkpoint_problems
                    ],
                    "signer_keys": sorted(r.signer_keys),
                    "trusted_keys": sorted(r.trusted) if r.trusted is not None else None,
                }
            ).decode()
            + "\n"
        )
        return
    out = sys.stdout
    print(f"source:       {source}", file=out)
    print(f"messages:     {r.messages:,} ({r.events:,} events from {r.producers} producers)", file=out)
    print(f"checkpoints:  {r.checkpoints} (sealed through stream sequence {r.sealed_upto})", file=out)
    if r.malformed:
        undiagnosed = [s for s in r.malformed if s not in r.diagnosed]
        print(
            f"malformed:    {len(r.malformed)} message(s) that are not events, kept and hashed "
            f"(stream seq {', '.join(map(str, sorted(r.malformed)[:5]))}{' …' if len(r.malformed) > 5 else ''})"
            + (f"; {len(undiagnosed)} not yet diagnosed by the audit service" if undiagnosed else ""),
            file=out,
        )
    if r.signer_keys:
        pinned = "pinned with --trust" if r.trusted is not None else "NOT pinned: pass --trust <key id> to require it"
        print(f"sealed by:    audit key {', '.join(sorted(r.signer_keys))} ({pinned})", file=out)
    if r.ok:
        print("result:       OK: every chain, signature and checkpoint verifies", file=out)
        return
    first = r.first_bad
    if first is not None:
        print(
            f"result:       FAILED at stream sequence {first.stream_seq}: {first.reason}: {first.detail}",
            file=out,
        )
    else:
        print("result:       FAILED (checkpoint stream)", file=out)
    for p in r.problems[:20]:
        print(f"  seq {p.stream_seq}: {p.reason}: {p.detail}", file=out)
    if len(r.problems) > 20:
        print(f"  … {len(r.problems) - 20} more", file=out)
    for c in r.checkpoint_problems[:20]:
        print(f"  checkpoint {c.number} (checkpoint stream seq {c.stream_seq}): {c.detail}", file=out)


class EventPrinter:
    """Prints stored messages as events, filtered, as a table or JSON lines."""

    def __init__(self, fmt: str, *, type_filter: str | None, selection: Selection, limit: int | None) -> None:
        self.fmt = fmt
        self.type_filter = type_filter
        self.selection = selection
        self.limit = limit
        self.count = 0
        self.rows: list[list[object]] = []

    def feed(self, m: StoredMsg) -> bool:
        """Print one message if it passes the filters; False once the limit is reached."""
        try:
            body, _ = codec.split(m.data)
            env = codec.decode_envelope(body)
        except ContractError as exc:
            if self.type_filter or not self.selection.complete or not self.selection.keeps(m.ts, None, None):
                return True
            self._emit(m, None, None, f"(malformed: {exc})")
            return self._more()
        if self.type_filter and env.type != self.type_filter:
            return True
        if not self.selection.keeps(env.ts, env.agent, env.team):
            return True
        self._emit(m, env, body, None)
        return self._more()

    def _more(self) -> bool:
        self.count += 1
        return self.limit is None or self.count < self.limit

    def _emit(self, m: StoredMsg, env: Any, body: bytes | None, note: str | None) -> None:
        if self.fmt == "jsonl":
            head = _json.encode({"seq": m.seq, "subject": m.subject})[:-1]
            tail = b',"event":' + body + b"}" if body is not None else b',"malformed":true}'
            sys.stdout.write((head + tail).decode() + "\n")
            return
        if env is None:
            self.rows.append([m.seq, format_ns(m.ts), "-", "-", "-", "-", note])
            return
        self.rows.append([m.seq, format_ns(env.ts), env.type, env.agent, env.team, env.verdict, _summary(body)])
        if len(self.rows) >= 200:
            self.finish()

    def finish(self) -> None:
        """Flush a pending table."""
        if self.rows:
            table(["seq", "time", "type", "agent", "team", "verdict", "summary"], self.rows)
            self.rows = []


def _summary(body: bytes | None) -> str:
    if body is None:
        return ""
    try:
        ev = codec.decode_event(body)
    except ContractError:
        return "(unknown type)"
    for name in ("action", "model", "reason", "producer", "merkle_root"):
        v = getattr(ev, name, None)
        if v is not None:
            if name == "action":
                return f"{v.kind} {v.tool or ''} {v.target or ''} {v.args or ''}".strip()
            return f"{name}={v}"
    return ""


def rows(cols: Sequence[str], data: Sequence[Sequence[Any]], fmt: str) -> None:
    """Print query rows."""
    if fmt == "jsonl":
        for r in data:
            sys.stdout.write(_json.encode(dict(zip(cols, r, strict=True))).decode() + "\n")
    else:
        table(list(cols), [list(r) for r in data])


def event_rows(data: Sequence[EventRow], fmt: str) -> None:
    """Print read-model event rows."""
    if fmt == "jsonl":
        for r in data:
            sys.stdout.write(_json.encode(r).decode() + "\n")
        return
    table(
        ["seq", "time", "type", "agent", "team", "verdict", "status", "trace"],
        [
            [
                r.stream_seq,
                format_ns(r.ts) if r.ts else "-",
                r.type,
                r.agent,
                r.team,
                r.verdict,
                r.status,
                r.trace_id,
            ]
            for r in data
        ],
    )
