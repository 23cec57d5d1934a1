import math

import pytest
from scipy.optimize import brentq
from scipy.special import expit
from scipy.stats import entropy as shannon_entropy

from elicit.signals.compute import compute_signals
from elicit.signals.groups import group_answers, majority_answer
from elicit.signals.verbal import PAIR_RANK_L2
from elicit.types import Guess, Sample


def value(name: str, samples: list[Sample], answer: str | None = None) -> float | None:
    """One signal of ``samples`` about ``answer``, as ``compute_signals`` gives it."""
    return compute_signals(samples, answer).get(name)


def agreement(samples: list[Sample], answer: str | None) -> float | None:
    return value("agreement", samples, answer)


def avg_conf(samples: list[Sample], answer: str | None) -> float | None:
    return value("avg_conf", samples, answer)


def pair_rank(samples: list[Sample], answer: str | None) -> float | None:
    return value("pair_rank", samples, answer)


def margin(samples: list[Sample]) -> float | None:
    return value("margin", samples)


def verbal_mean(samples: list[Sample]) -> float | None:
    return value("verbal_mean", samples)


def answer_entropy_confidence(samples: list[Sample]) -> float | None:
    return value("entropy", samples)


def sample(answer: str | None, confidence: float | None = None, guesses: list[Guess] | None = None) -> Sample:
    return Sample(
        text=f"Answer: {answer}",
        strategy="vanilla",
        answer=answer,
        confidence=confidence,
        guesses=guesses or [],
        parsed=answer is not None,
    )


def ranked(*answers: str) -> Sample:
    return sample(answers[0], guesses=[Guess(answer=a) for a in answers])


@pytest.fixture
def paris_lyon() -> list[Sample]:
    """3x Paris (0.9, 0.8, 0.7), Lyon (0.5), one unparsed sample without confidence."""
    return [
        sample("paris", 0.9),
        sample("Paris", 0.8),
        sample("Paris", 0.7),
        sample("Lyon", 0.5),
        sample(None),
    ]


def test_group_answers_counts_members_and_most_frequent_spelling(paris_lyon: list[Sample]) -> None:
    groups = group_answers(paris_lyon)
    assert [(g.answer, g.count, g.indices) for g in groups] == [("Paris", 3, (0, 1, 2)), ("Lyon", 1, (3,))]


def test_group_answers_breaks_ties_by_first_appearance() -> None:
    groups = group_answers([sample("Lyon"), sample("Paris"), sample("Paris"), sample("Lyon")])
    assert [g.answer for g in groups] == ["Lyon", "Paris"]


def test_hand_worked_five_samples(paris_lyon: list[Sample]) -> None:
    assert majority_answer(paris_lyon) == "Paris"
    assert agreement(paris_lyon, "Paris") == pytest.approx(3 / 5)
    assert agreement(paris_lyon, "Lyon") == pytest.approx(1 / 5)
    assert avg_conf(paris_lyon, "Paris") == pytest.approx(2.4 / 2.9)
    assert avg_conf(paris_lyon, "Lyon") == pytest.approx(0.5 / 2.9)
    assert margin(paris_lyon) == pytest.approx((3 - 1) / 5)
    assert verbal_mean(paris_lyon) == pytest.approx((0.9 + 0.8 + 0.7 + 0.5) / 4)
    # Distribution 3/5, 1/5 and the unparsed sample as its own 1/5:
    # H = -(0.6 ln 0.6 + 2 * 0.2 ln 0.2) = 0.950271, log 5 = 1.609438.
    assert answer_entropy_confidence(paris_lyon) == pytest.approx(1 - 0.950271 / 1.609438, abs=1e-6)
    assert answer_entropy_confidence(paris_lyon) == pytest.approx(1 - shannon_entropy([3, 1, 1]) / math.log(5))


def test_unparsed_samples_each_count_as_a_distinct_answer() -> None:
    # Two unparsed samples are two different answers, not one shared "no answer".
    samples = [sample("Paris"), sample("Paris"), sample(None), sample(None)]
    expected = 1 - shannon_entropy([2, 1, 1]) / math.log(4)
    assert answer_entropy_confidence(samples) == pytest.approx(expected)


