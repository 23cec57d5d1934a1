import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from elicit.elicitation.sampling import p_true_from_top_logprobs
from elicit.signals.compute import compute_signals
from elicit.signals.registry import SIGNAL_NAMES
from elicit.signals.spans import locate_answer_span, mean_token_entropy_confidence, span_logprob_features
from elicit.types import Guess, Sample, TokenLogprob


def tokens_of(*pieces: str | tuple[str, float]) -> list[TokenLogprob]:
    """Tokens from text pieces; a (text, probability) pair sets that token's probability."""
    result = []
    for piece in pieces:
        text, probability = piece if isinstance(piece, tuple) else (piece, 0.99)
        result.append(TokenLogprob(token=text, logprob=math.log(probability)))
    return result


PARIS_TOKENS = tokens_of("Answer", ":", (" Par", 0.8), ("is", 0.5), "\n", "Confidence", ":", " 90", "%")


def test_span_after_answer_label_and_exact_probabilities() -> None:
    span = locate_answer_span(PARIS_TOKENS, "Paris")
    assert span == (2, 4)
    features = span_logprob_features(PARIS_TOKENS, span)
    assert features["answer_prob"] == pytest.approx(0.8 * 0.5)
    assert features["answer_mean_prob"] == pytest.approx(math.sqrt(0.8 * 0.5))
    assert features["answer_min_prob"] == pytest.approx(0.5)


def test_span_search_is_case_insensitive() -> None:
    assert locate_answer_span(PARIS_TOKENS, "PARIS") == (2, 4)


def test_span_prefers_the_labelled_occurrence() -> None:
    tokens = tokens_of("Paris", " is", " big", ".", "\n", "Answer", ": ", "Paris")
    assert locate_answer_span(tokens, "Paris") == (7, 8)
    top_k = tokens_of("Paris", "?", " G1", ":", " **", "Paris", "**")
    assert locate_answer_span(top_k, "paris") == (5, 6)
    framed = tokens_of("Paris", " is", " nice", ".", " **Answer**", ":", " I", " say", " Paris")
    assert locate_answer_span(framed, "Paris") == (8, 9)
    second_guess = tokens_of("G1", ":", " Lyon", "\n", "P1", ":", " 0.2", "\n", "G2", ":", " Paris")
    assert locate_answer_span(second_guess, "Paris") == (10, 11)


def test_span_falls_back_to_the_first_occurrence() -> None:
    tokens = tokens_of("It", " is", " Rome", ",", " yes", " Rome")
    assert locate_answer_span(tokens, "Rome") == (2, 3)
    only_before_label = tokens_of("Rome", "?", " Answer", ":", " Italy")
    assert locate_answer_span(only_before_label, "rome") == (0, 1)


def test_span_includes_partly_overlapping_tokens_and_any_whitespace() -> None:
    assert locate_answer_span(tokens_of("Answer: Pa", "ris!", " done"), "Paris") == (0, 2)
    assert locate_answer_span(tokens_of("Answer:", " New", "\n", "York", "."), "new york") == (1, 4)


def test_span_not_found_and_bad_input() -> None:
    assert locate_answer_span(PARIS_TOKENS, "Lyon") is None
    assert locate_answer_span([], "Lyon") is None
    with pytest.raises(ValueError, match="answer"):
        locate_answer_span(PARIS_TOKENS, "  ")
    with pytest.raises(ValueError, match="text"):
        locate_answer_span(PARIS_TOKENS, "Paris", text="Answer: Lyon")
    assert locate_answer_span(PARIS_TOKENS, "Paris", text="".join(t.token for t in PARIS_TOKENS)) == (2, 4)
    with pytest.raises(ValueError, match="span"):
        span_logprob_features(PARIS_TOKENS, (3, 3))


def with_top(token: str, top: dict[str, float]) -> TokenLogprob:
    return TokenLogprob(token=token, logprob=top.get(token, math.log(0.1)), top_logprobs=top)


