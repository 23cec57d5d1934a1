"""Answer groups: which sampled answers name the same thing.

Every consistency signal and every top-k aggregate reads the same grouping, built with the
one notion of "same answer" that also grades correctness
(:func:`~elicit.elicitation.matching.same_answer`), so a question's samples are grouped
once (:class:`~elicit.signals.sample_set.SampleSet`) and never re-matched per signal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from elicit.elicitation.matching import normalize_answer, same_answer
from elicit.types import Sample


@dataclass(frozen=True)
class AnswerGroup:
    """Answers that name the same thing under :func:`~elicit.elicitation.matching.same_answer`.

    ``key`` is the normalized form of the group's most frequent answer and ``keys`` every
    normalized form merged into it. ``answer`` is the most frequent original spelling (the
    first seen on ties), so a user sees text the model actually wrote.
    """

    key: str
    keys: tuple[str, ...]
    answer: str
    count: int
    indices: tuple[int, ...]


def group_strings(answers: Iterable[str | None], question: str | None = None) -> list[AnswerGroup]:
    """Group strings that name the same answer, largest group first.

    Strings are first pooled by normalized form; then, from the most frequent form down,
    each form joins the first group whose leading form it matches (``same_answer``), so
    "Canberra" and "The capital is Canberra" are one answer for "What is the capital of
    Australia?". Joining the leading form (not any member) keeps groups from chaining
    through loose matches. None and strings that normalize to "" are skipped: an answer
    with no content cannot agree with anything.
    """
    members: dict[str, list[int]] = {}
    spellings: dict[str, list[str]] = {}
    for index, answer in enumerate(answers):
        if answer is None:
            continue
        key = normalize_answer(answer)
        if not key:
            continue
        members.setdefault(key, []).append(index)
        spellings.setdefault(key, []).append(answer.strip())
    # dicts keep first-appearance order and sort is stable, so ties stay in that order.
    forms = sorted(members, key=lambda key: -len(members[key]))
    merged: list[list[str]] = []
    for key in forms:
        home = next((group for group in merged if same_answer(group[0], key, question)), None)
        if home is None:
            merged.append([key])
        else:
            home.append(key)
    groups = [
        AnswerGroup(
            key=keys[0],
            keys=tuple(keys),
            # Counter.most_common keeps insertion order among equal counts.
            answer=Counter(spelling for key in keys for spelling in spellings[key]).most_common(1)[0][0],
            count=sum(len(members[key]) for key in keys),
            indices=tuple(sorted(index for key in keys for index in members[key])),
        )
        for keys in merged
    ]
    return sorted(groups, key=lambda group: -group.count)


def group_answers(samples: Sequence[Sample], question: str | None = None) -> list[AnswerGroup]:
    """Groups of equivalent sample answers, largest first, ties by first appearance.

    Samples without an answer belong to no group; ``indices`` refer to ``samples``.
    ``question`` lets framing words of the question count as framing (see matching).
    """
    return group_strings((sample.answer for sample in samples), question)


def majority_answer(samples: Sequence[Sample], question: str | None = None) -> str | None:
    """Most frequent answer (representative spelling); None if no sample gave one."""
    groups = group_answers(samples, question)
    return groups[0].answer if groups else None