def test_consensus_and_total_disagreement_extremes() -> None:
    same = [sample("Rome")] * 4
    assert answer_entropy_confidence(same) == pytest.approx(1.0)
    assert margin(same) == pytest.approx(1.0)
    assert agreement(same, "rome") == pytest.approx(1.0)
    different = [sample("Rome"), sample("Oslo"), sample("Bern"), sample(None)]
    assert answer_entropy_confidence(different) == pytest.approx(0.0, abs=1e-12)
    assert margin(different) == pytest.approx(0.0)


def test_degenerate_inputs_give_none() -> None:
    assert answer_entropy_confidence([sample("Rome")]) is None
    assert majority_answer([sample(None), sample(None)]) is None
    assert margin([sample(None)]) is None
    assert agreement([], "Rome") is None
    assert agreement([sample("Rome")], None) is None
    assert verbal_mean([sample("Rome")]) is None
    assert avg_conf([sample("Rome")], "Rome") is None
    assert avg_conf([sample("Rome", 0.0), sample("Oslo", 0.0)], "Rome") is None


def test_avg_conf_counts_confident_unparsed_samples_in_the_denominator() -> None:
    samples = [sample("Rome", 0.6), sample(None, 0.4)]
    assert avg_conf(samples, "Rome") == pytest.approx(0.6)


def test_pair_rank_always_first_answer_gets_largest_probability() -> None:
    samples = [ranked("Paris", "Lyon", "Nice"), ranked("Paris", "Nice", "Lyon"), ranked("Paris", "Lyon")]
    probabilities = {a: pair_rank(samples, a) for a in ("Paris", "Lyon", "Nice")}
    assert probabilities["Paris"] == max(probabilities.values())
    assert probabilities["Paris"] > 0.5
    assert sum(probabilities.values()) == pytest.approx(1.0)


def test_pair_rank_symmetric_rankings_give_equal_probability() -> None:
    samples = [ranked("Paris", "Lyon"), ranked("Lyon", "Paris")]
    assert pair_rank(samples, "Paris") == pytest.approx(0.5, abs=1e-6)
    assert pair_rank(samples, "lyon") == pytest.approx(0.5, abs=1e-6)


def test_pair_rank_answers_missing_from_a_top_k_rank_below_it() -> None:
    # Each sample lists one answer: each beats the other once, as if both listed both.
    samples = [ranked("Paris"), ranked("Lyon")]
    assert pair_rank(samples, "Paris") == pytest.approx(0.5, abs=1e-6)


def test_pair_rank_two_answers_matches_the_scalar_optimum() -> None:
    # Paris above Lyon 3 times, below once. With z_P = -z_L = d/2 the objective is
    # 3 log sig(d) + log sig(-d) - L2 d^2 / 2, whose stationary point solves
    # 3 sig(-d) - sig(d) - L2 d = 0, and p_Paris = sig(d); without the penalty p = 3/4.
    samples = [ranked("Paris", "Lyon")] * 3 + [ranked("Lyon", "Paris")]
    d = brentq(lambda d: 3 * expit(-d) - expit(d) - PAIR_RANK_L2 * d, 0.0, 10.0)
    assert pair_rank(samples, "Paris") == pytest.approx(expit(d), abs=1e-5)
    assert expit(d) == pytest.approx(0.75, abs=0.02)


def test_pair_rank_orders_by_stated_probability_else_listed_order() -> None:
    by_probability = [
        sample("Lyon", guesses=[Guess(answer="Lyon", probability=0.2), Guess(answer="Paris", probability=0.7)])
    ]
    assert pair_rank(by_probability, "Paris") > 0.5
    listed = [sample("Lyon", guesses=[Guess(answer="Lyon"), Guess(answer="Paris", probability=0.7)])]
    assert pair_rank(listed, "Lyon") > 0.5


def test_pair_rank_groups_spellings_and_ignores_repeats() -> None:
    samples = [ranked("Paris", "paris", "Lyon"), ranked("Lyon", "Paris")]
    assert pair_rank(samples, "Paris") == pytest.approx(0.5, abs=1e-6)


def test_pair_rank_edge_cases() -> None:
    assert pair_rank([sample("Paris")], "Paris") is None
    assert pair_rank([ranked("Paris", "Lyon")], None) is None
    assert pair_rank([ranked("Paris", "Lyon")], "Rome") == 0.0
    assert pair_rank([ranked("Paris"), ranked("Paris")], "Paris") == pytest.approx(1.0)
