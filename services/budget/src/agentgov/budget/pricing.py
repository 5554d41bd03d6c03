"""The pricing table: parsing ``deploy/pricing.yaml`` and pricing one LLM call (pure, no I/O).

A pricing file is YAML::

    version: 1
    currency: USD
    unit: per_million_tokens
    models:
      gpt-4o: {provider: openai, input: 2.50, output: 10.00, cached: 1.25}

Prices are US dollars per million tokens, given with at most six decimals, and become integer
micro-dollars per million tokens (``ModelPrice``). Every problem is reported with its line, all at once
(:class:`~agentgov.budget.errors.PricingError` carries the first; ``problems`` lists them all).

**Token kinds are disjoint**: ``input_tokens`` are uncached prompt tokens, ``cached_tokens`` prompt-cache
reads, ``output_tokens`` visible output and ``reasoning_tokens`` hidden reasoning. A ``cached`` price of 0
means cached tokens cost what input costs; a ``reasoning`` price of 0 means reasoning costs what output does.

**Rounding**: the exact cost is ``sum(tokens x price)`` micro-dollars per million; it is divided by one
million and rounded *up* to a whole micro-dollar, so recorded spend never undercounts a call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Final

import yaml

from agentgov.budget.errors import PricingError
from agentgov.contracts.events_budget import ModelPrice

MAX_TOKENS_PER_CALL: Final = 10_000_000
"""A usage report claiming more tokens of one kind than this is refused as ``bad_tokens``."""
MAX_PRICE_USD: Final = Decimal(100_000)
"""No model costs more than this per million tokens; a larger number is a typo."""
KINDS: Final = ("input", "output", "cached", "reasoning")
_MODEL_KEYS: Final = frozenset({"provider", *KINDS})


@dataclass(frozen=True, slots=True)
class PricingTable:
    """One pricing revision: prices by model name."""

    revision: int
    prices: dict[str, ModelPrice] = field(default_factory=dict)
    sha256: str = ""

    def get(self, model: str) -> ModelPrice | None:
        """The model's price, if the table has it."""
        return self.prices.get(model)


def cost_usd_micros(
    price: ModelPrice, *, input_tokens: int, output_tokens: int, cached_tokens: int, reasoning_tokens: int
) -> int:
    """What a call costs in micro-dollars, rounded up (see the module docstring)."""
    cached = price.cached or price.input
    reasoning = price.reasoning or price.output
    exact = (
        input_tokens * price.input
        + output_tokens * price.output
        + cached_tokens * cached
        + reasoning_tokens * reasoning
    )
    return -(-exact // 1_000_000)


def sha256_of(source: str) -> str:
    """The hex digest a PricingPublished carries for its source."""
    return hashlib.sha256(source.encode()).hexdigest()


def parse_pricing(source: str, filename: str = "pricing.yaml") -> list[ModelPrice]:
    """The models of a pricing file, or PricingError naming the line of the first problem."""
    problems: list[tuple[int, str]] = []
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise PricingError(filename, mark.line + 1 if mark else 0, f"not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise PricingError(filename, 0, f"not valid YAML: {exc}") from None
    if not isinstance(root, yaml.MappingNode):
        raise PricingError(filename, _line(root), "the file must be a mapping with 'version' and 'models'")
    top = _mapping(root, problems)
    version = top.get("version")
    if version is None or _scalar(version[1]) != "1":
        problems.append((_line(version[1] if version else root), "'version' must be 1"))
    for key in ("currency", "unit"):
        want = {"currency": "USD", "unit": "per_million_tokens"}[key]
        if key in top and _scalar(top[key][1]) != want:
            problems.append((_line(top[key][1]), f"'{key}' must be {want!r}"))
    unknown = set(top) - {"version", "currency", "unit", "models"}
    problems.extend((_line(top[key][0]), f"unknown key {key!r}") for key in sorted(unknown))
    prices: list[ModelPrice] = []
    models = top.get("models")
    if models is None or not isinstance(models[1], yaml.MappingNode) or not models[1].value:
        problems.append((_line(models[1] if models else root), "'models' must map model names to prices"))
    else:
        for name, (key_node, node) in _mapping(models[1], problems).items():
            price = _model(name, key_node, node, problems)
            if price is not None:
                prices.append(price)
    if problems:
        problems.sort()
        listed = [f"{filename}:{line}: {why}" for line, why in problems]
        raise PricingError(filename, problems[0][0], problems[0][1], listed)
    return prices


def _model(name: str, key_node: yaml.Node, node: yaml.Node, problems: list[tuple[int, str]]) -> ModelPrice | None:
    if not name or any(c.isspace() for c in name):
        problems.append((_line(key_node), f"model name {name!r} must be non-empty without spaces"))
        return None
    if not isinstance(node, yaml.MappingNode):
        problems.append((_line(node), f"model {name!r}: give a mapping of provider, input, output, cached, reasoning"))
        return None
    fields = _mapping(node, problems)
    ok = True
    for key in sorted(set(fields) - _MODEL_KEYS):
        problems.append((_line(fields[key][0]), f"model {name!r}: unknown key {key!r} (use {', '.join(KINDS)})"))
        ok = False
    micros: dict[str, int] = {}
    for kind in KINDS:
        if kind not in fields:
            if kind in ("input", "output"):
                problems.append((_line(node), f"model {name!r}: missing {kind!r} price"))
                ok = False
            continue
        value = _usd_micros(_scalar(fields[kind][1]))
        if value is None:
            problems.append(
                (
                    _line(fields[kind][1]),
                    f"model {name!r}: {kind} price must be a number of USD per million tokens "
                    f"(0 to {MAX_PRICE_USD}, at most 6 decimals)",
                )
            )
            ok = False
        else:
            micros[kind] = value
    provider = _scalar(fields["provider"][1]) if "provider" in fields else ""
    if not ok:
        return None
    return ModelPrice(model=name, provider=provider or "", **micros)


def _usd_micros(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value > MAX_PRICE_USD:
        return None
    micros = value * 1_000_000
    if micros != micros.to_integral_value():
        return None
    return int(micros)


def _mapping(node: yaml.MappingNode, problems: list[tuple[int, str]]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        key = _scalar(key_node)
        if key is None:
            problems.append((_line(key_node), "keys must be plain names"))
            continue
        if key in out:
            problems.append((_line(key_node), f"duplicate key {key!r} (first on line {_line(out[key][0])})"))
            continue
        out[key] = (key_node, value_node)
    return out


def _scalar(node: yaml.Node) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _line(node: yaml.Node | None) -> int:
    return node.start_mark.line + 1 if node is not None else 0
