"""Offline evidence bundles: events, the checkpoints that seal them, public keys and inclusion proofs.

A bundle is JSON Lines (gzip when the file name ends in ``.gz``). The first line is the header; then
``key`` lines (the producers' own signed registrations), ``checkpoint`` lines and ``event`` lines. Every
``data`` field is the exact stored message, base64; nothing is re-encoded, so every hash still holds.

An event inside a sealed range carries an RFC 6962 inclusion proof against its checkpoint's Merkle root,
so any single event can be checked on its own. A bundle exported without ``--agent``/``--team`` filters is
*complete*: it holds every message of its range, and verifying it also re-runs the chain and checkpoint
checks of a live stream (anchored at its first checkpoint).
"""

from __future__ import annotations

import base64
import bisect
import gzip
import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import msgspec

from agentgov.audit.domain import ChainVerifier, Problem
from agentgov.audit.verify import (
    Report,
    add_registered_key,
    check_signers,
    parse_checkpoints,
    verify_messages,
)
from agentgov.contracts import codec, merkle
from agentgov.contracts.errors import ContractError
from agentgov.contracts.events import Checkpoint
from agentgov.streaming.reader import StoredMsg

FORMAT = "agentgov-bundle"
VERSION = 1


class Proof(msgspec.Struct, frozen=True):
    """Where an event sits in a checkpoint's Merkle tree, and the audit path to its root."""

    checkpoint: int
    index: int
    size: int
    path: list[str]


class Header(msgspec.Struct, frozen=True, kw_only=True):
    """The first line of a bundle."""

    kind: Literal["agentgov-bundle"] = "agentgov-bundle"
    version: int = VERSION
    stream: str
    created: int
    first_seq: int
    last_seq: int
    complete: bool
    filters: dict[str, Any] = {}


