"""Reading answers, confidences and guesses out of the text of one reply.

The model behind elicit is small and follows the requested output format loosely: it
drops or reorders fields, wraps answers in markdown or quotes, writes confidences on
whatever scale comes to mind (``90%``, ``0.9``, ``90``, ``high``), gets cut off in the
middle of a number, and often keeps going after its answer by inventing a new
``Question: ... Answer: ...`` block. The readers are therefore lenient about form but
strict about provenance: they only ever read the first answer block, so an invented
follow-up never leaks into the sample. Each output format's reader returns the
:class:`Fields` it found and, for what it did not find, why
(:mod:`elicit.elicitation.formats` pairs each reader with how the format is shown).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from elicit.types import Guess

MAX_ANSWER_WORDS = 24
"""Longer answers are rejected: short-form QA answers are a few words, and a runaway
paragraph would poison agreement and matching (it "contains" many answers at once)."""

MAX_ANSWER_CHARS = 200
"""Character cap for the same reason, catching long runs without spaces."""

_MAX_BARE_WORDS = 6
"""A line without any ``Answer:`` label is only taken as the answer when it is this short."""

# --- labels -------------------------------------------------------------------------

_COLON = r"[\s*_]*[:：][\s*_]*"
_ANSWER_LABEL = re.compile(rf"(?<!\w)(?:final\s+|correct\s+|short\s+)?answer{_COLON}", re.IGNORECASE)
_CONFIDENCE_LABEL = re.compile(
    r"(?<!\w)(?:overall\s+|final\s+)?confidence(?:\s+(?:level|score))?"
    r"[\s*_]*(?:[:：=][\s*_]*|(?=\d))",
    re.IGNORECASE,
)
_EXPLANATION_LABEL = re.compile(rf"(?<!\w)(?:explanation|reasoning|rationale){_COLON}", re.IGNORECASE)
_STEP_LABEL = re.compile(r"(?<!\w)step\s*(\d+)[\s*_]*[:：.)][\s*_]*", re.IGNORECASE)
_GUESS_LABEL = re.compile(rf"(?<!\w)g(?:uess)?\s*(\d+){_COLON}", re.IGNORECASE)
_PROB_LABEL = re.compile(rf"(?<!\w)p(?:rob(?:ability)?)?\s*(\d+){_COLON}", re.IGNORECASE)
_QUESTION_LABEL = re.compile(rf"(?<!\w)(?:question|q)(?:\s*\d+)?{_COLON}", re.IGNORECASE)

_ANY_LABEL = re.compile(
    "|".join(
        p.pattern
        for p in (
            _ANSWER_LABEL,
            _CONFIDENCE_LABEL,
            _EXPLANATION_LABEL,
            _STEP_LABEL,
            _GUESS_LABEL,
            _PROB_LABEL,
            _QUESTION_LABEL,
        )
    ),
    re.IGNORECASE,
)
"""Any field label: a field's value on one line ends where the next label starts."""

_NEXT_BLOCK = re.compile(
    r"^[ \t*_#>]*(?:question|q|user|human)(?:\s*\d+)?[\s*_]*[:：]"
    r"|<\|(?:im_start|im_end|endoftext)\|>",
    re.IGNORECASE | re.MULTILINE,
)
"""Where an invented follow-up exchange (or a leaked chat-template token) begins."""

# --- answer phrasing ----------------------------------------------------------------

_ANSWER_PHRASE = (
    r"(?:(?:the|my)\s+)?(?:final\s+|correct\s+|right\s+)?answer\s+"
    r"(?:is|would\s+be|should\s+be|will\s+be)\b[\s*_]*:?"
)
_ANSWER_PHRASE_ANYWHERE = re.compile(rf"(?<!\w){_ANSWER_PHRASE}", re.IGNORECASE)
_ANSWER_PREFIX = re.compile(rf"^(?:i\s+(?:think|believe)\s+(?:that\s+)?)?{_ANSWER_PHRASE}", re.IGNORECASE)
_WRAPPED = re.compile(r"^[(\[]([^()\[\]]*)[)\]]$")
_TRAILING_PERCENT = re.compile(r"[(\[]\s*[\d.]+\s*(?:%\s*)?[)\]]$")
_SENTENCE_END = re.compile(r"(?<=[^\s.!?])[.!?]+\s+(?=[\"'“‘(]*[A-Z])")
_LAST_WORD = re.compile(r"(\w+)\W*$")
_ABBREVIATIONS = frozenset(
    "mrs sgt gen col capt gov sen rep rev prof hon est inc ltd corp bros etc approx "
    "ave blvd jan feb mar apr jun jul aug sep sept oct nov dec vol".split()
)
_EDGE_CHARS = " \t\r\n\"'“”‘’`*_.,;:!?"
_MARKUP_EDGE_CHARS = " \t\r\n*_#>"
_NEXT_VALUE = re.compile(r"\S.*")


