"""The short answer a free-form chat reply states: the claim its confidence is about.

A chat reply is prose ("The capital city of Australia is Canberra, a planned city."), while
every signal compares short answers. Scoring "something found in the samples" would give a
garbled reply the confidence of an answer it never states, so the claim is read from the
reply itself, with the same question-aware notion of framing that decides "same answer"
(:mod:`elicit.elicitation.matching`): words of the question, framing words and articles say
nothing about which answer is given. Three readings, tried sentence by sentence:

1. The sentence (or one of its comma-separated parts) states one of the sampled answers:
   it holds the answer and otherwise only framing and question words
   (:func:`~elicit.elicitation.matching.answers_match`). Sampled answers spell multi-word
   names the way the model writes them ("Washington, D.C.", "Trinidad and Tobago"), which
   the next reading would cut.
2. The sentence is a statement "<subject> is <answer>" or "<answer> is <subject>" (also
   "are", "was", "were", "equals", "=", ":") whose subject side is about the question (only
   framing and question words, or one of the question's content words): the answer side, up to the next
   comma, without the framing at its edges, if it is short (at most ``MAX_CLAIM_WORDS``)
   and is not a list or a choice ("and", "or").
3. The whole reply is one short answer ("Canberra.").

A negated statement ("is not Paris") or a list ("Paris and Lyon") states no claim, nor
does a sentence naming a sampled answer beside a negation. A reply none of these readings
fits has no claim, and says why: its confidence is then unknown rather than a number about
something it does not say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from elicit.elicitation.matching import BLOCKING_WORDS, FRAMING_WORDS, answers_match, normalize_answer

MAX_CLAIM_WORDS = 6
"""Longest claim read from a statement: beyond this the "answer side" is prose, not an answer."""

FILLER_WORDS = frozenset("sure sorry hello hi hey well ok okay great of course absolutely indeed".split())
"""Openers of chat replies ("Sure!", "Of course,") that state nothing."""

NEGATIONS = BLOCKING_WORDS - {"or", "either", "and", "versus", "vs"}
"""Words that make a sentence deny rather than state ("It is not Paris", "I don't know")."""

COPULAS = frozenset({"is", "are", "was", "were", "equals", "equal"})
"""Words that join a subject to what it is; "=" and ":" join them too."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_PIECE = re.compile(r"[=:]|[^\s=:]+")
_BREAK = re.compile(r",(?!\d{3})|[;()\[\]{}–—]|\s-\s")
_EDGES = "\"'`*_«»“”‘’.!?…"


@dataclass(frozen=True)
class Claim:
    """What a reply states: ``answer`` and the sentence it was read from, or None and why not.

    ``how`` names the reading that found it: "sampled answer", "statement" or "short reply".
    """

    answer: str | None
    sentence: str | None = None
    how: str | None = None
    reason: str | None = None


def _norm(word: str) -> list[str]:
    return normalize_answer(word).split()


def _is_framing(word: str, question: set[str]) -> bool:
    """A word that says nothing about which answer is given (framing, filler, the question's own words)."""
    return all(token in FRAMING_WORDS or token in FILLER_WORDS or token in question for token in _norm(word))


def _answer_side(words: list[str], question: set[str]) -> str | None:
    """The short answer a statement's answer side gives, with the framing at its edges removed."""
    start, end = 0, len(words)
    while start < end and _is_framing(words[start], question):
        start += 1
    while end > start and _is_framing(words[end - 1], question):
        end -= 1
    answer = " ".join(words[start:end]).strip(_EDGES + ",;:")
    tokens = normalize_answer(answer).split()
    if not tokens or len(answer.split()) > MAX_CLAIM_WORDS or BLOCKING_WORDS.intersection(tokens):
        return None
    return answer


def _statement(sentence: str, question: set[str], topic: set[str]) -> str | None:
    """The answer of "<subject> is <answer>" or "<answer> is <subject>", if the sentence is one.

    The subject side must be about the question: only framing and question words ("The
    capital of Australia is ..."), or at least one of the question's content words ("The
    capital city of Australia is ...", "... is the capital and largest city of France").
    """

    def about(words: list[str]) -> bool:
        tokens = set(normalize_answer(" ".join(words)).split())
        if NEGATIONS & tokens:
            return False
        return all(_is_framing(word, question) for word in words) or bool(topic & tokens)

    pieces = _PIECE.findall(sentence)
    for i, piece in enumerate(pieces):
        if piece not in ("=", ":") and normalize_answer(piece) not in COPULAS:  # normalizing drops "=" and ":"
            continue
        left = _BREAK.split(" ".join(pieces[:i]))[-1].split()
        right = _BREAK.split(" ".join(pieces[i + 1 :]))[0].split()
        if about(left) and (answer := _answer_side(right, question)):
            return answer
        if left and about(right) and (answer := _answer_side(left, question)):
            return answer
    return None


def _stated_sample(sentence: str, answers: Sequence[str], question: str) -> str | None:
    """The first sampled answer the sentence names and states (the longest at one position).

    Named: its normalized words occur in the sentence. Stated: the sentence, or one of its
    comma-separated parts, holds it with nothing but framing and question words around it.
    """
    words = f" {normalize_answer(sentence)} "
    named = sorted(
        (position, -len(key), answer)
        for answer in answers
        if (key := normalize_answer(answer)) and (position := words.find(f" {key} ")) >= 0
    )
    parts = [sentence, *_BREAK.split(sentence)]
    return next((a for _, _, a in named if any(answers_match(part, a, question) for part in parts)), None)


def sentences(reply: str) -> list[str]:
    """The reply's sentences and lines, stripped, empty ones dropped."""
    return [part.strip() for part in _SENTENCE_END.split(reply) if part.strip()]


def reply_claim(reply: str, question: str, answers: Sequence[str] = ()) -> Claim:
    """The short answer ``reply`` states in answer to ``question`` (see the module docstring).

    ``answers`` are the sampled short answers (any order); they only help find how the reply
    spells a multi-word answer, never supply one the reply does not state.
    """
    question_words = set(normalize_answer(question).split())
    topic = {word for word in question_words if word not in FRAMING_WORDS}
    parts = sentences(reply)
    for sentence in parts:
        negated = bool(NEGATIONS & set(normalize_answer(sentence).split()))
        if not negated and (stated := _stated_sample(sentence, answers, question)):
            return Claim(stated, sentence, "sampled answer")
        if answer := _statement(sentence, question_words, topic):
            return Claim(answer, sentence, "statement")
    if len(parts) == 1 and not _BREAK.search(parts[0]) and not COPULAS & set(normalize_answer(parts[0]).split()):
        if answer := _answer_side(parts[0].split(), question_words):
            return Claim(answer, parts[0], "short reply")
    if not parts:
        return Claim(None, reason="the reply is empty")
    return Claim(
        None,
        reason="the reply states no short answer to the question: no sentence is '<question> is <answer>' "
        "or names a sampled answer without negating it",
    )
