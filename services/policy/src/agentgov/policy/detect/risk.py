"""The risk score (0-100) of one action, and the part each input played in it.

    base      the strongest finding (its severity), or the tool's configured risk when that is higher
  + breadth   +5 for each further finding category of severity ≥ 50 (at most +10): several independent
              signals make an action riskier than its strongest one alone
  + target    how sensitive what the action touches is: a credential store +30, a write or delete under a
              system directory +20, an internal host +10, a production or system Kubernetes namespace +15
  + trust     a low-trust agent: 3/4 of (50 - trust) when trust is below 50 (trust 30 → +15, trust 10 → +30);
              trust above 50 never lowers a score, since a trusted agent can be hijacked too
  + session   +5 per action already denied in this session (at most +15)
  = pre-rule risk (capped at 100), which CEL rules read as ``risk.score``
  + rules     a matched rule's ``risk`` raises the score to it

Each part that adds points is reported (:class:`~agentgov.contracts.events.RiskPart`), so a decision shows
how its risk was reached; the bundle's ``risk`` thresholds turn the total into review or deny.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from agentgov.contracts.events import Action, RiskPart
from agentgov.policy.detect.shell_gates import CREDENTIAL_PATH
from agentgov.policy.detect.taint import SessionView, action_paths, is_internal, url_host

_SYSTEM_DIR: Final = re.compile(r"^(?:/etc|/boot|/usr|/bin|/sbin|/lib|/lib64|/root|/var/lib|/sys|/proc|/dev)(?:/|$)")
_WRITE_OPS: Final = frozenset({"write", "append", "delete", "remove", "rm", "chmod", "chown", "move", "rename"})
_SENSITIVE_NAMESPACE: Final = re.compile(r"^(?:kube-system|kube-public|prod|production|prd)(?:[-_].*)?$")


def score(
    findings: Iterable[tuple[str, str, int]],
    *,
    neutral: frozenset[str] = frozenset(),
    tool_risk: int | None = None,
    action: Action | None = None,
    trust: int = 50,
    session: SessionView | None = None,
) -> tuple[int, list[RiskPart]]:
    """The pre-rule risk and its parts; ``findings`` are (category, kind, severity)."""
    parts: list[RiskPart] = []
    top, top_name, categories = 0, "", set()
    for category, kind, severity in findings:
        if category in neutral:
            continue
        if severity > top:
            top, top_name = severity, f"{category}/{kind}"
        if severity >= 50:
            categories.add(category)
    if tool_risk is not None and tool_risk > top:
        parts.append(RiskPart(name="tool", points=tool_risk, detail="the tool's configured risk"))
    elif top:
        parts.append(RiskPart(name="findings", points=top, detail=f"strongest finding {top_name}"))
    if len(categories) > 1:
        extra = min(10, 5 * (len(categories) - 1))
        parts.append(RiskPart(name="breadth", points=extra, detail=f"findings in {', '.join(sorted(categories))}"))
    if action is not None:
        sensitive = target_sensitivity(action)
        if sensitive is not None:
            parts.append(RiskPart(name="target", points=sensitive[0], detail=sensitive[1]))
    if trust < 50:
        parts.append(RiskPart(name="trust", points=(50 - trust) * 3 // 4, detail=f"agent trust {trust} is below 50"))
    if session is not None and session.denies:
        points = min(15, 5 * session.denies)
        parts.append(RiskPart(name="session", points=points, detail=f"{session.denies} denied earlier this session"))
    return min(100, sum(p.points for p in parts)), parts


def target_sensitivity(action: Action) -> tuple[int, str] | None:
    """Points and why for what ``action`` touches, or None when nothing sensitive."""
    kind, target = action.kind, action.target or ""
    if kind == "file":
        paths = action_paths(action)
        for path in paths:
            if CREDENTIAL_PATH.search(path):
                return 30, f"{path} is a credential store"
        op = str(action.args.get("op", "read")).lower()
        if op in _WRITE_OPS:
            for path in paths:
                if _SYSTEM_DIR.match(path):
                    return 20, f"{op} under system directory {path}"
        return None
    if kind == "http":
        host = url_host(target)
        if host is not None and is_internal(host):
            return 10, f"{host} is an internal host"
        return None
    if kind == "k8s":
        namespace = action.args.get("namespace")
        if isinstance(namespace, str) and _SENSITIVE_NAMESPACE.match(namespace):
            return 15, f"Kubernetes namespace {namespace}"
    return None
