"""Verifying the GOV stream: the pure core of the audit service and of ``agentgov audit verify``.

``ChainVerifier.observe`` takes stored messages in stream order and checks, for each one:
the stream sequence follows the previous one (a missing sequence means a deleted message); the payload is
a signed frame around an event envelope (else it is *malformed*: kept, hashed, diagnosed, not chained);
its producer registered a key first (its own seq-1 ``ProducerKeyRegistered``, always signature-checked);
its chain seq is the next one and ``prev`` is the hash of the producer's previous event.

Signatures: in ``heads`` mode (the service) a producer's pending events are authenticated together by
verifying the signature of its newest one at every seal, since each event's hash is committed to by its
successor; when a link breaks, the predecessor's signature is checked at once to tell an edited event from
a forged link. In ``all`` mode every signature is checked as it arrives. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agentgov.contracts import codec, crypto, merkle
from agentgov.contracts.envelope import GENESIS, EnvelopeView
from agentgov.contracts.errors import ContractError, DecodeError
from agentgov.contracts.events import ChainBrokenReason, ChainHead, ProducerKeyRegistered, tag_of

REGISTERED = tag_of(ProducerKeyRegistered)

Status = Literal["ok", "malformed", "unknown_type", "broken"]
SignatureMode = Literal["heads", "all"]


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a stream message does not verify."""

    stream_seq: int
    reason: ChainBrokenReason
    detail: str
    producer: str | None = None
    expected_seq: int | None = None
    got_seq: int | None = None


@dataclass(slots=True)
class Observed:
    """What the verifier made of one message."""

    seq: int
    subject: str
    leaf: bytes
    size: int
    status: Status
    envelope: EnvelopeView | None = None
    digest: bytes | None = None
    error: str = ""
    registration: ProducerKeyRegistered | None = None


@dataclass(slots=True)
class _Pending:
    stream_seq: int
    digest: bytes
    sig: bytes
    """The signature as framed (base64url text); decoded only when checked."""


@dataclass(slots=True)
class ProducerState:
    """A producer's key and where its chain stands."""

    producer: str
    public_key: str
    key: Ed25519PublicKey
    role: str
    seq: int = 0
    head: str = GENESIS
    head_stream_seq: int = 0
    unverified: list[_Pending] = field(default_factory=list)


