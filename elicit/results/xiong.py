"""Xiong et al.'s confidence-elicitation table on four of their datasets, for a served model.

Xiong et al. 2024 ("Can LLMs Express Their Uncertainty?", ICLR) compare verbalized
confidence (vanilla, chain of thought, top-k, multi-step), consistency over sampled answers
and their hybrids (Avg-Conf, Pair-Rank) by ECE and AUROC. This pipeline asks a model the
test questions of StrategyQA, Date Understanding, Sports Understanding and Object Counting
(BIG-bench) once per prompt, five samples each, and reads every method off those samples,
so all methods score the same questions:

- a single-response method (M = 1) reads the first sample: its answer and stated confidence;
- Self-Random (M = 5) scores the five samples' majority answer by their agreement
  (Consistency), their confidence-weighted agreement (Avg-Conf) or, for the top-k prompt,
  the Bradley-Terry ranking of their guesses (Pair-Rank);
- Misleading (M = 5) takes the first vanilla sample's answer as the original and four samples
  asked with a misleading hint as the perturbed ones (the paper's construction; its prompt
  was chain of thought, elicit's hint strategy is the vanilla prompt with the hint);
- elicit's own signals score the vanilla majority answer: the answer's token probability,
  P(True), and the fusion head fitted on the training split (so it is judged out of sample).

A method that yields no confidence for a question (no answer parsed) scores it 0, and the
table says how often. Beside each figure stands the paper's GPT-3.5 value for the same
dataset and method, with the paper's table number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binomtest

from elicit import defaults
from elicit.calibration import metrics
from elicit.calibration.display.sentences import verdict_sentence
from elicit.calibration.fitting import HEAD
from elicit.calibration.stats import bootstrap_intervals, format_interval, percentile_interval, resample_indices
from elicit.calibration.verdicts import Verdict, verdicts
from elicit.elicitation.matching import match_any
from elicit.evaluation.batch import load_records
from elicit.results.document import Document, Provenance
from elicit.results.held_out import held_out
from elicit.results.runs import RecordSet
from elicit.signals.compute import compute_signals
from elicit.types import EvalRecord

PROMPTS: tuple[str, ...] = ("vanilla", "cot", "topk", "multistep", "hint")
TEST_LIMIT = 200
TRAIN_LIMIT = 300
HINTED = 4
"""Misleading samples beside the original answer (Xiong et al.: M = 5 is one answer and four hints)."""


def record_sets(task: str, test: int = TEST_LIMIT, train: int = TRAIN_LIMIT) -> dict[str, RecordSet]:
    """The runs one task's table reads: every prompt on ``test`` test questions, vanilla on ``train``
    training ones (the fusion head's)."""
    runs = {prompt: RecordSet((task,), "test", test, prompt) for prompt in PROMPTS}
    return {**runs, "train": RecordSet((task,), "train", train)}


@dataclass(frozen=True)
class Scores:
    """One method on one dataset: each question's outcome under the method's own answer, and its confidence."""

    correct: NDArray[np.bool_]
    confidence: NDArray[np.float64]
    missing: int


@dataclass(frozen=True, eq=False)
class Method:
    """A row of the table: what it is, and where the paper reports it for GPT-3.5 (table, {dataset: (ECE, AUROC)}).

    Rows are compared by identity: each is defined once, in ``METHODS``."""

    name: str
    prompt: str
    samples: int
    paper_table: str | None
    paper: Mapping[str, tuple[float, float]]


def _first(records: Sequence[EvalRecord]) -> Scores:
    """The first sample's answer and stated confidence."""
    correct, confidence, missing = [], [], 0
    for record in records:
        first = record.samples[0] if record.samples else None
        answer = first.answer if first is not None else None
        correct.append(answer is not None and match_any(answer, record.golds, record.question))
        stated = first.confidence if first is not None else None
        missing += stated is None
        confidence.append(0.0 if stated is None else stated)
    return Scores(np.array(correct), np.array(confidence), missing)


def _signal(records: Sequence[EvalRecord], name: str) -> Scores:
    """The majority answer, scored by one of its signals."""
    values = [record.signals.get(name) for record in records]
    return Scores(
        np.array([record.correct for record in records]),
        np.array([0.0 if value is None else value for value in values]),
        sum(value is None for value in values),
    )


def _misleading(vanilla: Sequence[EvalRecord], hinted: Sequence[EvalRecord], signal: str) -> Scores:
    """The first vanilla answer, scored by ``signal`` over it and four answers given under misleading hints."""
    correct, confidence, missing = [], [], 0
    for original, perturbed in zip(vanilla, hinted, strict=True):
        first = original.samples[0]
        answer = first.answer
        correct.append(answer is not None and match_any(answer, original.golds, original.question))
        value = None
        if answer is not None:
            samples = [first, *perturbed.samples[:HINTED]]
            value = compute_signals(samples, answer, question=original.question).get(signal)
        missing += value is None
        confidence.append(0.0 if value is None else value)
    return Scores(np.array(correct), np.array(confidence), missing)


Reader = Callable[[Mapping[str, Sequence[EvalRecord]]], Scores]

METHODS: tuple[tuple[Method, Reader], ...] = (
    (Method("Vanilla verbalized", "vanilla", 1, "2", {
        "strategyqa": (26.0, 52.8), "date_understanding": (47.0, 57.0), "sports_understanding": (25.1, 43.2),
        "object_counting": (47.1, 54.1)}), lambda runs: _first(runs["vanilla"])),
    (Method("CoT verbalized", "cot", 1, "8", {"strategyqa": (22, 60), "date_understanding": (23, 57)}),
     lambda runs: _first(runs["cot"])),
    (Method("Multi-step verbalized", "multistep", 1, "9", {"strategyqa": (17, 59), "date_understanding": (26, 72)}),
     lambda runs: _first(runs["multistep"])),
    (Method("Top-K verbalized", "topk", 1, "10", {"strategyqa": (14, 61.3), "date_understanding": (26.1, 74.2)}),
     lambda runs: _first(runs["topk"])),
    (Method("Self-Random + Consistency", "cot", 5, "3, 13", {
        "strategyqa": (23.3, 60.8), "date_understanding": (17.0, 66.8)}),
     lambda runs: _signal(runs["cot"], "agreement")),
    (Method("Self-Random + Avg-Conf", "cot", 5, "13", {"strategyqa": (15.9, 66.2), "date_understanding": (14.6, 68.8)}),
     lambda runs: _signal(runs["cot"], "avg_conf")),
    (Method("Self-Random + Pair-Rank", "topk", 5, None, {}), lambda runs: _signal(runs["topk"], "pair_rank")),
    (Method("Self-Random + Consistency", "vanilla", 5, None, {}), lambda runs: _signal(runs["vanilla"], "agreement")),
    (Method("Self-Random + Avg-Conf", "vanilla", 5, None, {}), lambda runs: _signal(runs["vanilla"], "avg_conf")),
    (Method("Misleading + Consistency", "hint", 5, "3, 13", {
        "strategyqa": (21.8, 61.5), "date_understanding": (20.5, 67.3)}),
     lambda runs: _misleading(runs["vanilla"], runs["hint"], "agreement")),
    (Method("Misleading + Avg-Conf", "hint", 5, "13", {"strategyqa": (15.0, 65.6), "date_understanding": (17.6, 63.8)}),
     lambda runs: _misleading(runs["vanilla"], runs["hint"], "avg_conf")),
    (Method("elicit: answer token probability", "vanilla", 5, None, {}),
     lambda runs: _signal(runs["vanilla"], "answer_prob")),
    (Method("elicit: P(True)", "vanilla", 5, None, {}), lambda runs: _signal(runs["vanilla"], "p_true")),
)  # fmt: skip
"""Every row, in table order, with how it is read off the runs."""

HEAD_METHOD = Method("elicit: fusion head (fitted on train)", "vanilla", 5, None, {})


def _aligned(runs: Mapping[str, Sequence[EvalRecord]]) -> dict[str, list[EvalRecord]]:
    """Every test run on file in the vanilla run's question order; a run asking other questions is refused."""
    order = [record.id for record in runs["vanilla"]]
    aligned = {}
    for prompt in (prompt for prompt in PROMPTS if prompt in runs):
        by_id = {record.id: record for record in runs[prompt]}
        if set(by_id) != set(order):
            raise ValueError(f"the {prompt} run holds other questions than the vanilla run: run both on the same split")
        aligned[prompt] = [by_id[identifier] for identifier in order]
    return aligned


@dataclass(frozen=True)
class TaskTable:
    """One dataset's methods, each with its scores."""

    task: str
    scores: dict[Method, Scores]


def task_table(runs: Mapping[str, Sequence[EvalRecord]], *, seed: int = defaults.SEED) -> TaskTable:
    """Every method's scores on one task's test questions (``runs``: each prompt's records and ``train``).

    A method whose prompt has no run is left out of the table; so is the head without a training run.
    """
    test = _aligned(runs)
    task = str(test["vanilla"][0].metadata.get("dataset"))
    table = {method: read(test) for method, read in METHODS if method.prompt in test}
    if runs.get("train"):
        fitted = held_out(runs["train"], test["vanilla"], seed=seed)
        table[HEAD_METHOD] = Scores(fitted.correct, fitted.scores[HEAD], 0)
    return TaskTable(task, table)


def load_task_runs(
    task: str, folder: Path, test: int = TEST_LIMIT, train: int = TRAIN_LIMIT
) -> dict[str, list[EvalRecord]] | None:
    """The records of one task's runs in ``folder``, or None without a complete vanilla test run.

    A test run is used only complete (every method must score the same questions); a prompt
    whose run is absent or cut short is left out. The training run is used as far as it went
    (the head's row says how many it was fitted on).
    """
    runs = {}
    for key, run in record_sets(task, test, train).items():
        path = run.path(folder)
        records = load_records(path) if path.is_file() else []
        if key == "train" or len(records) >= len(run.items()):
            runs[key] = records
    return runs if "vanilla" in runs else None


def _accuracy_interval(correct: NDArray[np.bool_]) -> tuple[float, float]:
    """Wilson score interval of the share correct (a bootstrap stratified by label has none)."""
    interval = binomtest(int(correct.sum()), int(correct.size)).proportion_ci(confidence_level=defaults.LEVEL,
                                                                             method="wilson")  # fmt: skip
    return float(interval.low), float(interval.high)


def _cell(value: float | None, interval: tuple[float, float] | None, scale: float = 100.0) -> str:
    if value is None:
        return "–"
    shown = None if interval is None else (scale * interval[0], scale * interval[1])
    return format_interval(scale * value, shown, 1)


def table_markdown(table: TaskTable, *, seed: int) -> str:
    """The dataset's rows: each method's n, accuracy, ECE and AUROC (x100) with 95% intervals, and the paper's."""
    lines = [
        "| method | prompt | M | n | missing | accuracy | ECE | AUROC | GPT-3.5 ECE / AUROC (table) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for method, scores in table.scores.items():
        intervals = bootstrap_intervals(scores.confidence, scores.correct, metrics=("ece", "auroc"), seed=seed)
        paper = method.paper.get(table.task)
        quoted = f"{paper[0]:g} / {paper[1]:g} ({method.paper_table})" if paper else "not reported"
        lines.append(
            f"| {method.name} | {method.prompt} | {method.samples} | {scores.correct.size} | {scores.missing} | "
            f"{_cell(float(scores.correct.mean()), _accuracy_interval(scores.correct))} | "
            f"{_cell(metrics.ece(scores.confidence, scores.correct), intervals['ece'])} | "
            f"{_cell(metrics.auroc(scores.confidence, scores.correct), intervals['auroc'])} | {quoted} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Finding:
    """One of the paper's headline findings, tested on one model's answers."""

    claim: str
    verdict: Verdict | None
    gap: tuple[float, tuple[float, float] | None] | None = None

    def sentence(self) -> str:
        if self.gap is not None:
            value, interval = self.gap
            shown = "no interval" if interval is None else f"[{interval[0]:+.3f}, {interval[1]:+.3f}]"
            outcome = "holds" if interval is not None and interval[0] > 0 else "not shown"
            return f"{self.claim}: mean confidence minus accuracy {value:+.3f} {shown}: {outcome}"
        if self.verdict is None:
            return f"{self.claim}: not run (no chain-of-thought runs for this model)"
        holds = self.verdict.word == "better"
        return f"{self.claim}: {verdict_sentence(self.verdict)}: {'holds' if holds else 'not shown'}"


def _pooled(tables: Sequence[TaskTable], method: Method) -> tuple[Scores, list[str]]:
    scores = [table.scores[method] for table in tables]
    strata = [table.task for table, part in zip(tables, scores, strict=True) for _ in range(part.correct.size)]
    return Scores(
        np.concatenate([s.correct for s in scores]), np.concatenate([s.confidence for s in scores]),
        sum(s.missing for s in scores),
    ), strata  # fmt: skip


def findings(tables: Sequence[TaskTable], *, seed: int = defaults.SEED) -> list[Finding]:
    """The paper's three headline findings on these answers, pooled over the datasets (resampled within each).

    A finding that needs the chain-of-thought runs is reported as not run when a dataset lacks them.
    """
    by_name = {(method.name, method.prompt): method for method in tables[0].scores}
    vanilla, strata = _pooled(tables, by_name["Vanilla verbalized", "vanilla"])
    codes = np.unique(strata, return_inverse=True)[1]
    index = resample_indices(vanilla.correct.size, n_resamples=defaults.N_RESAMPLES, seed=seed, strata=codes)
    gaps = vanilla.confidence[index].mean(axis=1) - vanilla.correct[index].mean(axis=1)
    gap = float(vanilla.confidence.mean() - vanilla.correct.mean())
    found = [Finding(OVERCONFIDENT, None, (gap, percentile_interval(gaps, defaults.LEVEL)))]
    wanted = [("Self-Random + Consistency", "cot"), ("CoT verbalized", "cot"), ("Self-Random + Avg-Conf", "cot")]
    present = set.intersection(*({(method.name, method.prompt) for method in table.scores} for table in tables))
    if not set(wanted) <= present:
        return [*found, Finding(CONSISTENCY_RANKS, None), Finding(HYBRID_RANKS, None)]
    consistency, strata = _pooled(tables, by_name[wanted[0]])
    cot, _ = _pooled(tables, by_name[wanted[1]])
    avg_conf, _ = _pooled(tables, by_name[wanted[2]])
    scores = {"consistency": consistency.confidence, "verbal": cot.confidence, "avg_conf": avg_conf.confidence}
    [ranks] = verdicts(
        consistency.correct, scores, "consistency", "verbal", metrics=("auroc",), strata=strata, seed=seed,
        rival_correct=cot.correct,
    )  # fmt: skip
    [hybrid] = verdicts(consistency.correct, scores, "avg_conf", "consistency", metrics=("auroc",), strata=strata,
                        seed=seed)  # fmt: skip
    return [*found, Finding(CONSISTENCY_RANKS, ranks), Finding(HYBRID_RANKS, hybrid)]


OVERCONFIDENT = "Verbalized confidence is overconfident (vanilla, M = 1)"
CONSISTENCY_RANKS = "Consistency ranks answers better than verbalized confidence (CoT, M = 5 against M = 1)"
HYBRID_RANKS = "The hybrid (Avg-Conf) ranks better than consistency alone (CoT, M = 5)"


PAPER = (
    'Xiong et al. 2024, "Can LLMs Express Their Uncertainty? An Empirical Evaluation of Confidence Elicitation '
    'in LLMs" (ICLR 2024; arXiv 2306.13063v2)'
)


def xiong_document(
    tables: Mapping[str, Sequence[TaskTable]], origin: Provenance, *, seed: int = defaults.SEED,
    wall_times: Mapping[str, str] | None = None,
) -> Document:  # fmt: skip
    """The table for every model, its findings, and the paper's GPT-3.5 figures beside."""
    document = Document("Confidence elicitation on four of Xiong et al.'s datasets", origin)
    document.add(
        f"Methods of {PAPER}, on the test splits of four BIG-bench tasks they report on; every method scores the "
        "same questions, from one run per prompt with 5 samples each (temperature "
        f"{defaults.TEMPERATURE}). Single-response methods (M = 1) read the first sample; Self-Random (M = 5) "
        "scores the five samples' majority answer; Misleading takes the first vanilla answer and four answers "
        "given under misleading hints (the paper used the chain-of-thought prompt for it; here the hint "
        "strategy is the vanilla prompt with a hint). The fusion head is fitted on the task's training split "
        "and scores the test questions **out of sample**; no other method is fitted. Accuracy, ECE and AUROC are "
        "x100 with 95% intervals (Wilson for accuracy; bootstrap with 1000 resamples stratified by label for "
        'ECE and AUROC); "missing" counts questions the method gave no confidence for (scored 0). The last '
        "column quotes the paper's GPT-3.5 figures for the same dataset and method with the paper's table "
        "number (Pair-Rank is reported there for GPT-4 only).",
    )
    for model, model_tables in tables.items():
        document.add(f"## {model}")
        document.add("\n".join(f"- {finding.sentence()}" for finding in findings(model_tables, seed=seed)))
        if wall_times and model in wall_times:
            document.add(wall_times[model])
        for table in model_tables:
            document.add(f"### {table.task}", table_markdown(table, seed=seed))
    return document


def replication_line(model: str, model_tables: Sequence[TaskTable], *, seed: int = defaults.SEED) -> str:
    """One line saying which of the paper's findings held for ``model``."""
    found = findings(model_tables, seed=seed)
    parts = [f"{finding.claim.split(' (')[0].lower()}: {finding.sentence().rsplit(': ', 1)[1]}" for finding in found]
    return f"{model}: " + "; ".join(parts)
