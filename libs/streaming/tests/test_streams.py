"""ensure_streams against a real JetStream: create, leave alone, report drift without repairing it."""

from __future__ import annotations

import contextlib

import pytest
from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError

from agentgov.contracts.streams import CHECKPOINT_STREAM, CHECKPOINTS, GOV, GOV_STREAM, STREAMS
from agentgov.streaming.streams import (
    Drift,
    StreamDriftError,
    diff_config,
    ensure_streams,
    spec_to_config,
)


@pytest.fixture
async def bare_js(js: JetStreamContext) -> JetStreamContext:
    """JetStream with neither GOV stream present."""
    for spec in STREAMS:
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(spec.name)
    return js


async def test_creates_both_streams_denying_delete_and_purge(bare_js: JetStreamContext) -> None:
    """Missing streams are created from their specs, and the server then refuses deletes and purges."""
    reports = await ensure_streams(bare_js)
    assert [(r.name, r.action, r.drifts) for r in reports] == [
        (GOV, "created", []),
        (CHECKPOINTS, "created", []),
    ]
    for spec in STREAMS:
        info = await bare_js.stream_info(spec.name)
        assert diff_config(spec, info.config) == []
        assert info.config.deny_delete
        assert info.config.deny_purge
    ack = await bare_js.publish("gov.policy", b"{}")
    with pytest.raises(APIError):
        await bare_js.delete_msg(GOV, ack.seq)
    with pytest.raises(APIError):
        await bare_js.purge_stream(GOV)
    assert (await bare_js.stream_info(GOV)).state.messages == 1


async def test_second_run_is_a_no_op(bare_js: JetStreamContext) -> None:
    """Running ensure_streams again reports "ok" and leaves the streams' contents as they were."""
    await ensure_streams(bare_js)
    ack = await bare_js.publish("gov.policy", b"{}")
    reports = await ensure_streams(bare_js, strict=True)
    assert [(r.name, r.action, r.drifts) for r in reports] == [(GOV, "ok", []), (CHECKPOINTS, "ok", [])]
    # the stream was neither recreated nor purged: it still starts at 1 and holds the message published
    # (counted by position, not total, since another test's producer may still be retrying into GOV)
    assert (await bare_js.stream_info(GOV)).state.first_seq == 1
    assert (await bare_js.get_msg(GOV, ack.seq)).subject == "gov.policy"


async def test_drift_is_reported_and_not_repaired(bare_js: JetStreamContext) -> None:
    """A GOV made with other settings is reported field by field and left exactly as it was."""
    wrong = spec_to_config(GOV_STREAM)
    wrong.subjects = ["gov.decision.*", "gov.extra.*"]
    wrong.max_msg_size = 1024
    wrong.deny_purge = False
    wrong.duplicate_window = 60.0
    await bare_js.add_stream(wrong)
    reports = await ensure_streams(bare_js)
    by_name = {r.name: r for r in reports}
    assert by_name[CHECKPOINTS].action == "created"
    gov = by_name[GOV]
    assert gov.action == "drift"
    assert {d.field for d in gov.drifts} == {"subjects", "max_msg_size", "deny_purge", "duplicate_window"}
    assert Drift("max_msg_size", GOV_STREAM.max_msg_size, 1024) in gov.drifts
    assert Drift("deny_purge", True, False) in gov.drifts
    live = (await bare_js.stream_info(GOV)).config
    assert live.subjects == ["gov.decision.*", "gov.extra.*"]
    assert live.max_msg_size == 1024
    assert not live.deny_purge


async def test_strict_mode_raises_on_drift(bare_js: JetStreamContext) -> None:
    """strict=True raises StreamDriftError naming the stream and field, after creating what was missing."""
    wrong = spec_to_config(CHECKPOINT_STREAM)
    wrong.allow_direct = False
    await bare_js.add_stream(wrong)
    with pytest.raises(StreamDriftError) as caught:
        await ensure_streams(bare_js, strict=True)
    assert "GOV_CHECKPOINTS.allow_direct" in str(caught.value)
    assert [r.name for r in caught.value.reports] == [CHECKPOINTS]
    assert (await bare_js.stream_info(GOV)).config.deny_delete
    assert not (await bare_js.stream_info(CHECKPOINTS)).config.allow_direct
