"""The fusion and decisions documents: certification checked over random halves, the agent replayed, the head judged
out of sample, and a Xiong table with only some of its runs."""

from __future__ import annotations

import numpy as np
import pytest

from elicit.calibration.fitting import BEST_SINGLE, HEAD
from elicit.calibration.head import RULES
from elicit.datasets import split_of
from elicit.results.decisions import Answers, agent_policies, oracle_share, validity
from elicit.results.document import provenance
from elicit.results.fusion import case_table, fanout_split, fusion_document, held_out_case, learning_curve, rule_cases
from elicit.results.xiong import findings, task_table
from elicit.types import EvalRecord, Sample
from tests.unit.test_fitting import synthetic_records


def _brute_oracle(confidence: np.ndarray, correct: np.ndarray, risk: float) -> float:
    best = 0.0
    for threshold in np.unique(confidence):
        given = confidence >= threshold
        if np.mean(~correct[given]) <= risk:
            best = max(best, float(given.mean()))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_the_oracle_share_is_the_largest_any_threshold_answers_at_the_risk(seed: int) -> None:
    rng = np.random.default_rng(seed)
    confidence = np.round(rng.random(60), 1)  # ties on purpose
    correct = rng.random(60) < confidence
    for risk in (0.05, 0.2, 0.5):
        assert oracle_share(confidence, correct, risk) == pytest.approx(_brute_oracle(confidence, correct, risk))


def test_a_certified_threshold_on_calibrated_confidences_keeps_its_promise_over_many_halves() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.beta(4, 1, 2000)
    correct = rng.random(2000) < confidence
    checked = validity("synthetic", "calibrated", confidence, correct, risk=0.1, splits=60, seed=0)
    assert checked.splits == 60 and checked.certified >= 50  # Holm over 100 thresholds is conservative
    assert checked.violated / checked.splits <= checked.bound
    assert 0 < checked.answered.mean() <= checked.oracle.mean() + 0.05


def test_too_few_records_certify_nothing_and_answer_nothing() -> None:
    checked = validity("tiny", "calibrated", [0.9] * 20, [True] * 20, risk=0.05, splits=10, seed=0)
    assert checked.certified == 0 and checked.violated == 0 and checked.answered.max() == 0.0


def test_the_agent_answers_retrieves_or_abstains_by_its_certificates() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    closed = rng.random(n)
    context = rng.random(n)
    answers = Answers(closed, rng.random(n) < closed, context, rng.random(n) < context)
    agent, always, retrieve, lowest = agent_policies(answers, answers, risk=0.2)
    assert not always.retrieved.any() and retrieve.retrieved.all()
    assert agent.retrieved.sum() == lowest.retrieved.sum()  # the same cost in retrievals
    # The agent answers fewer questions than the policies that never abstain, and errs less among them.
    assert agent.given.mean() < 1.0 and always.given.all() and lowest.given.all()
    wrong = (agent.given & ~agent.right).sum() / agent.given.sum()
    assert wrong <= 0.2
    assert (agent.right <= agent.given).all()


def test_fanout_splits_train_apart_from_dev_and_test() -> None:
    records = synthetic_records(100)
    train, rest = fanout_split(records)
    assert {r.id for r in train}.isdisjoint(r.id for r in rest) and len(train) + len(rest) == 100
    assert all(split_of(r.id) == "train" for r in train)


def test_a_held_out_case_is_tabled_with_both_methods_and_their_paired_difference() -> None:
    records = synthetic_records(400)
    case = held_out_case("synthetic", records[:300], records[300:])
    assert set(case.scores) == {HEAD, BEST_SINGLE} and case.correct.size == 100
    table, tally = case_table([case], seed=0)
    row = table.splitlines()[2]
    assert row.startswith("| synthetic | fitted on 300, judged on 100 others |")
    assert tally.cases == 1 and tally.auroc_met + tally.brier_met >= 0 and row.count("[") == 6


def test_every_rule_is_cross_fitted_on_every_design_set_and_documented_as_design() -> None:
    records = synthetic_records(300)
    cases = rule_cases({"first": records[:150], "second": records[150:]})
    assert [case.label for case in cases] == [f"{name}, {rule}" for name in ("first", "second") for rule in RULES]
    assert all(case.correct.size == 150 and set(case.scores) == {HEAD, BEST_SINGLE} for case in cases)
    document, _ = fusion_document({}, {}, {}, None, provenance("test", 0), seed=0, rules={"model": cases})
    text = document.render()
    assert "How the head's rule was chosen" in text and "not independent of that choice" in text
    assert text.count("| first, ") == len(RULES)


def test_the_learning_curve_judges_every_fit_on_the_same_test_split() -> None:
    records = synthetic_records(400)
    points, n_test = learning_curve(records, sizes=(50, 200, 10_000), repeats=2)
    assert [p.n for p in points] == [50, 200]  # a size the pool cannot supply is not drawn
    assert n_test == sum(split_of(r.id) == "test" for r in records)
    assert all(p.head.size + p.skipped == 2 for p in points)
    assert np.nanmean(points[-1].head) > 0.7  # agreement carries the label


def _mc_record(i: int, correct: bool, confidence: float) -> EvalRecord:
    answer = "Yes" if correct else "No"
    return EvalRecord(
        id=f"strategyqa:{i}", question=f"q{i}?", golds=["Yes"], answer=answer, correct=correct,
        confidence=confidence, strategy="vanilla", n_samples=1,
        samples=[Sample(text=f"Answer: {answer}", answer=answer, confidence=confidence, strategy="vanilla")],
        metadata={"dataset": "strategyqa"},
    )  # fmt: skip


def test_a_task_with_only_its_vanilla_run_tables_the_vanilla_methods_and_says_what_was_not_run() -> None:
    rng = np.random.default_rng(0)
    vanilla = [_mc_record(i, bool(rng.random() < 0.5), float(rng.random())) for i in range(40)]
    table = task_table({"vanilla": vanilla, "train": []})
    prompts = {method.prompt for method in table.scores}
    assert prompts == {"vanilla"}
    sentences = [finding.sentence() for finding in findings([table])]
    assert "mean confidence minus accuracy" in sentences[0]
    assert all("not run" in sentence for sentence in sentences[1:])
