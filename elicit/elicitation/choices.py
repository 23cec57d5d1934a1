"""Multiple-choice questions: how options are shown, and which option a reply names.

A multiple-choice prompt lists the options under letters; a reply may name one by its
letter ("B", "(B)", "B) Mars") or by its text ("Mars", "The answer is Mars"). Each sample's
answer (and each top-k guess) is resolved to the option's own text before any signal
reads it, so agreement, Avg-Conf, Pair-Rank and correctness all compare options, never
spellings. A reply that names no option is kept and flagged, like any unparsed sample.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from elicit.datasets.items import OPTION_LETTERS
from elicit.elicitation.matching import answers_match, normalize_answer
from elicit.types import Guess, Sample

_LETTER = re.compile(r"^[(\[]?([A-Ja-j])[)\].:]?(?:\s+(.*))?$", re.DOTALL)


def option_lines(options: Sequence[str]) -> str:
    """``A) first`` ... one line per option, as prompts list them."""
    return "\n".join(f"{OPTION_LETTERS[i]}) {option}" for i, option in enumerate(options))


def _by_letter(answer: str, options: Sequence[str], question: str | None) -> str | None:
    """The option a reply names by its letter: alone or bracketed, or followed by that option's text.

    A lower-case letter counts only on its own ("b"), and a letter followed by words only if
    the words name the same option, so "A lot" is not option A.
    """
    match = _LETTER.match(answer)
    if match is None:
        return None
    letter, rest = match.group(1), (match.group(2) or "").strip()
    if letter.islower() and (rest or len(answer.strip("()[].: ")) != 1):
        return None
    index = OPTION_LETTERS.index(letter.upper())
    if index >= len(options):
        return None
    if rest and not answers_match(rest, options[index], question):
        return None
    return options[index]


def resolve_option(answer: str, options: Sequence[str], question: str | None = None) -> str | None:
    """The option ``answer`` names, or None when it names none or more than one."""
    answer = answer.strip()
    if not answer:
        return None
    lettered = _by_letter(answer, options, question)
    if lettered is not None:
        return lettered
    key = normalize_answer(answer)
    exact = [option for option in options if normalize_answer(option) == key]
    if len(exact) == 1:
        return exact[0]
    stated = [option for option in options if answers_match(answer, option, question)]
    return stated[0] if len(stated) == 1 else None


def choose(sample: Sample, options: Sequence[str], question: str | None = None) -> Sample:
    """``sample`` with its answer and guesses resolved to option texts.

    A guess that names no option is dropped from the ranking (it cannot be compared with
    the options); an answer that names none leaves the sample unparsed, saying so.
    """
    if not options:
        return sample
    guesses = [
        Guess(answer=resolved, probability=guess.probability)
        for guess in sample.guesses
        if (resolved := resolve_option(guess.answer, options, question)) is not None
    ]
    if sample.answer is None:
        return sample.model_copy(update={"guesses": guesses})
    resolved = resolve_option(sample.answer, options, question)
    if resolved is not None:
        written = sample.answer if resolved != sample.answer else None
        return sample.model_copy(update={"answer": resolved, "written_answer": written, "guesses": guesses})
    problem = f"answer {sample.answer!r} is not one of the options"
    error = "; ".join(p for p in (sample.parse_error, problem) if p)
    return sample.model_copy(update={"answer": None, "parsed": False, "parse_error": error, "guesses": guesses})
