"""Semantic consistency and sequence-level signals, on hand-worked sample sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from elicit.signals import semantic
from elicit.signals.compute import compute_signals
from elicit.types import Sample, TokenLogprob

SEMANTIC_SIGNALS = {spec.name for spec in semantic.SIGNALS}
SEQUENCE_SIGNALS = {"sequence_prob", "sequence_joint_prob"}


def _family(names, samples, answer, question=None, encoder=None):
    """The values and the reasons for missing ones of the signals ``names``, as compute_signals gives them."""
    signals = compute_signals(samples, answer, question=question, encoder=encoder)
    values = {name: value for name in names if (value := signals.get(name)) is not None}
    return values, {name: reason for name, reason in signals.missing.items() if name in names}


def semantic_signals(samples, answer, question=None, encoder=None):
    return _family(SEMANTIC_SIGNALS, samples, answer, question, encoder)


def sequence_signals(samples):
    return _family(SEQUENCE_SIGNALS, samples, None)


class TableEncoder:
    """Vectors from a fixed table: the similarities of a test are chosen, not learned."""

    model_name = "table"

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def encode(self, texts):
        return np.array([self.table[text] for text in texts], dtype=float)


def samples(*answers: str | None, logprobs: list[list[float]] | None = None) -> list[Sample]:
    result = []
    for i, answer in enumerate(answers):
        tokens = None if logprobs is None else [TokenLogprob(token="x", logprob=lp) for lp in logprobs[i]]
        result.append(
            Sample(text=answer or "?", strategy="vanilla", answer=answer, parsed=answer is not None, tokens=tokens)
        )
    return result


VINCI = TableEncoder(
    {
        "Leonardo da Vinci": [1.0, 0.0, 0.0],
        "da Vinci": [0.95, math.sqrt(1 - 0.95**2), 0.0],  # cosine 0.95: one meaning
        "Michelangelo": [0.6, 0.0, 0.8],  # cosine 0.6: another artist
    }
)
QUESTION = "Who painted the Mona Lisa?"


def test_paraphrases_form_one_meaning_cluster() -> None:
    drawn = samples("Leonardo da Vinci", "da Vinci", "Leonardo da Vinci", "Michelangelo")
    values, reasons = semantic_signals(drawn, "Leonardo da Vinci", QUESTION, VINCI)
    assert reasons == {}
    assert values["semantic_agreement"] == pytest.approx(3 / 4)
    # Clusters of 3 and 1 out of 4, equally weighted without tokens: 1 - H / log 4.
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert values["semantic_entropy"] == pytest.approx(1 - entropy / math.log(4))
    assert values["answer_similarity"] == pytest.approx((1 + 0.95 + 1 + 0.6) / 4)
    assert 0.0 <= values["eigen_confidence"] <= 1.0


def test_without_an_encoder_meanings_come_from_matching_alone() -> None:
    drawn = samples("Leonardo da Vinci", "da Vinci", "Leonardo da Vinci", "Michelangelo")
    values, reasons = semantic_signals(drawn, "Leonardo da Vinci", QUESTION, None)
    assert values["semantic_agreement"] == pytest.approx(2 / 4)
    assert set(reasons) == {"embedding_similarity", "answer_similarity", "eigen_confidence"}
    assert reasons["answer_similarity"] == "no embedding model given"


def test_numbers_that_differ_never_merge_however_close_they_embed() -> None:
    close = TableEncoder({"391": [1.0, 0.0], "392": [0.99, math.sqrt(1 - 0.99**2)]})
    values, _ = semantic_signals(samples("391", "392"), "391", "What is 17 * 23?", close)
    assert values["semantic_agreement"] == 0.5


def test_agreeing_samples_are_fully_consistent_and_unanswered_ones_count_against() -> None:
    encoder = TableEncoder({"Paris": [1.0, 0.0]})
    same, _ = semantic_signals(samples("Paris", "Paris", "Paris"), "Paris", None, encoder)
    assert same["semantic_entropy"] == pytest.approx(1.0) and same["eigen_confidence"] == pytest.approx(1.0)
    assert same["lexical_similarity"] == 1.0 and same["embedding_similarity"] == pytest.approx(1.0)
    partial, _ = semantic_signals(samples("Paris", None, "Paris"), "Paris", None, encoder)
    assert partial["semantic_agreement"] == pytest.approx(2 / 3)
    assert partial["lexical_similarity"] == pytest.approx(1 / 3)  # only the Paris-Paris pair overlaps
    assert partial["embedding_similarity"] == pytest.approx(1 / 3)


def test_semantic_entropy_weights_meanings_by_sequence_probability() -> None:
    encoder = TableEncoder({"Paris": [1.0, 0.0], "Lyon": [0.0, 1.0]})
    drawn = samples("Paris", "Lyon", logprobs=[[math.log(0.9)], [math.log(0.1)]])
    values, _ = semantic_signals(drawn, "Paris", None, encoder)
    entropy = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))
    assert values["semantic_entropy"] == pytest.approx(1 - entropy / math.log(2))


def test_missing_inputs_give_reasons() -> None:
    values, reasons = semantic_signals([], "Paris", None, None)
    assert values == {} and set(reasons) == set(SEMANTIC_SIGNALS)
    values, reasons = semantic_signals(samples("Paris"), None, None, None)
    assert reasons["semantic_agreement"] == "no answer to score"
    assert reasons["semantic_entropy"] == "needs at least 2 samples"


def test_sequence_signals_are_perplexity_and_joint_probability() -> None:
    drawn = samples("a", "b", None, logprobs=[[math.log(0.5), math.log(0.5)], [math.log(0.8)], [math.log(0.2)]])
    values, reasons = sequence_signals(drawn)
    assert reasons == {}
    assert values["sequence_prob"] == pytest.approx((0.5 + 0.8 + 0.2) / 3)
    assert values["sequence_joint_prob"] == pytest.approx(
        math.exp((math.log(0.25) + math.log(0.8) + math.log(0.2)) / 3)
    )
    assert sequence_signals(samples("a"))[1]["sequence_prob"] == "logprobs were not requested"


def test_compute_signals_records_the_sample_count_and_semantic_signals() -> None:
    signals = compute_signals(samples("Paris", "Paris", "Lyon"), "Paris", question="What is the capital of France?")
    assert signals.n_samples == 3
    assert signals.semantic_agreement == pytest.approx(2 / 3)
    assert signals.missing["embedding_similarity"] == "no embedding model given"
