"""The one notion of "same answer": gold correctness and consistency grouping both use it.

Both sides are normalized (case, accents, punctuation, articles, number words, numeric
spelling), so surface differences never make a right answer wrong. Beyond equality an
answer may hold the gold answer inside a longer reply, but only if every extra word is
framing: a stop word or a word of the question itself. "The capital of Australia is
Canberra" states "Canberra" for "What is the capital of Australia?", while "South Sudan"
does not state "Sudan", nor "Kansas City" "Kansas": there the extra word changes the entity.
Negations and alternatives ("not", "or", "and") never count as framing, so "Not Paris"
and "Paris or Lyon" do not state "Paris".

SQuAD-style exact match and token F1 are reported beside it, as the figures other
evaluations quote.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from elicit.text import strip_accents

_APOSTROPHES = re.compile(r"['’‘`]")
_NON_DECIMAL_DOT = re.compile(r"\.(?![0-9])")
_TOKEN = re.compile(
    r"(?<![\w.])[-+]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?|\.[0-9]+)(?!\w)"
    r"|[^\W_]+"
)
_NUMBER_TOKEN = re.compile(r"[-+]?(?:[0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)")
_ARTICLES = frozenset({"a", "an", "the"})
_UNITS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {word: 10 * (i + 2) for i, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


def _canonical_number(token: str) -> str:
    """``1,000`` -> ``1000``, ``12.0`` -> ``12``, ``-3.50`` -> ``-3.5``, ``.5`` -> ``0.5``.

    Done on the digit string (not via float/Decimal) so long numbers stay exact.
    """
    sign = "-" if token.startswith("-") else ""
    whole, _, fraction = token.lstrip("+-").replace(",", "").partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    if whole == "0" and not fraction:
        sign = ""
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def _read_number_words(tokens: list[str], start: int) -> tuple[int | None, int]:
    """Read one spelled-out number starting at ``tokens[start]``.

    Returns its value and the index after it, or (None, start). Only well-formed
    compositions are joined ("twenty one" -> 21, "two thousand five hundred" -> 2500),
    so a list like "one two three" stays three numbers.
    """
    total = current = 0
    previous: str | None = None
    scale_limit = math.inf
    i = start
    while i < len(tokens):
        word = tokens[i]
        if word in _UNITS and (
            previous in (None, "hundred", "scale", "and") or (previous == "tens" and 0 < _UNITS[word] < 10)
        ):
            current += _UNITS[word]
            kind = "unit"
        elif word in _TENS and previous in (None, "hundred", "scale", "and"):
            current += _TENS[word]
            kind = "tens"
        elif word == "hundred" and (previous is None or (previous in ("unit", "tens") and 0 < current < 100)):
            current = max(current, 1) * 100
            kind = "hundred"
        elif word in _SCALES and previous != "and" and _SCALES[word] < scale_limit:
            total += max(current, 1) * _SCALES[word]
            current, scale_limit = 0, _SCALES[word]
            kind = "scale"
        elif (
            word == "and"
            and previous in ("hundred", "scale")
            and i + 1 < len(tokens)
            and (tokens[i + 1] in _UNITS or tokens[i + 1] in _TENS)
        ):
            kind = "and"
        else:
            break
        previous = kind
        i += 1
    if previous is None:
        return None, start
    return total + current, i


def normalize_answer(text: str) -> str:
    """Canonical form of an answer for comparison.

    Lowercases, removes accents, apostrophes and abbreviation dots (``U.S.`` -> ``us``),
    turns other punctuation into token breaks, drops articles (a/an/the), converts
    spelled-out numbers to digits ("twenty-one" -> ``21``) and writes every number in
    one form (``1,000`` -> ``1000``, ``12.0`` -> ``12``, ``-3.50`` -> ``-3.5``), then
    joins tokens with single spaces. The result is a fixed point: normalizing it again
    changes nothing.
    """
    text = strip_accents(strip_accents(text).casefold())
    text = _NON_DECIMAL_DOT.sub("", _APOSTROPHES.sub("", text))
    tokens = [_canonical_number(tok) if _NUMBER_TOKEN.fullmatch(tok) else tok for tok in _TOKEN.findall(text)]
    tokens = [tok for tok in tokens if tok not in _ARTICLES]
    merged: list[str] = []
    i = 0
    while i < len(tokens):
        value, after = _read_number_words(tokens, i)
        if value is None:
            merged.append(tokens[i])
            i += 1
        else:
            merged.append(str(value))
            i = after
    return " ".join(merged)


BLOCKING_WORDS = frozenset(
    "not no never neither nor or either and versus vs isnt wasnt arent werent dont doesnt didnt "
    "cannot cant wont without except".split()
)
"""Words that turn framing around an answer into negation, a list or a choice between answers."""

FRAMING_WORDS = frozenset(
    """
    is are was were be been being am it its it is this that these those there here of in on at to
    for from by with as into within which what who whom whose where when how why i im me my we our
    you your he she his her they their them answer final correct right guess would should will
    could may might must can think believe say says said know known called named located situated
    found lies probably likely maybe perhaps possibly surely certainly definitely also just so
    then thus therefore yes
    """.split()
)
"""Words that frame an answer without changing what it names (compared after normalization)."""


def _contains_run(haystack: list[str], needle: list[str]) -> list[int]:
    """Every start index of ``needle`` as a contiguous run of whole tokens in ``haystack``."""
    width = len(needle)
    return [i for i in range(len(haystack) - width + 1) if haystack[i : i + width] == needle]


def _tokens(text: str | None) -> list[str]:
    return normalize_answer(text).split() if text else []


def answers_match(answer: str, gold: str, question: str | None = None) -> bool:
    """Whether ``answer`` states ``gold`` (after ``normalize_answer``).

    True when the normalized strings are equal, or when gold's tokens appear as a contiguous
    run in the answer and every other answer token is framing: one of ``FRAMING_WORDS`` or
    a word of ``question``. A negation or alternative word anywhere outside the gold run
    blocks the match, even if the question holds it ("Is it X or Y?"). Matching is on whole
    tokens, so "Parish" is not "Paris". The test is one-way: "Canberra" does not state
    "The capital is Canberra"; :func:`same_answer` is the symmetric form.
    """
    answer_tokens = _tokens(answer)
    gold_tokens = _tokens(gold)
    if not gold_tokens or not answer_tokens:
        return False
    if answer_tokens == gold_tokens:
        return True
    allowed = FRAMING_WORDS | set(_tokens(question))
    for start in _contains_run(answer_tokens, gold_tokens):
        extra = answer_tokens[:start] + answer_tokens[start + len(gold_tokens) :]
        if not BLOCKING_WORDS.intersection(extra) and allowed.issuperset(extra):
            return True
    return False


def same_answer(a: str, b: str, question: str | None = None) -> bool:
    """Whether two answers name the same thing: either states the other (see :func:`answers_match`)."""
    return answers_match(a, b, question) or answers_match(b, a, question)


def match_any(answer: str | None, golds: Sequence[str], question: str | None = None) -> bool:
    """Whether ``answer`` states any of the accepted gold answers (see :func:`answers_match`).

    A missing or blank answer never matches; an empty ``golds`` is a caller error
    (there would be nothing to be right about), so it raises.
    """
    if not golds:
        raise ValueError("golds must contain at least one gold answer")
    if answer is None or not answer.strip():
        return False
    return any(answers_match(answer, gold, question) for gold in golds)


def exact_match(answer: str | None, golds: Sequence[str]) -> bool:
    """SQuAD-style exact match: the normalized answer equals some normalized gold."""
    tokens = _tokens(answer)
    return bool(tokens) and any(tokens == _tokens(gold) for gold in golds)


def token_f1(answer: str | None, golds: Sequence[str]) -> float:
    """SQuAD-style token F1 of the answer against its best gold (0 for a missing answer)."""
    tokens = _tokens(answer)
    best = 0.0
    for gold in golds:
        gold_tokens = _tokens(gold)
        overlap = sum((Counter(tokens) & Counter(gold_tokens)).values())
        if overlap:
            precision, recall = overlap / len(tokens), overlap / len(gold_tokens)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best
