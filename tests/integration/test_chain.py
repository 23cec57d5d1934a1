"""ConfidenceChain end to end on the real server: every strategy, every signal's range."""

from __future__ import annotations

import pytest

from elicit.chains import ConfidenceChain
from elicit.elicitation.strategies import STRATEGIES
from elicit.model.loop import run_sync
from elicit.signals.registry import SIGNAL_NAMES
from elicit.types import Elicitation

QUESTION = "What is the capital of France?"


def check_ranges(result: Elicitation, n: int) -> None:
    assert result.question == QUESTION
    assert len(result.samples) == n
    for sample in result.samples:
        assert sample.text  # kept verbatim, parsed or not
        assert sample.parsed or sample.parse_error
        assert sample.tokens is not None and all(t.logprob <= 0.0 for t in sample.tokens)
    values = result.signals.values()
    assert set(values) == set(SIGNAL_NAMES)
    for name, value in values.items():
        if value is None:
            assert result.signals.missing.get(name), f"{name} is None without a reason"
        else:
            assert 0.0 <= value <= 1.0, name
    if result.confidence is not None:
        assert 0.0 <= result.confidence <= 1.0
    assert result.timings["total_s"] > 0


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_end_to_end(llm, strategy):
    chain = ConfidenceChain(
        llm, strategy=strategy, n_samples=3, max_tokens=48, hint_pool=["Lyon", "Marseille", "Berlin"]
    )
    result = chain.invoke(QUESTION)
    check_ranges(result, 3)
    assert result.strategy == strategy
    if strategy == "hint":
        assert all(sample.hint for sample in result.samples)
    if strategy == "topk":
        assert any(sample.guesses for sample in result.samples)
    if any(sample.parsed for sample in result.samples):
        assert result.answer
        assert result.signals.agreement is not None
        assert result.signals.p_true is not None, result.signals.missing
        # Semantic and sequence-level signals come from the same samples, with the bundled encoder.
        assert result.signals.semantic_agreement is not None and result.signals.answer_similarity is not None
        assert result.signals.sequence_prob is not None and result.signals.n_samples == 3


def test_reference_answer_and_async_batch(llm):
    chain = ConfidenceChain(llm, n_samples=2, max_tokens=24, reference=True)
    results = run_sync(chain.abatch([QUESTION, {"question": QUESTION}]))
    assert len(results) == 2
    for result in results:
        check_ranges(result, 2)
        assert result.reference is not None
        if result.reference.answer:
            assert result.answer == result.reference.answer


def test_score_existing_samples_without_a_model_call(llm):
    chain = ConfidenceChain(llm, n_samples=3, max_tokens=24)
    produced = chain.invoke(QUESTION)
    rescored = chain.score(QUESTION, produced.samples, p_true=produced.signals.p_true)
    assert rescored.answer == produced.answer
    assert rescored.signals == produced.signals


def test_bad_input_is_rejected_before_any_request(llm):
    with pytest.raises(ValueError, match="question is empty"):
        ConfidenceChain(llm).invoke("   ")
    with pytest.raises(ValueError, match="n \\(samples per question\\)"):
        ConfidenceChain(llm, n_samples=0)
    with pytest.raises(ValueError, match="unknown strategy 'bogus'"):
        ConfidenceChain(llm, strategy="bogus")
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        ConfidenceChain(llm, temperature=-0.1)
    with pytest.raises(ValueError, match="needs a hint_pool"):
        # A free-form question gives the hints nothing to suggest (options would).
        ConfidenceChain(llm, strategy="hint").invoke("What is the capital of France?")
