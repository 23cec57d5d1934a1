"""The output formats prompts ask for: how a reply in each one is read, and how a worked example is shown.

A format is the pair a strategy needs: the reader that turns a reply into fields, and the
rendering of a few-shot example's ideal reply in the same format, so the examples a small
model imitates and the parser that reads its imitation can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from elicit.elicitation.readers import Fields, parse_labeled, parse_multistep, parse_topk


@dataclass(frozen=True)
class Example:
    """One worked few-shot example, rendered into every format (with ``options``, a multiple-choice
    one whose answer and guesses are option letters)."""

    question: str
    answer: str
    confidence: int
    explanation: str
    passage: str = ""
    options: list[str] = field(default_factory=list)
    guesses: list[tuple[str, float]] = field(default_factory=list)
    steps: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class OutputFormat:
    """A reply format: ``read`` takes the reply's first block, ``render`` writes an example's
    ideal reply with ``k`` guesses (only the top-k format lists guesses)."""

    name: str
    read: Callable[[str], Fields]
    render: Callable[[Example, int], str]


def _labeled(example: Example, k: int) -> str:
    return f"Answer: {example.answer}\nConfidence: {example.confidence}%"


def _explained(example: Example, k: int) -> str:
    return f"Explanation: {example.explanation}\n{_labeled(example, k)}"


def _topk(example: Example, k: int) -> str:
    lines = []
    for i, (guess, probability) in enumerate(example.guesses[:k], start=1):
        lines += [f"G{i}: {guess}", f"P{i}: {probability:g}"]
    return "\n".join(lines)


def _multistep(example: Example, k: int) -> str:
    lines = [f"Step {i}: {text} Confidence: {conf}%" for i, (text, conf) in enumerate(example.steps, start=1)]
    return "\n".join([*lines, _labeled(example, k)])


LABELED = OutputFormat("labeled", parse_labeled, _labeled)
"""``Answer: ... Confidence: N%``."""
EXPLAINED = OutputFormat("explained", parse_labeled, _explained)
"""``Explanation: ...`` first, then the labeled fields (read by the same reader)."""
TOPK = OutputFormat("topk", parse_topk, _topk)
"""``G1: ... P1: ...`` guesses with their probabilities."""
MULTISTEP = OutputFormat("multistep", parse_multistep, _multistep)
"""``Step i: ... Confidence: N%`` lines, then the labeled fields."""
