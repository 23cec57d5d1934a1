"""Generated arithmetic questions with a known difficulty ladder (CalibratedMath-style).

Arithmetic gives a calibration axis that needs no world knowledge: accuracy falls
predictably from level 1 (one-digit sums) to level 5 (multi-step expressions), so a
trustworthy confidence signal must fall with it.
"""

from __future__ import annotations

import operator
import random
from collections.abc import Callable
from functools import lru_cache

from elicit.datasets.items import QAItem

LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5)
PER_LEVEL = 100
"""Questions per level; level 1 has only 126 distinct one-digit sums and differences."""

_OPS: dict[str, Callable[[int, int], int]] = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _binary(rng: random.Random, low: int, high: int, ops: str) -> tuple[str, int]:
    """``a op b`` with operands in [low, high]; differences are ordered to stay non-negative."""
    a, b = rng.randint(low, high), rng.randint(low, high)
    op = rng.choice(ops)
    if op == "-" and a < b:
        a, b = b, a
    return f"{a} {op} {b}", _OPS[op](a, b)


def _multi_step(rng: random.Random) -> tuple[str, int]:
    """Two-digit operands combined in two operations, one of them a product."""
    a, b, c = (rng.randint(10, 99) for _ in range(3))
    shape = rng.randrange(3)
    if shape == 0:
        return f"({a} + {b}) * {c}", (a + b) * c
    if shape == 1:
        return f"{a} * {b} + {c}", a * b + c
    return f"{a} * {b} - {c}", a * b - c


def _expression(level: int, rng: random.Random) -> tuple[str, int]:
    if level == 1:
        return _binary(rng, 1, 9, "+-")
    if level == 2:
        return _binary(rng, 10, 99, "+-")
    if level == 3:
        return _binary(rng, 10, 99, "*")
    if level == 4:
        return _binary(rng, 100, 999, "+-*")
    return _multi_step(rng)


@lru_cache(maxsize=8)
def arithmetic_items(seed: int) -> tuple[QAItem, ...]:
    """``PER_LEVEL`` distinct questions per level, identical for a given seed in any process
    (``random.Random`` seeded with an int does not depend on hash randomization)."""
    rng = random.Random(seed)
    items: list[QAItem] = []
    for level in LEVELS:
        seen: set[str] = set()
        while len(seen) < PER_LEVEL:
            expression, value = _expression(level, rng)
            if expression in seen:
                continue
            seen.add(expression)
            items.append(
                QAItem(
                    id=f"arithmetic:{level}:{len(seen)}",
                    question=f"What is {expression}?",
                    answer=str(value),
                    metadata={"dataset": "arithmetic", "source": "generated", "difficulty": level},
                )
            )
    return tuple(items)