def test_token_entropy_uniform_peaked_and_hand_worked() -> None:
    uniform = with_top("a", {t: math.log(0.25) for t in "abcd"})
    peaked = with_top("a", {"a": 0.0, "b": -200.0, "c": -200.0})
    assert mean_token_entropy_confidence([uniform]) == pytest.approx(0.0, abs=1e-12)
    assert mean_token_entropy_confidence([peaked]) == pytest.approx(1.0)
    # p = (0.9, 0.1): H = 0.325083, log 2 = 0.693147.
    two = with_top("a", {"a": math.log(0.9), "b": math.log(0.1)})
    assert mean_token_entropy_confidence([two]) == pytest.approx(1 - 0.325083 / 0.693147, abs=1e-6)
    assert mean_token_entropy_confidence([uniform, peaked]) == pytest.approx(0.5)


def test_token_entropy_adds_the_sampled_token_and_respects_the_span() -> None:
    # Top-2 of 0.45 each plus the sampled token at 0.1: three outcomes, normalized by log 3.
    token = with_top("c", {"a": math.log(0.45), "b": math.log(0.45)})
    h = -(2 * 0.45 * math.log(0.45) + 0.1 * math.log(0.1))
    assert mean_token_entropy_confidence([token]) == pytest.approx(1 - h / math.log(3))
    uniform = with_top("a", {t: math.log(0.25) for t in "abcd"})
    peaked = with_top("a", {"a": 0.0, "b": -200.0})
    assert mean_token_entropy_confidence([uniform, peaked], (1, 2)) == pytest.approx(1.0)


def test_token_entropy_without_top_logprobs_is_none() -> None:
    assert mean_token_entropy_confidence(PARIS_TOKENS) is None
    assert mean_token_entropy_confidence([with_top("a", {"a": -0.1})]) is None


def test_p_true_variants() -> None:
    top = {" True": math.log(0.6), "true": math.log(0.1), "FALSE": math.log(0.2), "Maybe": math.log(0.05)}
    assert p_true_from_top_logprobs(top) == pytest.approx(0.7 / 0.9)
    # The unlisted word is bounded by the smallest listed probability, not set to 0.
    assert p_true_from_top_logprobs({"TRUE ": -0.5, "Yes": -1.0}) == pytest.approx(expit(0.5))
    assert p_true_from_top_logprobs({" false": -0.5, "No": -3.0}) == pytest.approx(expit(-2.5))
    assert p_true_from_top_logprobs({" false": -0.5}) == 0.5  # alone in the list: no bound below it
    assert p_true_from_top_logprobs({"Yes": -0.1, "No": -2.0}) is None
    assert p_true_from_top_logprobs({"True": -math.inf, "no": -1.0}) is None
    # Both words far in the tail: the ratio survives where exp() underflows.
    assert p_true_from_top_logprobs({"True": -2000.0, "False": -2001.0}) == pytest.approx(1 / (1 + math.exp(-1)))


def paris_sample(answer: str | None, confidence: float | None, tokens: list[TokenLogprob] | None) -> Sample:
    return Sample(
        text="".join(t.token for t in tokens or []),
        strategy="vanilla",
        answer=answer,
        confidence=confidence,
        tokens=tokens,
    )


def test_compute_signals_fills_everything_from_matching_samples() -> None:
    other = tokens_of("Answer", ":", (" Lyon", 0.3), "\n")
    samples = [
        paris_sample("Paris", 0.9, PARIS_TOKENS),
        paris_sample("paris", 0.7, tokens_of("Answer", ": ", ("Paris", 0.6), "\n")),
        paris_sample("Lyon", 0.5, other),
    ]
    samples[0].guesses = [Guess(answer="Paris"), Guess(answer="Lyon")]
    signals = compute_signals(samples, "Paris", p_true=0.8)
    assert signals.agreement == pytest.approx(2 / 3)
    assert signals.avg_conf == pytest.approx(1.6 / 2.1)
    assert signals.answer_prob == pytest.approx((0.4 + 0.6) / 2)
    assert signals.answer_min_prob == pytest.approx((0.5 + 0.6) / 2)
    assert signals.p_true == 0.8
    assert signals.pair_rank is not None and signals.pair_rank > 0.5
    no_encoder = "no embedding model given"
    assert signals.missing == {
        "token_entropy": "no top_logprobs at the answer tokens",
        **dict.fromkeys(("embedding_similarity", "answer_similarity", "eigen_confidence"), no_encoder),
        "answer_probe": "no hidden-state probe given",
    }