class ChainVerifier:
    """Verifies producer chains across a stream, message by message, in stream order."""

    def __init__(self, *, stream: str = "GOV", signatures: SignatureMode = "heads", anchored: bool = False) -> None:
        """``anchored``: the messages start mid-stream (an exported bundle), so a producer's first event
        seen is taken as its chain's starting point instead of being linked to an unseen predecessor."""
        self.stream = stream
        self.anchored = anchored
        self.signatures: SignatureMode = signatures
        self.producers: dict[str, ProducerState] = {}
        self.next_seq: int | None = None
        self.problems: list[Problem] = []
        self.touched: set[str] = set()

    # -- resuming ------------------------------------------------------------------------------------

    def add_key(self, producer: str, public_key: str, role: str = "") -> None:
        """Know a producer's key without seeing its registration (resuming from a checkpoint)."""
        if producer not in self.producers:
            self.producers[producer] = ProducerState(producer, public_key, crypto.load_public_key(public_key), role)

    def resume(self, heads: list[ChainHead], next_seq: int) -> None:
        """Continue after a checkpoint: its producer heads and the stream sequence that follows it."""
        for h in heads:
            st = self.producers.get(h.producer)
            if st is not None:
                st.seq, st.head, st.head_stream_seq = h.seq, h.hash, h.stream_seq
        self.next_seq = next_seq

    # -- verifying -----------------------------------------------------------------------------------

    def observe(self, seq: int, subject: str, data: bytes) -> Observed:
        """Verify one stored message; problems found are appended to ``self.problems`` and returned in it."""
        if self.next_seq is not None and seq != self.next_seq:
            if seq > self.next_seq:
                missing = seq - self.next_seq
                self._problem(
                    self.next_seq,
                    "missing_message",
                    f"stream sequence {self.next_seq}"
                    + (f"..{seq - 1}" if missing > 1 else "")
                    + " is missing (deleted or lost)",
                )
            else:
                self._problem(seq, "reordered", f"stream sequence {seq} arrived after {self.next_seq - 1}")
        self.next_seq = seq + 1
        obs = Observed(seq, subject, merkle.leaf_hash(data), len(data), "ok")
        try:
            body, sig = codec.split_lazy(data)
            env = codec.decode_envelope(body)
        except DecodeError as exc:
            obs.status, obs.error = "malformed", exc.why
            return obs
        obs.envelope = env
        digest = obs.digest = crypto.event_hash(body)
        chain = env.chain
        st = self.producers.get(chain.producer)
        if env.type == REGISTERED and chain.seq == 1:
            return self._registration(obs, body, sig, st)
        if st is None:
            obs.status = "broken"
            self._problem(
                seq,
                "unregistered_producer",
                f"producer {chain.producer!r} never registered a key",
                chain.producer,
                None,
                chain.seq,
            )
            return obs
        self.touched.add(st.producer)
        expected = st.seq + 1
        if self.anchored and st.seq == 0:
            pass
        elif chain.seq != expected:
            obs.status = "broken"
            if chain.seq <= st.seq:
                self._problem(
                    seq,
                    "replayed",
                    f"producer {st.producer!r} already wrote seq {chain.seq}; "
                    f"next expected {expected} (replayed or out of order)",
                    st.producer,
                    expected,
                    chain.seq,
                )
                return obs
            self._problem(
                seq,
                "gap",
                f"producer {st.producer!r} jumped from seq {st.seq} to {chain.seq} "
                "(an event is missing or out of order)",
                st.producer,
                expected,
                chain.seq,
            )
        elif chain.prev != st.head:
            obs.status = "broken"
            self._bad_link(seq, st)
        if self.signatures == "all":
            if not _sig_ok(st.key, sig, digest):
                obs.status = "broken"
                self._problem(
                    seq,
                    "bad_signature",
                    f"signature of producer {st.producer!r} seq {chain.seq} does not verify (bytes altered or forged)",
                    st.producer,
                    None,
                    chain.seq,
                )
        else:
            st.unverified.append(_Pending(seq, digest, sig))
        st.seq, st.head, st.head_stream_seq = chain.seq, digest.hex(), seq
        return obs

    def verify_heads(self) -> list[Problem]:
        """Authenticate every producer's pending events by its newest signature; name the first bad one."""
        found: list[Problem] = []
        for st in self.producers.values():
            if not st.unverified:
                continue
            head = st.unverified[-1]
            if not _sig_ok(st.key, head.sig, head.digest):
                for p in st.unverified:
                    if not _sig_ok(st.key, p.sig, p.digest):
                        found.append(
                            self._problem(
                                p.stream_seq,
                                "bad_signature",
                                f"signature of producer {st.producer!r} does not verify (bytes altered or forged)",
                                st.producer,
                            )
                        )
                        break
            st.unverified.clear()
        return found

    def heads(self, producers: set[str] | None = None) -> list[ChainHead]:
        """Chain heads, of the given producers or of all, sorted by producer."""
        names = sorted(producers if producers is not None else self.producers)
        out = []
        for name in names:
            st = self.producers[name]
            if st.seq:
                out.append(ChainHead(producer=name, seq=st.seq, hash=st.head, stream_seq=st.head_stream_seq))
        return out

    # -- internals -----------------------------------------------------------------------------------

    def _registration(self, obs: Observed, body: bytes, sig: bytes, st: ProducerState | None) -> Observed:
        assert obs.envelope is not None and obs.digest is not None
        seq, producer = obs.seq, obs.envelope.chain.producer
        try:
            reg = codec.decode_event(body)
            if not isinstance(reg, ProducerKeyRegistered) or reg.producer != producer:
                raise DecodeError("registration names another producer")
            key = crypto.load_public_key(reg.public_key)
        except ContractError as exc:
            obs.status = "broken"
            self._problem(seq, "key_mismatch", f"bad key registration for {producer!r}: {exc}", producer)
            return obs
        if not _sig_ok(key, sig, obs.digest):
            obs.status = "broken"
            self._problem(
                seq,
                "bad_signature",
                f"key registration of {producer!r} is not signed by its key",
                producer,
                None,
                1,
            )
            return obs
        if st is not None and not (st.seq == 0 and st.public_key == reg.public_key):
            obs.status = "broken"
            self._problem(seq, "replayed", f"producer {producer!r} registered a key twice", producer, st.seq + 1, 1)
            return obs
        self.producers[producer] = ProducerState(
            producer, reg.public_key, key, reg.role, seq=1, head=obs.digest.hex(), head_stream_seq=seq
        )
        self.touched.add(producer)
        obs.registration = reg
        return obs

    def _bad_link(self, seq: int, st: ProducerState) -> None:
        """``prev`` does not match: an edited predecessor (its signature fails) or a forged link here."""
        prior = st.unverified[-1] if st.unverified else None
        if prior is not None and not _sig_ok(st.key, prior.sig, prior.digest):
            self._problem(
                prior.stream_seq,
                "bad_signature",
                f"event of producer {st.producer!r} was altered: "
                "its signature does not verify and its successor links to other bytes",
                st.producer,
            )
            st.unverified.pop()
            return
        self._problem(
            seq,
            "bad_prev",
            f"producer {st.producer!r} seq {st.seq + 1} does not link to the previous event's hash (altered or forged)",
            st.producer,
            st.seq + 1,
            st.seq + 1,
        )

    def _problem(
        self,
        stream_seq: int,
        reason: ChainBrokenReason,
        detail: str,
        producer: str | None = None,
        expected: int | None = None,
        got: int | None = None,
    ) -> Problem:
        p = Problem(stream_seq, reason, detail, producer, expected, got)
        self.problems.append(p)
        return p


def _sig_ok(key: Ed25519PublicKey, sig_text: bytes, digest: bytes) -> bool:
    """Decode a framed signature and check it; a signature that is not canonical base64url fails."""
    try:
        return crypto.is_valid(key, codec.signature(sig_text), digest)
    except DecodeError:
        return False
