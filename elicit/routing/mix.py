"""The questions a routing evaluation runs on: a weighted mix of built-in sets, or user data, by split.

Splits come from ``elicit.datasets`` (a stable hash of each id), so the questions the routing
policies are fitted on (train), the ones their settings are chosen on (dev) and the ones they
are reported on (test) never share an id.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from elicit.datasets import QAItem, load_builtin, sample, select_split

DEFAULT_MIX: dict[str, float] = {
    "cities": 4.0,
    "capitals": 1.0,
    "currencies": 1.0,
    "continents": 1.0,
    "arithmetic": 1.0,
}
"""Long-tail cities beside head entities (capitals, currencies, continents) and generated
arithmetic: questions the model knows, ones retrieval can answer, and ones it cannot."""


def parse_mix(specs: Sequence[str]) -> dict[str, float]:
    """``["cities=3", "capitals"]`` -> ``{"cities": 3.0, "capitals": 1.0}`` (weight 1 by default)."""
    weights: dict[str, float] = {}
    for spec in specs:
        name, _, weight = spec.partition("=")
        try:
            value = float(weight) if weight else 1.0
        except ValueError as exc:
            raise ValueError(f"dataset weight in {spec!r} must be a number") from exc
        if not value > 0:
            raise ValueError(f"dataset weight in {spec!r} must be > 0")
        weights[name.strip()] = value
    return weights


def _shares(weights: Mapping[str, float], available: Mapping[str, int], size: int) -> dict[str, int]:
    """Items per set: proportional to the weights (largest remainders), a set that has fewer
    items gives all it has, and what it cannot give is shared among the others by weight."""
    shares: dict[str, int] = {}
    open_sets = dict(weights)
    remaining = size
    while open_sets and remaining > 0:
        total = sum(open_sets.values())
        quotas = {name: remaining * weight / total for name, weight in open_sets.items()}
        short = {name for name in open_sets if available[name] < quotas[name]}
        if short:  # those give everything; the rest is shared again among the others
            for name in short:
                shares[name] = available[name]
                remaining -= available[name]
                del open_sets[name]
            continue
        floors = {name: math.floor(quota) for name, quota in quotas.items()}
        by_remainder = sorted(quotas, key=lambda name: quotas[name] - floors[name], reverse=True)
        for name in by_remainder[: remaining - sum(floors.values())]:
            floors[name] += 1
        shares |= floors
        break
    return shares


def mixed_items(weights: Mapping[str, float], split: str, size: int, seed: int = 0) -> list[QAItem]:
    """``size`` items of the split drawn from built-in sets in proportion to ``weights``
    (fewer only when the named sets together hold fewer in that split)."""
    if not weights:
        raise ValueError("weights must name at least one built-in dataset")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    pools = {name: load_builtin(name, split, seed=seed) for name in weights}
    shares = _shares(weights, {name: len(pool) for name, pool in pools.items()}, size)
    return [item for name, n in shares.items() if n for item in sample(pools[name], n, seed)]


def jsonl_items(items: Sequence[QAItem], split: str, size: int, seed: int = 0) -> list[QAItem]:
    """A seeded sample of ``size`` items of one split of user data."""
    return sample(select_split(items, split, seed), size, seed)