# --- confidence ---------------------------------------------------------------------

_NUMERIC_CONFIDENCE = re.compile(
    r"(?P<sign>-(?=\d|\.\d))?(?<![\w.])(?P<a>\d+(?:\.\d*)?|\.\d+)"
    r"(?:\s*(?:-|–|—|to)\s*(?P<b>\d+(?:\.\d*)?|\.\d+))?"
    r"\s*(?:(?P<pct>%|percent\b|per\s*cent\b)|(?:/|out\s+of)\s*(?P<den>\d+(?:\.\d*)?))?",
    re.IGNORECASE,
)
_CONFIDENCE_WORDS: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE), value)
    for pattern, value in (
        (
            r"not\s+(?:very\s+|at\s+all\s+|really\s+)?(?:sure|certain|confident)|unsure"
            r"|uncertain|no\s+idea|do\s*n[o']?t\s+know|guess(?:ing)?",
            0.25,
        ),
        (r"(?:very|extremely|really)\s+low", 0.1),
        (r"certain(?:ly)?|absolutely|definitely", 0.95),
        (r"(?:very|extremely|really|highly)\s+(?:high(?:ly)?|confident|sure)", 0.9),
        (r"high(?:ly)?|confident|sure", 0.75),
        (r"medium|moderate(?:ly)?|fair(?:ly)?|somewhat", 0.5),
        (r"low", 0.25),
    )
)
_CONFIDENCE_PHRASE = re.compile(
    r"\d+(?:\.\d+)?\s*%\s*(?:confident|sure|certain)"
    r"|(?:i\s+am|i'm)\s+(?:very\s+|fairly\s+|not\s+)?(?:sure|certain|confident)",
    re.IGNORECASE,
)


def parse_confidence(text: str) -> float | None:
    """Read a stated confidence as a probability in [0, 1], or None if there is none.

    The model is inconsistent about scale even within one run, so the reading rules
    go by the shape of the first number in ``text``:

    * with ``%`` / ``percent`` it is a percentage: ``90%`` -> 0.9, ``0.5%`` -> 0.005;
    * as a fraction ``N/D`` or ``N out of D``: ``8/10`` -> 0.8;
    * a bare number in [0, 1] is already a probability: ``0.9`` -> 0.9, ``1`` -> 1.0
      (the one ambiguous case; read as certainty, the scale top-k probabilities use);
    * a bare number in (1, 100] is a percentage: ``90`` -> 0.9, ``1.5`` -> 0.015;
    * a range ``80-90%`` is read as its midpoint;
    * digit runs of any length are fine (``99.99999999999999999999`` -> 1.0, as cut-off
      generations produce them);
    * values above 100% (or above the denominator) and negative values are REJECTED
      (None), not clipped: such a number is not a confidence on any scale the model was
      asked for, and clipping would turn garbage into certainty.

    Without any number, words map to fixed levels: "not sure"/"unsure"/"uncertain"/
    "no idea"/"guess" 0.25, "very low" 0.1, "certain"/"absolutely"/"definitely" 0.95,
    "very high"/"very confident"/"very sure" 0.9, "high"/"confident"/"sure" 0.75,
    "medium"/"moderate"/"fair" 0.5, "low" 0.25. Negated and intensified forms are
    checked before the plain words they contain.
    """
    match = _NUMERIC_CONFIDENCE.search(text)
    if match is None:
        return next((value for pattern, value in _CONFIDENCE_WORDS if pattern.search(text)), None)
    if match["sign"]:
        return None
    value = float(match["a"])
    if match["b"] is not None:
        value = (value + float(match["b"])) / 2
    if match["den"] is not None:
        denominator = float(match["den"])
        value = value / denominator if denominator > 0 else math.inf
    elif match["pct"] or value > 1:
        value /= 100
    return value if 0.0 <= value <= 1.0 else None


# --- field extraction ---------------------------------------------------------------


@dataclass
class Fields:
    """What one format parser found, before it becomes a ``Sample``."""

    answer: str | None = None
    confidence: float | None = None
    reasoning: str | None = None
    guesses: list[Guess] = field(default_factory=list)
    step_confidences: list[float] = field(default_factory=list)
    answer_problem: str | None = None
    confidence_problem: str | None = None


