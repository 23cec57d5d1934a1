"""The routing policies known by name without a fitted file, and the seeded coin behind ``random``.

Names are typed so that logic never turns on a misspelt string, while the command line and
the files keep the plain names (a ``StrEnum`` member is equal to its string). ``random`` has two
faces, one policy: a router draws :class:`RandomPolicy`'s seeded coin for each question,
while a routing curve reports that coin's exact expectation over seeds
(:func:`elicit.routing.curves.expected_random_accuracy`), the same policy evaluated without
the luck of one draw.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray


class BuiltInPolicy(StrEnum):
    """Policies that need no fitting: the two endpoints, chance, the chain's own confidence, and
    the oracle (which knows both answers of every question, so it exists only in evaluation)."""

    NEVER = "never"
    ALWAYS = "always"
    RANDOM = "random"
    CONFIDENCE = "confidence"
    ORACLE = "oracle"

    @classmethod
    def named(cls, name: str) -> BuiltInPolicy | None:
        """The built-in policy called ``name``, or None (a fitted policy's name)."""
        try:
            return cls(name)
        except ValueError:
            return None


BUILT_IN: tuple[BuiltInPolicy, ...] = (
    BuiltInPolicy.NEVER,
    BuiltInPolicy.ALWAYS,
    BuiltInPolicy.RANDOM,
    BuiltInPolicy.CONFIDENCE,
)
"""Policies a router knows without a fitted file (``confidence`` answers first, then decides)."""

THRESHOLD_FREE: tuple[BuiltInPolicy, ...] = (BuiltInPolicy.NEVER, BuiltInPolicy.ALWAYS)
"""The policies that decide without a score, and so without a threshold."""


class RandomPolicy:
    """Uniform scores from a hash of (seed, question): a reproducible coin that ignores content.

    This is what a router named ``random`` draws: one seed retrieves for one arbitrary set of
    questions. Averaged over seeds it retrieves for every set of a given size alike, which is
    what the curves' ``random`` row computes exactly.
    """

    name: str = BuiltInPolicy.RANDOM

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def scores(self, questions: Sequence[str]) -> NDArray[np.float64]:
        digests = (hashlib.blake2b(f"{self.seed}:{q}".encode(), digest_size=8).digest() for q in questions)
        return np.array([int.from_bytes(d, "big") / 2**64 for d in digests], dtype=np.float64)
