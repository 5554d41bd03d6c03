"""Which parts of the context a CEL expression reads, so evaluation converts only those.

Handing a Python value to CEL costs about 1-2 µs per field (strings most), which for a whole ``action`` and
``agent`` is tens of microseconds per evaluation. Rules read a few fields each, so the context is built
with only the fields the candidate rules name: ``action.target`` needs ``target``; ``action.args.verb``
needs the ``verb`` key of ``args`` (``args``, ``agent.labels`` and ``request.context`` are maps whose keys
are pruned too). Any other use (``action`` alone, ``action["kind"]``, ``action.args.exists(…)``,
``size(action.args)``) takes the whole value, so pruning never hides a field a rule could read: the
analysis may over-include (a name inside a string literal) but never under-include.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

FieldSpec = frozenset[str] | None
"""Keys of a map field that are read; None = the whole map."""
VarSpec = dict[str, FieldSpec] | None
"""Fields of a variable that are read (with their key specs); None = the whole variable."""
Needs = dict[str, VarSpec]

MAP_FIELDS: Final = {("action", "args"), ("agent", "labels"), ("request", "context")}

_ACCESS: Final = re.compile(r"(?<![\w.])([A-Za-z_]\w*)((?:\s*\.\s*[A-Za-z_]\w*)*)(\s*\()?")


def needs_of(source: str, variables: frozenset[str]) -> Needs:
    """The parts of ``variables`` that ``source`` reads."""
    needs: Needs = {}
    for m in _ACCESS.finditer(source):
        var = m.group(1)
        if var not in variables:
            continue
        chain = [p.strip() for p in m.group(2).split(".")[1:]]
        if m.group(3) and chain:  # a method call: the last name is the method, not a field
            chain.pop()
        needs = merge(needs, {var: _spec(var, chain)})
    for var in variables:
        needs.setdefault(var, None)
    return needs


def _spec(var: str, chain: list[str]) -> VarSpec:
    if not chain:
        return None
    field = chain[0]
    if (var, field) in MAP_FIELDS and len(chain) > 1:
        return {field: frozenset([chain[1]])}
    return {field: None}


def merge(a: Needs, b: Needs) -> Needs:
    """What both read."""
    out = dict(a)
    for var, spec in b.items():
        out[var] = _merge_var(out[var], spec) if var in out else spec
    return out


def _merge_var(a: VarSpec, b: VarSpec) -> VarSpec:
    if a is None or b is None:
        return None
    out = dict(a)
    for field, keys in b.items():
        if field in out:
            have = out[field]
            out[field] = None if have is None or keys is None else have | keys
        else:
            out[field] = keys
    return out


def project(var: str, value: Any, spec: VarSpec) -> Any:
    """``value`` cut down to ``spec`` (missing fields stay missing, so ``has()`` still tells)."""
    if spec is None or not isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    for field, keys in spec.items():
        if field not in value:
            continue
        v = value[field]
        if keys is not None and (var, field) in MAP_FIELDS and isinstance(v, Mapping):
            v = {k: v[k] for k in keys if k in v}
        out[field] = v
    return out