class Line(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A key, checkpoint or event line."""

    kind: Literal["key", "checkpoint", "event"]
    seq: int
    subject: str = ""
    ts: int = 0
    data: str
    proof: Proof | None = None


@dataclass(slots=True)
class Bundle:
    """A bundle in memory."""

    header: Header
    keys: list[Line] = field(default_factory=list)
    checkpoints: list[Line] = field(default_factory=list)
    events: list[Line] = field(default_factory=list)


def msg_of(line: Line) -> StoredMsg:
    """The stored message a line carries."""
    return StoredMsg(line.seq, line.subject, base64.b64decode(line.data), line.ts)


def line_of(kind: Literal["key", "checkpoint", "event"], m: StoredMsg, proof: Proof | None = None) -> Line:
    """A bundle line for a stored message."""
    return Line(kind=kind, seq=m.seq, subject=m.subject, ts=m.ts, data=base64.b64encode(m.data).decode(), proof=proof)


def proofs_for(cp_number: int, leaves: list[bytes], indexes: list[int]) -> list[Proof]:
    """Inclusion proofs for the leaves at ``indexes`` of one checkpoint (the tree is built once)."""
    tree = merkle.levels(leaves)
    return [Proof(cp_number, i, len(leaves), [h.hex() for h in merkle.proof_from_levels(tree, i)]) for i in indexes]


# -- files ---------------------------------------------------------------------------------------------

_line_decoder = msgspec.json.Decoder(Line)
_encoder = msgspec.json.Encoder()


def _open(path: Path, mode: Literal["rb", "wb"], *, gz: bool | None = None) -> IO[bytes]:
    if path.suffix == ".gz" if gz is None else gz:
        return gzip.open(path, mode)  # type: ignore[return-value]
    return open(path, mode)


def write(path: Path, bundle: Bundle) -> None:
    """Write a bundle (atomically: to a temporary file, then renamed)."""
    tmp = path.with_name(path.name + ".partial")
    with _open(tmp, "wb", gz=path.suffix == ".gz") as fh:
        buf = io.BufferedWriter(fh) if not isinstance(fh, io.BufferedIOBase) else fh
        buf.write(_encoder.encode(bundle.header) + b"\n")
        for line in (*bundle.keys, *bundle.checkpoints, *bundle.events):
            buf.write(_encoder.encode(line) + b"\n")
        buf.flush()
    tmp.replace(path)


def read(path: Path) -> Bundle:
    """Read a bundle; ValueError naming the line when it is not one."""
    with _open(path, "rb") as fh:
        lines = iter(fh)
        try:
            header = msgspec.json.decode(next(lines), type=Header)
        except (StopIteration, msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ValueError(f"{path}: not an agentgov bundle (line 1: {exc})") from None
        bundle = Bundle(header)
        for n, raw in enumerate(lines, start=2):
            if not raw.strip():
                continue
            try:
                line = _line_decoder.decode(raw)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise ValueError(f"{path}:{n}: not a bundle line ({exc})") from None
            {"key": bundle.keys, "checkpoint": bundle.checkpoints, "event": bundle.events}[line.kind].append(line)
    return bundle


# -- verifying -----------------------------------------------------------------------------------------


async def verify_bundle(
    bundle: Bundle, *, all_signatures: bool = False, trusted: frozenset[str] | None = None
) -> Report:
    """Verify a bundle with nothing but itself: keys, checkpoints, proofs, and for a complete one, chains."""
    events = sorted(bundle.events, key=lambda ln: ln.seq)
    keys = [msg_of(k) for k in bundle.keys]
    cps = [msg_of(c) for c in bundle.checkpoints]
    if bundle.header.complete:

        async def batches() -> AsyncIterator[list[StoredMsg]]:
            yield [msg_of(e) for e in events]

        report = await verify_messages(
            batches(),
            cps,
            gov_last_seq=bundle.header.last_seq,
            stream=bundle.header.stream,
            all_signatures=all_signatures,
            keys=keys,
            trusted=trusted,
        )
    else:
        report = await _verify_excerpt(events, cps, keys, bundle.header.stream, trusted)
    report.problems.extend(_check_proofs(events, cps))
    report.problems.sort(key=lambda p: p.stream_seq)
    return report


async def _verify_excerpt(
    events: list[Line], cps: list[StoredMsg], keys: list[StoredMsg], stream: str, trusted: frozenset[str] | None
) -> Report:
    """A filtered bundle: each event signed by a registered key; links checked where neighbours are present."""
    report = Report(trusted=trusted)
    sealed = parse_checkpoints(cps, report, anchored=True)
    report.checkpoints = len(sealed)
    report.sealed_upto = sealed[-1].cp.last_seq if sealed else 0
    verifier = ChainVerifier(stream=stream, signatures="all", anchored=True)
    for k in keys:
        add_registered_key(verifier, k, report)
    for e in events:
        m = msg_of(e)
        verifier.next_seq = None
        obs = verifier.observe(m.seq, m.subject, m.data)
        report.messages += 1
        report.last_seq = m.seq
        if obs.envelope is not None:
            report.events += 1
        else:
            report.malformed[m.seq] = obs.error
    check_signers(sealed, verifier, report)
    report.problems.extend(p for p in verifier.problems if p.reason in _EXCERPT_REASONS)
    report.producers = len(verifier.producers)
    return report


_EXCERPT_REASONS = frozenset({"bad_signature", "unregistered_producer", "key_mismatch", "bad_prev"})


def _check_proofs(events: list[Line], cps: list[StoredMsg]) -> Iterator[Problem]:
    roots: dict[int, tuple[bytes, int]] = {}
    for c in cps:
        try:
            body, _ = codec.split(c.data)
            cp = codec.decode_event(body)
        except ContractError:
            continue
        if isinstance(cp, Checkpoint):
            roots[cp.chain.seq] = (bytes.fromhex(cp.merkle_root), cp.count)
    for e in events:
        if e.proof is None:
            continue
        root = roots.get(e.proof.checkpoint)
        if root is None:
            yield Problem(e.seq, "missing_message", f"proof names checkpoint {e.proof.checkpoint}, not in the bundle")
            continue
        leaf = merkle.leaf_hash(base64.b64decode(e.data))
        path = [bytes.fromhex(h) for h in e.proof.path]
        if e.proof.size != root[1] or not merkle.verify_inclusion(leaf, e.proof.index, e.proof.size, path, root[0]):
            yield Problem(
                e.seq,
                "altered",
                f"not included in checkpoint {e.proof.checkpoint} as claimed (bytes altered, or the proof was)",
            )


# -- exporting -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selection:
    """Which events an export keeps; with no agent/team filter the bundle is complete."""

    since_ns: int | None = None
    until_ns: int | None = None
    agent: str | None = None
    team: str | None = None

    @property
    def complete(self) -> bool:
        """True when every message of the range is kept."""
        return self.agent is None and self.team is None

    def keeps(self, env_ts: int, agent: str | None, team: str | None) -> bool:
        """True when an event with this time, agent and team is selected."""
        if self.since_ns is not None and env_ts < self.since_ns:
            return False
        if self.until_ns is not None and env_ts > self.until_ns:
            return False
        if self.agent is not None and agent != self.agent:
            return False
        return not (self.team is not None and team != self.team)


async def export(
    gov: AsyncIterator[list[StoredMsg]],
    checkpoint_msgs: list[StoredMsg],
    selection: Selection,
    *,
    stream: str,
    created: int,
) -> Bundle:
    """Build a bundle from the stream (read in order) and its checkpoints.

    A complete bundle takes every message between the first and last selected one, widened to whole
    checkpoints, so it can be re-verified like a stream. (The stream is held in memory while exporting.)
    """
    cps: list[tuple[Checkpoint, StoredMsg]] = []
    for c in checkpoint_msgs:
        cp = codec.decode_event(codec.split(c.data)[0])
        if isinstance(cp, Checkpoint):
            cps.append((cp, c))
    msgs: list[StoredMsg] = []
    producer_of: dict[int, str] = {}
    registrations: dict[str, StoredMsg] = {}
    picked: list[int] = []
    async for batch in gov:
        for m in batch:
            idx = len(msgs)
            msgs.append(m)
            try:
                env = codec.decode_envelope(codec.split(m.data)[0])
            except ContractError:
                if selection.complete and selection.keeps(m.ts, None, None):
                    picked.append(idx)
                continue
            producer_of[m.seq] = env.chain.producer
            if env.type == "ProducerKeyRegistered.v1":
                registrations.setdefault(env.chain.producer, m)
            if selection.keeps(env.ts, env.agent, env.team):
                picked.append(idx)
    if selection.complete and picked:
        lo, hi = msgs[picked[0]].seq, msgs[picked[-1]].seq
        for cp, _ in cps:
            if cp.first_seq <= lo <= cp.last_seq:
                lo = cp.first_seq
            if cp.first_seq <= hi <= cp.last_seq:
                hi = cp.last_seq
        picked = [i for i, m in enumerate(msgs) if lo <= m.seq <= hi]
    chosen = {msgs[i].seq for i in picked}
    proofs: dict[int, Proof] = {}
    used: list[StoredMsg] = []
    seqs = [m.seq for m in msgs]
    for cp, raw in cps:
        in_range = msgs[bisect.bisect_left(seqs, cp.first_seq) : bisect.bisect_right(seqs, cp.last_seq)]
        wanted = [k for k, m in enumerate(in_range) if m.seq in chosen]
        if not wanted:
            continue
        used.append(raw)
        leaves = [merkle.leaf_hash(m.data) for m in in_range]
        for k, proof in zip(wanted, proofs_for(cp.chain.seq, leaves, wanted), strict=True):
            proofs[in_range[k].seq] = proof
    signers = set()
    for raw in used:
        cp = codec.decode_event(codec.split(raw.data)[0])
        if isinstance(cp, Checkpoint):
            signers.add(cp.signer)
    producers = {producer_of[s] for s in chosen if s in producer_of} | signers
    events = [line_of("event", msgs[i], proofs.get(msgs[i].seq)) for i in picked]
    filters = {
        k: v
        for k, v in (
            ("since_ns", selection.since_ns),
            ("until_ns", selection.until_ns),
            ("agent", selection.agent),
            ("team", selection.team),
        )
        if v is not None
    }
    return Bundle(
        Header(
            stream=stream,
            created=created,
            first_seq=events[0].seq if events else 0,
            last_seq=events[-1].seq if events else 0,
            complete=selection.complete,
            filters=filters,
        ),
        keys=[line_of("key", registrations[p]) for p in sorted(producers) if p in registrations],
        checkpoints=[line_of("checkpoint", c) for c in used],
        events=events,
    )
