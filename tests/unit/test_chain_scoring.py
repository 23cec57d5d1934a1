"""ConfidenceChain's model-free parts: scoring given samples and the default combination."""

from __future__ import annotations

import pytest
from langchain_core.language_models import FakeListChatModel

from elicit.calibration.head import FusionHead, HeadMismatch
from elicit.calibration.head_file import provenance_for
from elicit.chains import ConfidenceChain, default_confidence
from elicit.types import RunSetup, Signals


def chain() -> ConfidenceChain:
    return ConfidenceChain(FakeListChatModel(responses=["unused"]), n_samples=3)


def test_score_parses_raw_texts_and_keeps_unparsed_ones():
    texts = [
        "Answer: Paris\nConfidence: 90%",
        "Answer: Paris\nConfidence: 80%",
        "I am not really sure what this question is asking about here.",
    ]
    result = chain().score("What is the capital of France?", texts)
    assert result.answer == "Paris"
    assert len(result.samples) == 3 and not result.samples[2].parsed
    assert result.signals.agreement == pytest.approx(2 / 3)
    assert result.signals.p_true is None and "P(True)" in result.signals.missing["p_true"]
    assert result.signals.answer_prob is None and result.signals.missing["answer_prob"]
    assert result.confidence == pytest.approx(default_confidence(result.signals, 3))


def test_score_rejects_empty_input():
    with pytest.raises(ValueError, match="question is empty"):
        chain().score("", ["Answer: x"])
    with pytest.raises(ValueError, match="samples is empty"):
        chain().score("q?", [])


def test_default_confidence_averages_available_core_signals():
    signals = Signals(agreement=0.8, avg_conf=0.6, answer_mean_prob=None, p_true=0.4, verbal_mean=0.1)
    assert default_confidence(signals, 5) == pytest.approx((0.8 + 0.6 + 0.4) / 3)
    assert default_confidence(signals, 1) == pytest.approx((0.1 + 0.4) / 2)
    assert default_confidence(Signals(), 5) is None


def test_mapping_input_needs_a_question_key():
    with pytest.raises(ValueError, match="'question' key"):
        chain().invoke({"q": "x"})


def _head(setup: RunSetup) -> FusionHead:
    signals = [Signals(agreement=a, verbal_mean=0.5) for a in (0.2, 0.4, 0.6, 0.8, 0.3, 0.9)]
    head = FusionHead(select=False).fit(signals, [False, False, True, True, False, True])
    head.provenance_ = provenance_for([f"r{i}" for i in range(6)], setup)
    return head


def test_a_head_from_another_setup_is_refused_naming_both():
    setup = chain().setup
    with pytest.raises(HeadMismatch, match="n_samples=5 but is applied to n_samples=3"):
        ConfidenceChain(
            FakeListChatModel(responses=["x"]), n_samples=3, fusion=_head(setup.model_copy(update={"n_samples": 5}))
        )
    with pytest.raises(HeadMismatch, match="strategy='cot'"):
        ConfidenceChain(
            FakeListChatModel(responses=["x"]), n_samples=3, fusion=_head(setup.model_copy(update={"strategy": "cot"}))
        )


def test_a_prediction_says_which_signals_the_head_imputed():
    fused = ConfidenceChain(FakeListChatModel(responses=["x"]), n_samples=3, fusion=_head(chain().setup))
    result = fused.score("What is the capital of France?", ["Answer: Paris", "Answer: Paris", "Answer: Lyon"])
    assert result.confidence_source == "fusion"
    assert result.imputed == ["verbal_mean"]  # no sample stated a confidence
