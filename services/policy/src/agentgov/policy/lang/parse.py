"""parse → validate: a bundle's YAML text to a :class:`~agentgov.policy.lang.model.Bundle` and diagnostics.

The whole document is always walked, so :func:`check_bundle` returns every error and warning at once
(Cedar/OPA style: never stop at the first problem).
"""

from __future__ import annotations

import hashlib
from typing import Final, cast

from agentgov.contracts.errors import InvalidIdError
from agentgov.contracts.ids import check_token
from agentgov.policy.lang import model
from agentgov.policy.lang.diagnostics import Diagnostic, Sink
from agentgov.policy.lang.errors import BundleInvalid
from agentgov.policy.lang.parse_sections import LEVEL_KEYS, LevelReader
from agentgov.policy.lang.source import Node, Reader, compose

API_VERSION: Final = "agentgov/v1"
KIND: Final = "PolicyBundle"
TOP_KEYS: Final = ("apiVersion", "kind", "metadata", "default", "teams", "agents", *LEVEL_KEYS)


def check_bundle(source: str, filename: str = "<bundle>") -> list[Diagnostic]:
    """Every error and warning in a bundle, in file order (empty when it is clean)."""
    return _parse(source, filename)[1]


def load_bundle(source: str, filename: str = "<bundle>") -> model.Bundle:
    """The validated bundle; :class:`BundleInvalid` with every diagnostic if there is any error."""
    bundle, diagnostics = _parse(source, filename)
    if bundle is None or any(d.is_error for d in diagnostics):
        raise BundleInvalid(diagnostics)
    return bundle


def _parse(source: str, filename: str) -> tuple[model.Bundle | None, list[Diagnostic]]:
    sink = Sink(filename)
    root = compose(source, sink)
    if root is None:
        return None, sink.sorted()
    r = Reader(sink)
    top = r.mapping(root, "the bundle", TOP_KEYS, ("apiVersion", "kind", "metadata"))
    if top is None:
        return None, sink.sorted()
    if "apiVersion" in top:
        node = top["apiVersion"][1]
        if r.value(node) != API_VERSION:
            r.error("AG105", node, f"apiVersion must be {API_VERSION!r}, not {r.value(node)!r}")
    if "kind" in top:
        node = top["kind"][1]
        if r.value(node) != KIND:
            r.error("AG106", node, f"kind must be {KIND!r}, not {r.value(node)!r}")
    name, scope, description = "", "*", ""
    if "metadata" in top:
        meta = r.mapping(top["metadata"][1], "metadata", ("name", "scope", "description"), ("name", "scope"))
        if meta is not None:
            if "name" in meta:
                name = _token(r, meta["name"][1], "metadata.name", "bundle") or ""
            if "scope" in meta:
                scope = _scope(r, meta["scope"][1]) or "*"
            if "description" in meta:
                description = r.string(meta["description"][1], "metadata.description") or ""
    default = "deny"
    if "default" in top:
        default = r.choice(top["default"][1], "default", ("allow", "review", "deny")) or "deny"
    ids: dict[str, dict[str, int]] = {}
    org = LevelReader(r, "", ids).level(top)
    teams = _levels(r, top["teams"][1], "teams", "team", ids) if "teams" in top else {}
    agents = _levels(r, top["agents"][1], "agents", "agent", ids) if "agents" in top else {}
    bundle = model.Bundle(
        name=name,
        scope=scope,
        source=source,
        filename=filename,
        sha256=hashlib.sha256(source.encode()).hexdigest(),
        default=cast(model.Default, default),
        description=description,
        timezone=org.timezone or "UTC",
        org=org,
        teams=teams,
        agents=agents,
    )
    return bundle, sink.sorted()


def _levels(r: Reader, node: Node, what: str, kind: str, ids: dict[str, dict[str, int]]) -> dict[str, model.Policy]:
    out: dict[str, model.Policy] = {}
    for key, knode, vnode in r.entries(node, what):
        if _token(r, knode, f"{what} key", kind) is None:
            continue
        entries = r.mapping(vnode, f"{what}.{key}", LEVEL_KEYS)
        if entries is not None:
            out[key] = LevelReader(r, f"{what}.{key}", ids).level(entries)
    return out


def _token(r: Reader, node: Node, what: str, kind: str) -> str | None:
    text = r.string(node, what)
    if text is None:
        return None
    try:
        return check_token(kind, text)
    except InvalidIdError as exc:
        r.error("AG107", node, f"{what}: {exc}")
        return None


def _scope(r: Reader, node: Node) -> str | None:
    text = r.string(node, "metadata.scope")
    if text is None:
        return None
    if text == "*":
        return text
    if text.startswith("org:"):
        try:
            return f"org:{check_token('org', text[4:])}"
        except InvalidIdError as exc:
            r.error("AG110", node, f"metadata.scope {text!r}: {exc.why}")
            return None
    r.error("AG110", node, f"metadata.scope must be '*' or 'org:<id>', not {text!r}")
    return None