def test_compute_signals_missing_reasons() -> None:
    no_logprobs = compute_signals([paris_sample("Paris", None, None)] * 2, "Paris")
    assert no_logprobs.missing == {
        "verbal_mean": "no sample gave a verbal confidence",
        "avg_conf": "no sample gave a verbal confidence",
        "pair_rank": "no top-k guesses",
        "answer_prob": "logprobs were not requested",
        "answer_mean_prob": "logprobs were not requested",
        "answer_min_prob": "logprobs were not requested",
        "token_entropy": "logprobs were not requested",
        "p_true": "P(True) not computed",
        "sequence_prob": "logprobs were not requested",
        "sequence_joint_prob": "logprobs were not requested",
        "embedding_similarity": "no embedding model given",
        "answer_similarity": "no embedding model given",
        "eigen_confidence": "no embedding model given",
        "answer_probe": "no hidden-state probe given",
    }
    failed = compute_signals([paris_sample("Paris", None, None)] * 2, "Paris", p_true_reason="request failed")
    assert failed.missing["p_true"] == "request failed"  # why the separate request gave nothing
    assert "p_true" not in compute_signals([paris_sample("Paris", None, None)], "Paris", p_true=0.4,
                                           p_true_reason="unused").missing  # fmt: skip
    unfound = compute_signals([paris_sample("Rome", 0.5, PARIS_TOKENS)], "Rome")
    assert unfound.missing["answer_prob"] == "answer not found in generated tokens"
    assert unfound.missing["entropy"] == "entropy needs at least 2 samples"
    no_answer = compute_signals([paris_sample(None, 0.5, PARIS_TOKENS)] * 2, None)
    assert no_answer.missing["agreement"] == "no answer to score"
    assert no_answer.missing["margin"] == "no sample gave a parsable answer"
    empty = compute_signals([], "Paris", p_true=0.3)
    assert set(empty.missing) == set(SIGNAL_NAMES) - {"p_true"}
    assert {empty.missing.pop("answer_probe")} | set(empty.missing.values()) == {
        "no samples",
        "no hidden-state probe given",  # evidence gathered beside the samples, like P(True)
    }


def test_compute_signals_rejects_out_of_range_p_true() -> None:
    with pytest.raises(ValueError, match="p_true"):
        compute_signals([], "Paris", p_true=1.5)


answers = st.sampled_from(["Paris", "paris", "Lyon", "Rome", "New York", None])
token_texts = st.sampled_from(["Answer", ": ", "Paris", "Par", "is", "Lyon", "Rome", "New York", "\n", "G1"])
logprobs = st.floats(min_value=-30.0, max_value=0.0)
token_lists = st.lists(
    st.builds(
        TokenLogprob,
        token=token_texts,
        logprob=logprobs,
        top_logprobs=st.dictionaries(token_texts, logprobs, max_size=4),
    ),
    max_size=10,
)
samples_strategy = st.lists(
    st.builds(
        Sample,
        text=st.just(""),
        strategy=st.just("topk"),
        answer=answers,
        confidence=st.none() | st.floats(min_value=0.0, max_value=1.0),
        guesses=st.lists(
            st.builds(Guess, answer=answers.filter(bool), probability=st.none() | st.floats(0.0, 1.0)),
            max_size=3,
        ),
        tokens=st.none() | token_lists,
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(samples=samples_strategy, answer=answers, p_true=st.none() | st.floats(0.0, 1.0))
def test_every_signal_is_a_probability_or_none_with_a_reason(
    samples: list[Sample], answer: str | None, p_true: float | None
) -> None:
    signals = compute_signals(samples, answer, p_true=p_true)
    for name, value in signals.values().items():
        if value is None:
            assert signals.missing[name]
        else:
            assert 0.0 <= value <= 1.0
            assert name not in signals.missing
