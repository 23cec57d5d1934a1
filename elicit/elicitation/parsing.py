"""One generation in, one ``Sample`` out: the reply read in its strategy's format, nothing dropped.

A sample whose answer cannot be found is flagged (``parsed=False`` with a ``parse_error``),
never dropped, and its raw text is kept verbatim so it can be re-parsed later.
"""

from __future__ import annotations

from elicit.elicitation.readers import first_block
from elicit.elicitation.strategies import strategy as get_strategy
from elicit.types import Sample, TokenLogprob


def parse_sample(
    text: str,
    strategy: str,
    *,
    hint: str | None = None,
    tokens: list[TokenLogprob] | None = None,
    finish_reason: str | None = None,
) -> Sample:
    """Parse one generation (the generated text only, never the prompt) into a ``Sample``.

    ``parsed`` is True exactly when an answer was found; a missing or unreadable
    confidence still counts as parsed but is named in ``parse_error``, so downstream
    code can tell "no answer" from "answer without confidence". ``hint``, ``tokens`` and
    ``finish_reason`` are carried through unchanged; a generation cut at the length
    limit says so in ``parse_error`` because that usually explains a missing field.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    fields = get_strategy(strategy).format.read(first_block(text))
    problems = [p for p in (fields.answer_problem, fields.confidence_problem) if p]
    if problems and finish_reason == "length":
        problems.append("generation stopped at the length limit")
    return Sample(
        text=text,
        strategy=strategy,
        answer=fields.answer,
        confidence=fields.confidence,
        reasoning=fields.reasoning,
        guesses=fields.guesses,
        step_confidences=fields.step_confidences,
        parsed=fields.answer is not None,
        parse_error="; ".join(problems) or None,
        hint=hint,
        tokens=tokens,
        finish_reason=finish_reason,
    )
