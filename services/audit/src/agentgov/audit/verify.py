"""Offline verification of GOV and its checkpoints, with no audit service running (DESIGN.md §5).

``verify_messages`` re-derives everything from the stored bytes: every producer chain (links, keys and
signatures), every checkpoint (its signature by a registered audit key, its link to the previous
checkpoint, its range, and every message in the range against the sealed leaves and Merkle root), and
truncation (a checkpoint that covers messages the stream no longer has). The report names the first bad
GOV stream sequence and why.

Signatures: messages inside sealed ranges are authenticated by each producer's head signature at every
checkpoint (their bytes are also pinned by the sealed leaves); messages after the last checkpoint have
every signature checked. ``all_signatures=True`` checks every signature everywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from nats.js.client import JetStreamContext

from agentgov.audit.domain import ChainVerifier, Problem
from agentgov.audit.seal import compare
from agentgov.contracts import codec, crypto
from agentgov.contracts.envelope import GENESIS
from agentgov.contracts.errors import ContractError
from agentgov.contracts.events import CHECKPOINT_CHAIN, Checkpoint, MalformedEvent, ProducerKeyRegistered
from agentgov.contracts.streams import CHECKPOINTS, GOV
from agentgov.streaming.reader import StoredMsg, last_seq, read_all, read_batches


@dataclass(slots=True)
class CheckpointProblem:
    """A checkpoint that does not verify."""

    number: int
    stream_seq: int
    detail: str


@dataclass(slots=True)
class Report:
    """What verification found."""

    messages: int = 0
    events: int = 0
    malformed: dict[int, str] = field(default_factory=dict)
    diagnosed: set[int] = field(default_factory=set)
    unknown_types: int = 0
    producers: int = 0
    checkpoints: int = 0
    sealed_upto: int = 0
    first_seq: int = 0
    last_seq: int = 0
    problems: list[Problem] = field(default_factory=list)
    checkpoint_problems: list[CheckpointProblem] = field(default_factory=list)
    signer_keys: set[str] = field(default_factory=set)
    """Key ids of the audit keys that signed the checkpoints."""
    trusted: frozenset[str] | None = None
    """The audit key ids the caller pinned (None: keys were taken from the stream itself)."""

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems and not self.checkpoint_problems

    @property
    def first_bad(self) -> Problem | None:
        """The problem at the lowest stream sequence."""
        return min(self.problems, key=lambda p: p.stream_seq) if self.problems else None


@dataclass(slots=True)
class _Sealed:
    number: int
    stream_seq: int
    cp: Checkpoint
    digest: bytes
    sig: bytes


def parse_checkpoints(msgs: Iterable[StoredMsg], report: Report, *, anchored: bool = False) -> list[_Sealed]:
    """Decode the checkpoint stream and check its own chain (numbering, links, contiguous ranges).

    ``anchored``: the checkpoints start mid-chain (a bundle); the first one is the anchor.
    """
    out: list[_Sealed] = []
    prev_digest, prev_last = GENESIS, 0
    first_number = 0
    for m in msgs:
        try:
            body, sig = codec.split(m.data)
            cp = codec.decode_event(body)
            if not isinstance(cp, Checkpoint):
                raise ContractError(f"a {type(cp).__name__} on the checkpoint stream")
        except ContractError as exc:
            report.checkpoint_problems.append(CheckpointProblem(len(out) + 1, m.seq, f"undecodable: {exc}"))
            continue
        digest = crypto.event_hash(body)
        if anchored and not out:
            first_number = cp.chain.seq - 1
            prev_digest = cp.chain.prev
        number = first_number + len(out) + 1
        chain = cp.chain
        if chain.producer != CHECKPOINT_CHAIN or chain.seq != number:
            report.checkpoint_problems.append(
                CheckpointProblem(
                    number,
                    m.seq,
                    f"expected checkpoint {number}, found {chain.producer} #{chain.seq} (deleted or replaced)",
                )
            )
        elif chain.prev != prev_digest:
            report.checkpoint_problems.append(
                CheckpointProblem(number, m.seq, "does not link to the previous checkpoint's hash")
            )
        if prev_last and cp.first_seq != prev_last + 1:
            report.checkpoint_problems.append(
                CheckpointProblem(
                    number, m.seq, f"range starts at {cp.first_seq}, the previous one ended at {prev_last}"
                )
            )
        out.append(_Sealed(number, m.seq, cp, digest, sig))
        prev_digest, prev_last = digest.hex(), cp.last_seq
    return out


async def verify_messages(
    gov: AsyncIterator[list[StoredMsg]],
    checkpoint_msgs: Iterable[StoredMsg],
    *,
    gov_last_seq: int,
    stream: str = "GOV",
    all_signatures: bool = False,
    progress: Callable[[int], None] | None = None,
    keys: Iterable[StoredMsg] = (),
    trusted: frozenset[str] | None = None,
) -> Report:
    """Verify GOV (as batches, in order) against the checkpoint stream's messages.

    ``keys``: producer registrations from outside the messages (a bundle's key section); giving them
    verifies the messages as an anchored excerpt rather than a whole stream.
    """
    report = Report(trusted=trusted)
    anchored = bool(keys)
    sealed = parse_checkpoints(checkpoint_msgs, report, anchored=anchored)
    report.checkpoints = len(sealed)
    report.sealed_upto = sealed[-1].cp.last_seq if sealed else 0
    verifier = ChainVerifier(
        stream=stream, signatures="all" if all_signatures or not sealed else "heads", anchored=anchored
    )
    for k in keys:
        add_registered_key(verifier, k, report)
    cp_index = 0
    seqs: list[int] = []
    leaves: list[bytes] = []

    def close_checkpoint() -> None:
        nonlocal cp_index, seqs, leaves
        s = sealed[cp_index]
        problem = compare(s.cp, seqs, leaves)
        if problem is not None:
            report.problems.append(problem)
        verifier.verify_heads()
        cp_index += 1
        seqs, leaves = [], []
        if cp_index == len(sealed):
            verifier.signatures = "all"

    async for batch in gov:
        for m in batch:
            if not report.first_seq:
                report.first_seq = m.seq
                verifier.next_seq = m.seq
            while cp_index < len(sealed) and m.seq > sealed[cp_index].cp.last_seq:
                close_checkpoint()
            obs = verifier.observe(m.seq, m.subject, m.data)
            report.messages += 1
            report.last_seq = m.seq
            if obs.status == "malformed":
                report.malformed[m.seq] = obs.error
            elif obs.envelope is not None:
                report.events += 1
                if obs.envelope.type == "MalformedEvent.v1":
                    _note_diagnosis(m.data, report)
            if cp_index < len(sealed) and m.seq >= sealed[cp_index].cp.first_seq:
                seqs.append(m.seq)
                leaves.append(obs.leaf)
        if progress is not None:
            progress(report.messages)
    while cp_index < len(sealed):
        if sealed[cp_index].cp.last_seq > gov_last_seq:
            report.problems.append(
                Problem(
                    gov_last_seq + 1,
                    "truncated",
                    f"checkpoint {sealed[cp_index].number} covers up to stream sequence "
                    f"{sealed[cp_index].cp.last_seq}, but the stream ends at {gov_last_seq}",
                )
            )
        close_checkpoint()
    verifier.verify_heads()
    report.problems.extend(verifier.problems)
    report.problems = _dedupe(report.problems)
    check_signers(sealed, verifier, report)
    report.producers = len(verifier.producers)
    return report


async def verify_stream(
    js: JetStreamContext,
    *,
    stream: str = GOV,
    checkpoint_stream: str = CHECKPOINTS,
    all_signatures: bool = False,
    progress: Callable[[int], None] | None = None,
    trusted: frozenset[str] | None = None,
) -> Report:
    """Verify a live stream as it is now, against its checkpoint stream."""
    gov_last = await last_seq(js, stream)
    return await verify_messages(
        read_batches(js, stream, until_seq=gov_last),
        await read_all(js, checkpoint_stream),
        gov_last_seq=gov_last,
        stream=stream,
        all_signatures=all_signatures,
        progress=progress,
        trusted=trusted,
    )


def add_registered_key(verifier: ChainVerifier, msg: StoredMsg, report: Report) -> None:
    try:
        body, sig = codec.split(msg.data)
        reg = codec.decode_event(body)
        if not isinstance(reg, ProducerKeyRegistered):
            raise ContractError(f"a {type(reg).__name__}, not a key registration")
        key = crypto.load_public_key(reg.public_key)
        crypto.verify(key, sig, crypto.event_hash(body))
    except ContractError as exc:
        report.problems.append(Problem(msg.seq, "key_mismatch", f"bad key registration in bundle: {exc}"))
        return
    verifier.add_key(reg.producer, reg.public_key, reg.role)


def _note_diagnosis(data: bytes, report: Report) -> None:
    body, _ = codec.split(data)
    ev = codec.decode_event(body)
    if isinstance(ev, MalformedEvent):
        report.diagnosed.add(ev.stream_seq)


def check_signers(sealed: list[_Sealed], verifier: ChainVerifier, report: Report) -> None:
    """Each checkpoint must be signed by a registered audit key (one of ``report.trusted`` when pinned)."""
    if report.trusted is not None and report.messages and not sealed:
        report.checkpoint_problems.append(
            CheckpointProblem(0, 0, "no checkpoint at all, so nothing is sealed by a trusted audit key")
        )
    for s in sealed:
        st = verifier.producers.get(s.cp.signer)
        if st is None:
            report.checkpoint_problems.append(
                CheckpointProblem(
                    s.number, s.stream_seq, f"signer {s.cp.signer!r} never registered a key on the stream"
                )
            )
        elif st.role != "audit":
            report.checkpoint_problems.append(
                CheckpointProblem(s.number, s.stream_seq, f"signer {s.cp.signer!r} has role {st.role!r}, not audit")
            )
        elif not crypto.is_valid(st.key, s.sig, s.digest):
            report.checkpoint_problems.append(CheckpointProblem(s.number, s.stream_seq, "signature does not verify"))
        else:
            kid = crypto.key_id(st.public_key)
            report.signer_keys.add(kid)
            if report.trusted is not None and kid not in report.trusted:
                report.checkpoint_problems.append(
                    CheckpointProblem(s.number, s.stream_seq, f"signed by audit key {kid}, which is not a trusted key")
                )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[int, str]] = set()
    out = []
    for p in sorted(problems, key=lambda p: p.stream_seq):
        if (p.stream_seq, p.reason) not in seen:
            seen.add((p.stream_seq, p.reason))
            out.append(p)
    return out
