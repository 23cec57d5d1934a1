"""Tests for elicit.elicitation.parsing: a corpus of messy small-model outputs and confidence scales."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elicit.elicitation.parsing import parse_sample
from elicit.elicitation.readers import MAX_ANSWER_WORDS, parse_confidence
from elicit.elicitation.strategies import STRATEGIES
from elicit.types import Guess, TokenLogprob

# (id, generated text, strategy, answer, confidence, error substring or None)
CORPUS = [
    ("plain", "Answer: Paris\nConfidence: 90%", "vanilla", "Paris", 0.9, None),
    ("lowercase-labels", "answer: paris\nconfidence: 85%", "vanilla", "paris", 0.85, None),
    ("upper-labels", "ANSWER: Paris\nCONFIDENCE: 70", "vanilla", "Paris", 0.7, None),
    ("bold-labels", "**Answer:** Paris\n**Confidence:** 95%", "vanilla", "Paris", 0.95, None),
    ("bold-outside-colon", "**Answer**: Paris\n**Confidence**: 60%", "vanilla", "Paris", 0.6, None),
    ("bold-answer", "Answer: **Paris**\nConfidence: 80%", "vanilla", "Paris", 0.8, None),
    ("quoted-period", 'Answer: "Paris".\nConfidence: 75%', "vanilla", "Paris", 0.75, None),
    ("single-quotes", "Answer: 'Mount Everest'\nConfidence: 99%", "vanilla", "Mount Everest", 0.99, None),
    ("answer-is-prefix", "Answer: The answer is Paris.\nConfidence: 90%", "vanilla", "Paris", 0.9, None),
    ("cutoff-digits", "Answer: Paris\nConfidence: 99.99999999999999999999", "vanilla", "Paris", 1.0, None),
    ("many-nines-pct", "Answer: 1945\nConfidence: 99.999%", "vanilla", "1945", 0.99999, None),
    ("probability-scale", "Answer: Jupiter\nConfidence: 0.9", "vanilla", "Jupiter", 0.9, None),
    ("word-confidence", "Answer: Jupiter\nConfidence: very high", "vanilla", "Jupiter", 0.9, None),
    ("word-low", "Answer: Pluto\nConfidence: Low", "vanilla", "Pluto", 0.25, None),
    (
        "hallucinated-next-question",
        "Answer: Paris\nConfidence: 90%\n\nQuestion: What is the capital of Italy?\nAnswer: Rome\nConfidence: 95%",
        "vanilla",
        "Paris",
        0.9,
        None,
    ),
    (
        "next-question-before-confidence",
        "Answer: Paris\nQuestion: What is 2+2?\nAnswer: 4\nConfidence: 100%",
        "vanilla",
        "Paris",
        None,
        "no confidence",
    ),
    (
        "echoed-question",
        "Question: What is the capital of France?\nAnswer: Paris\nConfidence: 80%\n"
        "Question: What is the capital of Spain?\nAnswer: Madrid\nConfidence: 90%",
        "vanilla",
        "Paris",
        0.8,
        None,
    ),
    (
        "answer-only-in-invented-block",
        "France is a large country in western Europe with many cities.\n"
        "Question: What is the capital of Spain?\n"
        "Answer: Madrid\nConfidence: 90%",
        "vanilla",
        None,
        None,
        "no 'Answer:' field",
    ),
    ("inline-confidence", "Answer: Paris Confidence: 90%", "vanilla", "Paris", 0.9, None),
    ("parenthesized-confidence", "Answer: Paris (Confidence: 90%)", "vanilla", "Paris", 0.9, None),
    ("value-on-next-line", "Answer:\nParis\nConfidence:\n70%", "vanilla", "Paris", 0.7, None),
    ("swapped-order", "Confidence: 65%\nAnswer: Berlin", "vanilla", "Berlin", 0.65, None),
    ("no-confidence", "Answer: Paris", "vanilla", "Paris", None, "no confidence"),
    (
        "unreadable-confidence",
        "Answer: Paris\nConfidence: 250%",
        "vanilla",
        "Paris",
        None,
        "unreadable value '250%'",
    ),
    ("the-answer-is", "I believe the answer is Paris.", "vanilla", "Paris", None, "no confidence"),
    (
        "answer-is-with-confidence",
        "The correct answer is 42. Confidence: 80%",
        "vanilla",
        "42",
        0.8,
        None,
    ),
    ("bare-line", "Paris\nConfidence: 80%", "vanilla", "Paris", 0.8, None),
    ("bare-only", "Paris.", "vanilla", "Paris", None, "no confidence"),
    (
        "prose-without-answer",
        "The capital of France has been a center of art and culture for many centuries.",
        "vanilla",
        None,
        None,
        "no 'Answer:' field",
    ),
    ("empty-text", "", "vanilla", None, None, "no 'Answer:' field"),
    ("empty-answer", "Answer:\nConfidence: 50%", "vanilla", None, 0.5, "empty 'Answer:' field"),
    (
        "runaway-paragraph",
        "Answer: The capital of France is a city that has been home to kings and artists "
        "for centuries and is known around the world for its museums and food and fashion\n"
        "Confidence: 90%",
        "vanilla",
        None,
        0.9,
        "answer too long",
    ),
    (
        "extra-sentence",
        "Answer: Paris. It is the capital and largest city of France.\nConfidence: 95%",
        "vanilla",
        "Paris",
        0.95,
        None,
    ),
    ("abbreviation-kept", "Answer: Washington D.C.\nConfidence: 90%", "vanilla", "Washington D.C", 0.9, None),
    ("st-louis", "Answer: St. Louis\nConfidence: 60%", "vanilla", "St. Louis", 0.6, None),
    ("lead-in-label", "Sure! Here's my answer:\n\nAnswer: Paris\nConfidence: 80%", "vanilla", "Paris", 0.8, None),
    ("level-label", "Answer: Paris\nConfidence Level: 85%", "vanilla", "Paris", 0.85, None),
    (
        "repeated-answer-lines",
        "Answer: Paris\nAnswer: Lyon\nConfidence: 60%",
        "vanilla",
        "Paris",
        0.6,
        None,
    ),
    ("final-answer-label", "Final Answer: 12\nConfidence: 50", "vanilla", "12", 0.5, None),
    ("chat-token-cut", "Answer: Paris\nConfidence: 90%<|im_end|>Answer: Rome", "vanilla", "Paris", 0.9, None),
    (
        "cot",
        "Explanation: Paris has been the capital of France since 987.\nAnswer: Paris\nConfidence: 95%",
        "cot",
        "Paris",
        0.95,
        None,
    ),
    (
        "cot-bold-multiline",
        "**Explanation:** The Eiffel Tower is in Paris.\nParis is in France.\n\n"
        "**Answer:** Paris\n**Confidence:** 0.8\n\nQuestion: Who wrote Hamlet?",
        "cot",
        "Paris",
        0.8,
        None,
    ),
    (
        "cot-no-explanation-label",
        "Water boils at 100 degrees at sea level. So the answer is 100.\nConfidence: 90%",
        "cot",
        "100",
        0.9,
        None,
    ),
    (
        "cot-cut-off",
        "Explanation: First we need to recall the year the war ended, which",
        "cot",
        None,
        None,
        "no 'Answer:' field",
    ),
    ("hint-vanilla", "Answer: London\nConfidence: 40%", "hint", "London", 0.4, None),
    (
        "hint-cot",
        "Explanation: The hint says London, but the capital of France is Paris.\nAnswer: Paris\nConfidence: 70%",
        "hint",
        "Paris",
        0.7,
        None,
    ),
    ("topk", "G1: Paris\nP1: 0.7\nG2: Lyon\nP2: 0.2\nG3: Nice\nP3: 0.1", "topk", "Paris", 0.7, None),
    ("topk-best-not-first", "G1: Lyon\nP1: 0.3\nG2: Paris\nP2: 0.6", "topk", "Paris", 0.6, None),
    ("topk-tie-first-wins", "G1: Lyon\nP1: 0.5\nG2: Paris\nP2: 0.5", "topk", "Lyon", 0.5, None),
    ("topk-inline", "G1: Paris P1: 0.8 G2: Lyon P2: 0.1", "topk", "Paris", 0.8, None),
    ("topk-percent", "G1: Paris\nP1: 80%\nG2: Lyon\nP2: 15%", "topk", "Paris", 0.8, None),
    ("topk-integer-one", "G1: Paris\nP1: 1\nG2: Lyon\nP2: 0", "topk", "Paris", 1.0, None),
    (
        "topk-no-probabilities",
        "G1: Paris\nG2: Lyon",
        "topk",
        "Paris",
        None,
        "no confidence",
    ),
    (
        "topk-repeated-block",
        "G1: Paris\nP1: 0.6\nG2: Lyon\nP2: 0.3\nG1: Rome\nP1: 0.9",
        "topk",
        "Paris",
        0.6,
        None,
    ),
    ("topk-fallback-answer", "Answer: Paris\nConfidence: 70%", "topk", "Paris", 0.7, None),
    ("topk-nothing", "I do not know this one at all, sorry about that.", "topk", None, None, "no 'G1:'"),
    (
        "multistep",
        "Step 1: France is a country in Europe. Confidence: 90%\n"
        "Step 2: Its capital is Paris. Confidence: 80%\nAnswer: Paris\nConfidence: 85%",
        "multistep",
        "Paris",
        0.72,
        None,
    ),
    (
        "multistep-no-step-confidences",
        "Step 1: France is in Europe.\nStep 2: Its capital is Paris.\nAnswer: Paris\nConfidence: 85%",
        "multistep",
        "Paris",
        0.85,
        None,
    ),
    (
        "multistep-bold-and-invented-question",
        "**Step 1:** 6 times 7 is 42. Confidence: 100%\n**Answer:** 42\n**Confidence:** 100%\n"
        "Question: What is 3 times 3?\nStep 1: 9. Confidence: 10%\nAnswer: 9",
        "multistep",
        "42",
        1.0,
        None,
    ),
    ("multistep-no-steps", "Answer: 42\nConfidence: 60%", "multistep", "42", 0.6, None),
    (
        "multistep-cut-off",
        "Step 1: The war began in 1939. Confidence: 95%\nStep 2: It ended",
        "multistep",
        None,
        0.95,
        "no 'Answer:' field",
    ),
]


@pytest.mark.parametrize(
    ("text", "strategy", "answer", "confidence", "error"),
    [pytest.param(*case[1:], id=case[0]) for case in CORPUS],
)
def test_corpus(text: str, strategy: str, answer: str | None, confidence: float | None, error: str | None) -> None:
    sample = parse_sample(text, strategy)
    assert sample.text == text
    assert sample.strategy == strategy
    assert sample.answer == answer
    assert sample.parsed is (answer is not None)
    if confidence is None:
        assert sample.confidence is None
    else:
        assert sample.confidence == pytest.approx(confidence)
    if error is None:
        assert sample.parse_error is None
    else:
        assert sample.parse_error is not None and error in sample.parse_error


def test_cot_reasoning_is_the_explanation() -> None:
    sample = parse_sample("Explanation: Paris has been the capital since 987.\nAnswer: Paris\nConfidence: 95%", "cot")
    assert sample.reasoning == "Paris has been the capital since 987."


def test_vanilla_without_prose_has_no_reasoning() -> None:
    assert parse_sample("Question: Capital?\nAnswer: Paris\nConfidence: 9%", "vanilla").reasoning is None


def test_topk_keeps_every_guess_in_order() -> None:
    sample = parse_sample("G1: Lyon\nP1: 0.3\nG2: **Paris**\nP2: 60%\nG3: Nice", "topk")
    assert sample.guesses == [
        Guess(answer="Lyon", probability=0.3),
        Guess(answer="Paris", probability=0.6),
        Guess(answer="Nice", probability=None),
    ]


def test_multistep_records_step_confidences_and_reasoning() -> None:
    text = (
        "Step 1: France is in Europe. Confidence: 90%\n"
        "Step 2: Its capital is Paris. Confidence: 0.5\n"
        "Step 3: Paris is not a trick answer.\n"
        "Answer: Paris\nConfidence: 85%"
    )
    sample = parse_sample(text, "multistep")
    assert sample.step_confidences == pytest.approx([0.9, 0.5])
    assert sample.confidence == pytest.approx(0.45)
    assert sample.reasoning is not None
    assert sample.reasoning.startswith("Step 1:") and sample.reasoning.endswith("trick answer.")


def test_pass_through_fields_and_length_note() -> None:
    tokens = [TokenLogprob(token="Par", logprob=-0.1), TokenLogprob(token="is", logprob=-0.2)]
    sample = parse_sample("Explanation: Let me think", "cot", hint="London", tokens=tokens, finish_reason="length")
    assert (sample.hint, sample.tokens, sample.finish_reason) == ("London", tokens, "length")
    assert sample.parse_error is not None and "length limit" in sample.parse_error
    clean = parse_sample("Answer: Paris\nConfidence: 90%", "vanilla", finish_reason="length")
    assert clean.parse_error is None


def test_unknown_strategy_is_named() -> None:
    with pytest.raises(ValueError, match="'telepathy'"):
        parse_sample("Answer: Paris", "telepathy")


def test_non_string_text_is_rejected() -> None:
    with pytest.raises(ValueError, match="text"):
        parse_sample(None, "vanilla")  # type: ignore[arg-type]


def test_answer_length_limit_is_inclusive() -> None:
    at_limit = " ".join(["word"] * MAX_ANSWER_WORDS)
    over_limit = " ".join(["word"] * (MAX_ANSWER_WORDS + 1))
    assert parse_sample(f"Answer: {at_limit}", "vanilla").answer == at_limit
    assert parse_sample(f"Answer: {over_limit}", "vanilla").answer is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90%", 0.9),
        ("90 %", 0.9),
        ("90 percent", 0.9),
        ("90", 0.9),
        ("0.9", 0.9),
        (".75", 0.75),
        ("1", 1.0),
        ("1.0", 1.0),
        ("0", 0.0),
        ("0%", 0.0),
        ("100", 1.0),
        ("100%", 1.0),
        ("1.5", 0.015),
        ("0.5%", 0.005),
        ("99.9%", 0.999),
        ("99.999%", 0.99999),
        ("99.99999999999999999999", 1.0),
        ("80-90%", 0.85),
        ("8/10", 0.8),
        ("7 out of 10", 0.7),
        ("**85%**.", 0.85),
        ("I'd say 70%, maybe", 0.7),
        ("very high", 0.9),
        ("High", 0.75),
        ("medium", 0.5),
        ("moderate", 0.5),
        ("low", 0.25),
        ("very low", 0.1),
        ("certain", 0.95),
        ("not certain", 0.25),
        ("uncertain", 0.25),
        ("unsure", 0.25),
        ("I am not sure", 0.25),
        ("I am sure", 0.75),
        ("very confident", 0.9),
        ("101", None),
        ("150%", None),
        ("11/10", None),
        ("5/0", None),
        ("-5%", None),
        ("99999999999999999999999", None),
        ("", None),
        ("banana", None),
    ],
)
def test_parse_confidence(text: str, expected: float | None) -> None:
    result = parse_confidence(text)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


_LABEL_SOUP = st.lists(
    st.sampled_from(
        [
            "Answer:",
            "Confidence:",
            "Explanation:",
            "Step 1:",
            "G1:",
            "P1:",
            "Question:",
            "**",
            "\n",
            " ",
            "%",
            ".",
            "0.9",
            "99.999",
            "Paris",
            "the answer is",
            "<|im_end|>",
            "high",
            "-",
            "(",
            ")",
            '"',
        ]
    )
).map("".join)


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(), _LABEL_SOUP), strategy=st.sampled_from(sorted(STRATEGIES)))
def test_parse_sample_never_raises_and_keeps_text(text: str, strategy: str) -> None:
    sample = parse_sample(text, strategy)
    assert sample.text == text
    assert sample.parsed is (sample.answer is not None)
    assert sample.parsed or sample.parse_error
    assert sample.confidence is None or 0.0 <= sample.confidence <= 1.0
    if sample.answer is not None:
        assert sample.answer == sample.answer.strip() and sample.answer
        assert len(sample.answer.split()) <= MAX_ANSWER_WORDS


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), st.from_regex(r"-?[0-9]{1,40}(\.[0-9]{0,40})?\s*%?", fullmatch=True)))
def test_parse_confidence_is_a_probability_or_none(text: str) -> None:
    result = parse_confidence(text)
    assert result is None or (0.0 <= result <= 1.0 and not math.isnan(result))


REAL_OUTPUTS = json.loads((Path(__file__).parents[1] / "fixtures" / "smollm2_outputs.json").read_text())["outputs"]


@pytest.mark.parametrize("case", REAL_OUTPUTS, ids=[f"{i}-{c['strategy']}" for i, c in enumerate(REAL_OUTPUTS)])
def test_real_outputs_of_the_embedded_model(case):
    sample = parse_sample(case["text"], case["strategy"])
    assert sample.text == case["text"]
    assert sample.parsed is case["parsed"]
    assert sample.parsed or sample.parse_error
    assert sample.answer == case["answer"]
    if case["confidence"] is None:
        assert sample.confidence is None
    else:
        assert sample.confidence == pytest.approx(case["confidence"])
    assert sample.step_confidences == pytest.approx(case["step_confidences"])
