"""Session state for taint tracking: a projection of ActionDecided events, per (agent, session).

Each recorded decision that names a session adds what it carries: the labels the action added (``taint``,
empty when it was denied), fingerprints of untrusted content (recomputed from the recorded, sanitized
action, so a replica rebuilding from the stream gets exactly what the deciding replica had), and one more
deny when it was denied. Applying is idempotent on the event id, because a replica applies its own decision
as soon as it is recorded and sees it again when it follows the stream.

Bounded: a session idle for ``ttl_ns`` is forgotten, at most ``max_sessions`` are kept (least recently used
go first), and a session keeps at most :data:`~agentgov.policy.detect.taint.MAX_FINGERPRINTS`
fingerprints. A replica rebuilds the window it needs by reading decisions from ``now - ttl`` at start.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Final

from agentgov.contracts.events import ActionDecided
from agentgov.policy.detect.taint import MAX_FINGERPRINTS, SessionView, content_fingerprints

DEFAULT_TTL_NS: Final = 24 * 3600 * 1_000_000_000
"""How long an idle session is remembered (and how far back a replica reads decisions at start)."""
_SEEN: Final = 256
"""Event ids remembered per session for idempotence."""


@dataclass(slots=True)
class _Session:
    labels: dict[str, str] = field(default_factory=dict)
    fingerprints: set[int] = field(default_factory=set)
    denies: int = 0
    last_ns: int = 0
    seen: dict[str, None] = field(default_factory=dict)
    """The last event ids applied, oldest first (a dict: O(1) membership, insertion order)."""


class Sessions:
    """Session views by (agent, session)."""

    def __init__(self, *, ttl_ns: int = DEFAULT_TTL_NS, max_sessions: int = 100_000) -> None:
        self.ttl_ns = ttl_ns
        self.max_sessions = max_sessions
        self._by_key: collections.OrderedDict[tuple[str, str], _Session] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._by_key)

    def view(self, agent: str, session: str | None, now_ns: int) -> SessionView | None:
        """What the session holds, or None when there is no session id (an empty view for a new one)."""
        if session is None:
            return None
        s = self._by_key.get((agent, session))
        if s is None or now_ns - s.last_ns > self.ttl_ns:
            return SessionView()
        return SessionView(labels=s.labels, fingerprints=s.fingerprints, denies=s.denies)

    def apply(self, event: ActionDecided) -> None:
        """Add one recorded decision to its session (no-op without an agent or session, or when seen)."""
        if event.agent is None or event.session is None:
            return
        key = (event.agent, event.session)
        s = self._by_key.get(key)
        if s is None:
            s = self._by_key[key] = _Session()
            self._evict()
        else:
            self._by_key.move_to_end(key)
        if event.id in s.seen:
            return
        s.seen[event.id] = None
        if len(s.seen) > _SEEN:
            del s.seen[next(iter(s.seen))]
        if event.ts - s.last_ns > self.ttl_ns and s.last_ns:
            s.labels.clear()
            s.fingerprints.clear()
            s.denies = 0
        s.last_ns = max(s.last_ns, event.ts)
        if event.verdict == "deny":
            s.denies += 1
            return
        where = f"request {event.request_id}"
        for label in event.taint:
            s.labels.setdefault(label, where)
        if "untrusted" in event.taint and len(s.fingerprints) < MAX_FINGERPRINTS:
            room = MAX_FINGERPRINTS - len(s.fingerprints)
            fresh = content_fingerprints(event.action) - s.fingerprints
            s.fingerprints.update(list(fresh)[:room])

    def _evict(self) -> None:
        while len(self._by_key) > self.max_sessions:
            self._by_key.popitem(last=False)