def first_block(text: str) -> str:
    """The text up to the first invented follow-up exchange.

    A ``Question:`` line at the very start is an echo of the prompt and is kept; any
    later one starts a block the model made up, whose answer is not to our question.
    """
    lead = len(text) - len(text.lstrip())
    for match in _NEXT_BLOCK.finditer(text):
        if match.start() > lead or match.group().startswith("<|"):
            return text[: match.start()]
    return text


def _value_at(block: str, pos: int) -> str:
    """The value of the field whose label ends at ``pos``.

    It is the rest of that line up to the next label; when the line holds nothing but
    markup the value is taken from the next non-empty line (``Answer:\\nParis``).
    """
    line, _, after = block[pos:].partition("\n")
    if not line.strip(_EDGE_CHARS):
        following = _NEXT_VALUE.search(after)
        line = following.group() if following else ""
    label = _ANY_LABEL.search(line)
    return line[: label.start()] if label else line


def _first_sentence(text: str) -> str:
    """Cut ``Paris. It is the capital of France.`` down to ``Paris``.

    A period ends the sentence only after a number or a word of 3+ letters that is not
    a known abbreviation, so ``St. Louis`` and ``Washington D.C.`` stay whole.
    """
    for match in _SENTENCE_END.finditer(text):
        word = _LAST_WORD.search(text[max(0, match.start() - 64) : match.start()])
        if word is None:
            continue
        token = word.group(1)
        if token.isdigit() or (len(token) >= 3 and token.lower() not in _ABBREVIATIONS):
            return text[: match.start()]
    return text


def _strip_edges(text: str) -> str:
    """Remove quotes, markdown and punctuation around an answer, and wrapping brackets."""
    previous = None
    while previous != text:
        previous = text
        text = _WRAPPED.sub(r"\1", text.lstrip(_EDGE_CHARS + ")]").rstrip(_EDGE_CHARS + "(["))
    return text


def _clean_answer(raw: str, label: str) -> tuple[str | None, str | None]:
    """Turn a raw field value into an answer, or say why it is not one."""
    text = _strip_edges(raw)
    text = _strip_edges(_ANSWER_PREFIX.sub("", text))
    text = _strip_edges(_TRAILING_PERCENT.sub("", _first_sentence(text).rstrip()))
    text = " ".join(text.split())
    if not text:
        return None, f"empty {label} field"
    words = len(text.split())
    if words > MAX_ANSWER_WORDS or len(text) > MAX_ANSWER_CHARS:
        return None, (
            f"answer too long ({words} words, {len(text)} chars; "
            f"limit {MAX_ANSWER_WORDS} words, {MAX_ANSWER_CHARS} chars)"
        )
    return text, None


def _confidence_in(segment: str) -> tuple[float | None, str | None]:
    """The first stated confidence in ``segment`` and, when there is none, why."""
    label = _CONFIDENCE_LABEL.search(segment)
    if label is not None:
        raw = _value_at(segment, label.end()).strip()
        value = parse_confidence(raw)
        return value, None if value is not None else f"no confidence: unreadable value {raw!r}"
    phrase = _CONFIDENCE_PHRASE.search(segment)
    value = parse_confidence(phrase.group()) if phrase else None
    return value, None if value is not None else "no confidence"


def _bare_answer(block: str) -> tuple[str | None, int]:
    """A short unlabeled first line taken as the answer (``Paris\\nConfidence: 90%``).

    Returns the answer and where its line ends, or (None, 0) when the first line is a
    label or too long to be an answer rather than prose.
    """
    stripped = block.lstrip()
    line = stripped.split("\n", 1)[0]
    if _ANY_LABEL.search(line):
        return None, 0
    answer, problem = _clean_answer(line, "bare")
    if problem or answer is None or len(answer.split()) > _MAX_BARE_WORDS:
        return None, 0
    rest = stripped[len(line) :]
    if rest.strip() and not _CONFIDENCE_LABEL.match(rest.strip(_EDGE_CHARS + "#>")):
        return None, 0
    return answer, len(block) - len(rest)


