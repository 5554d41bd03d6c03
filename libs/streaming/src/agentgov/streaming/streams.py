"""Create the JetStream streams from their specs and report drift without repairing it.

A stream that exists with a different config is never changed here: some differences cannot be undone
(NATS refuses to lift deny-delete or deny-purge), and a silent "fix" would hide that someone changed the
source of truth. :func:`ensure_streams` reports each difference; ``strict=True`` turns drift into
:class:`StreamDriftError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from agentgov.contracts.streams import STREAMS, StreamSpec

#: JetStream's error code for "stream name already in use with a different configuration".
_STREAM_NAME_IN_USE = 10058


class Drift(msgspec.Struct, frozen=True):
    """One field of a live stream config that differs from its spec."""

    field: str
    want: object
    have: object

    def __str__(self) -> str:
        return f"{self.field}: want {self.want!r}, have {self.have!r}"


class StreamReport(msgspec.Struct, frozen=True):
    """What :func:`ensure_streams` found or did for one stream."""

    name: str
    action: Literal["created", "ok", "drift"]
    drifts: list[Drift] = msgspec.field(default_factory=list)


class StreamDriftError(Exception):
    """Live streams differ from their specs (raised by ``ensure_streams(strict=True)``)."""

    def __init__(self, reports: list[StreamReport]) -> None:
        self.reports = reports
        lines = [f"{r.name}.{d}" for r in reports for d in r.drifts]
        super().__init__("streams differ from their specs; not changed:\n  " + "\n  ".join(lines))


def spec_to_config(spec: StreamSpec) -> StreamConfig:
    """The nats-py stream config for a spec (limits retention, discard old, everything else default)."""
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        storage=StorageType(spec.storage),
        max_msg_size=spec.max_msg_size,
        duplicate_window=spec.duplicate_window_s,
        deny_delete=spec.deny_delete,
        deny_purge=spec.deny_purge,
        allow_direct=spec.allow_direct,
        num_replicas=spec.replicas,
    )


def _comparable(config: StreamConfig) -> dict[str, object]:
    """The fields a StreamSpec pins, in a form where equal means equal (sets, enum values, integer ns)."""
    storage = config.storage.value if isinstance(config.storage, StorageType) else config.storage
    return {
        "subjects": sorted(set(config.subjects or ())),
        "storage": storage,
        "max_msg_size": config.max_msg_size,
        "duplicate_window": round((config.duplicate_window or 0) * 1e9),
        "deny_delete": bool(config.deny_delete),
        "deny_purge": bool(config.deny_purge),
        "allow_direct": bool(config.allow_direct),
        "num_replicas": config.num_replicas or 1,
    }


def diff_config(spec: StreamSpec, live: StreamConfig) -> list[Drift]:
    """Every field the spec pins whose live value differs (``duplicate_window`` in nanoseconds)."""
    want, have = _comparable(spec_to_config(spec)), _comparable(live)
    return [Drift(field, want[field], have[field]) for field in want if want[field] != have[field]]


async def _ensure_one(js: JetStreamContext, spec: StreamSpec) -> StreamReport:
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        try:
            await js.add_stream(spec_to_config(spec))
        except BadRequestError as e:
            if e.err_code != _STREAM_NAME_IN_USE:
                raise
            # Someone else created it between our look and our create; judge what they made.
            info = await js.stream_info(spec.name)
        else:
            return StreamReport(spec.name, "created")
    drifts = diff_config(spec, info.config)
    return StreamReport(spec.name, "drift" if drifts else "ok", drifts)


async def ensure_streams(
    js: JetStreamContext, specs: Iterable[StreamSpec] = STREAMS, *, strict: bool = False
) -> list[StreamReport]:
    """Create missing streams, leave matching ones alone, report (never fix) drifted ones.

    With ``strict=True`` any drift raises :class:`StreamDriftError` after every stream was looked at.
    """
    reports = [await _ensure_one(js, spec) for spec in specs]
    drifted = [r for r in reports if r.action == "drift"]
    if strict and drifted:
        raise StreamDriftError(drifted)
    return reports