def _labeled_answer(block: str) -> tuple[str | None, str | None, int, int]:
    """Answer, problem, and the span [start, end) it was read from (for reasoning/confidence).

    Tries the first ``Answer:`` label that has a value (a lead-in like "Here is my
    answer:" has none), then "the answer is X" phrasing, then a bare short line.
    """
    labels = list(_ANSWER_LABEL.finditer(block))
    for label in labels:
        raw = _value_at(block, label.end())
        if _strip_edges(raw) or label is labels[-1]:
            answer, problem = _clean_answer(raw, "'Answer:'")
            return answer, problem, label.start(), label.end()
    phrase = _ANSWER_PHRASE_ANYWHERE.search(block)
    if phrase is not None:
        answer, problem = _clean_answer(_value_at(block, phrase.end()), "'the answer is'")
        return answer, problem, phrase.start(), phrase.end()
    answer, end = _bare_answer(block)
    if answer is not None:
        return answer, None, 0, end
    return None, "no 'Answer:' field", len(block), len(block)


def _confidence_after(block: str, pos: int) -> tuple[float | None, str | None]:
    """The first confidence after ``pos``, else one stated before the answer (swapped order)."""
    value, problem = _confidence_in(block[pos:])
    if value is None and problem == "no confidence":
        return _confidence_in(block[:pos])
    return value, problem


def parse_labeled(block: str) -> Fields:
    """``[Explanation: ...] Answer: ... Confidence: N%`` (vanilla, cot, hint)."""
    answer, problem, start, end = _labeled_answer(block)
    explanation = _EXPLANATION_LABEL.search(block[:start])
    if explanation is not None:
        prose = block[explanation.end() : start]
    elif answer is not None:
        prose = block[:start].lstrip()
        if _NEXT_BLOCK.match(prose):
            prose = prose.partition("\n")[2]
    else:
        prose = ""
    reasoning = prose.strip(_MARKUP_EDGE_CHARS) or None
    confidence, confidence_problem = _confidence_after(block, end)
    return Fields(
        answer=answer,
        confidence=confidence,
        reasoning=reasoning,
        answer_problem=problem,
        confidence_problem=confidence_problem,
    )


def parse_topk(block: str) -> Fields:
    """``G1: ... P1: ...`` pairs; the answer is the most probable guess (first on ties).

    Stated probabilities are taken as given, not renormalized: the top guess's own
    probability is the verbal confidence, as in the top-k prompting method. A reply
    that ignored the format but has an ``Answer:`` is read as a labeled one.
    """
    guesses: dict[int, str] = {}
    probabilities: dict[int, float] = {}
    problems: list[str] = []
    for match in _GUESS_LABEL.finditer(block):
        index = int(match.group(1))
        if index not in guesses:
            answer, problem = _clean_answer(_value_at(block, match.end()), f"'G{index}:'")
            if answer is not None:
                guesses[index] = answer
            elif problem:
                problems.append(problem)
    for match in _PROB_LABEL.finditer(block):
        index = int(match.group(1))
        value = parse_confidence(_value_at(block, match.end()))
        if index not in probabilities and value is not None:
            probabilities[index] = value
    if not guesses:
        fields = parse_labeled(block)
        if fields.answer is None and not problems:
            fields.answer_problem = "no 'G1:' guess or 'Answer:' field"
        elif fields.answer is None:
            fields.answer_problem = problems[0]
        return fields
    ordered = [Guess(answer=guesses[i], probability=probabilities.get(i)) for i in sorted(guesses)]
    rated = [g for g in ordered if g.probability is not None]
    best = max(rated, key=lambda g: g.probability or 0.0) if rated else ordered[0]
    return Fields(
        answer=best.answer,
        confidence=best.probability,
        guesses=ordered,
        confidence_problem=None if rated else "no confidence: no 'P1:' probabilities",
    )


def parse_multistep(block: str) -> Fields:
    """``Step i: ... Confidence: N%`` lines, then ``Answer:`` and ``Confidence:``.

    The overall confidence is the product of the step confidences that could be read
    (a chain is only as sure as all its steps together); when no step states one, the
    final stated confidence is used.
    """
    answer, problem, start, end = _labeled_answer(block)
    steps = [m for m in _STEP_LABEL.finditer(block) if m.start() < start]
    step_confidences: list[float] = []
    for i, step in enumerate(steps):
        stop = steps[i + 1].start() if i + 1 < len(steps) else start
        value, _ = _confidence_in(block[step.end() : stop])
        if value is not None:
            step_confidences.append(value)
    reasoning = (block[steps[0].start() : start].strip() or None) if steps else None
    if step_confidences:
        confidence: float | None = math.prod(step_confidences)
        confidence_problem: str | None = None
    else:
        confidence, confidence_problem = _confidence_in(block[end:])
    return Fields(
        answer=answer,
        confidence=confidence,
        reasoning=reasoning,
        step_confidences=step_confidences,
        answer_problem=problem,
        confidence_problem=confidence_problem,
    )
