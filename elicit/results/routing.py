"""Does routing pay? The routing evaluation on the default mix, written as a results document.

Policies are fitted on TRAIN questions, the hidden layer and the designated policy are
chosen on DEV questions, and every policy is reported on held-out TEST questions at equal
retrieval budgets (see :mod:`elicit.routing.run`); the document quotes the run's own result.
"""

from __future__ import annotations

from pathlib import Path

from elicit import defaults
from elicit.calibration.stats import format_interval
from elicit.model.serving import ServerHandle
from elicit.results.document import Document, Provenance
from elicit.routing.comparison import DESIGNATION_BUDGET
from elicit.routing.mix import DEFAULT_MIX, mixed_items
from elicit.routing.run import RouteEvalConfig, RouteEvalResult, served_config

SIZES = {"train": 400, "dev": 200, "test": 600}
"""Questions per split of the documented run."""


def mix_config(
    server: ServerHandle, out: Path, *, sizes: dict[str, int] = SIZES, seed: int = defaults.SEED, progress: bool = True
) -> RouteEvalConfig:
    """The documented routing evaluation: the default mix, every split answered both ways."""
    train, dev, test = (mixed_items(DEFAULT_MIX, split, sizes[split], seed) for split in ("train", "dev", "test"))
    questions = " ".join(f"{name}={weight:g}" for name, weight in DEFAULT_MIX.items())
    return served_config(server, train, dev, test, out, questions=questions, seed=seed, progress=progress)


def _percent(value: float | None, interval: tuple[float, float] | None = None) -> str:
    if value is None:
        return "–"
    return format_interval(100 * value, None if interval is None else (100 * interval[0], 100 * interval[1]), 1)


def routing_document(result: RouteEvalResult, origin: Provenance) -> Document:
    """The comparison at the designation budget, and what the run chose on dev."""
    document = Document("Does routing pay?", origin)
    budget = f"{DESIGNATION_BUDGET:g}"
    document.add(
        f"{result.n_eval} held-out TEST questions (out of sample); policies fitted on {result.n_train} TRAIN "
        f"questions, the hidden layer and the designated policy chosen on {result.n_dev} DEV questions "
        f"({result.settings.get('questions')}; {result.settings.get('model')}). Every question was answered "
        f"without and with the top passages: {_percent(result.accuracy_no_retrieval)} correct without retrieval, "
        f"{_percent(result.accuracy_retrieval)} with it (retrieval fixes {result.retrieval_fixes} answers and breaks "
        f"{result.retrieval_breaks}; the gold passage is retrieved for {_percent(result.gold_passage_recall)} of "
        f"the questions that have one). Representation chosen on dev: {result.representation}. Designated on dev "
        f"(highest dev accuracy at {DESIGNATION_BUDGET:.0%} retrieval): **{result.designated}**.",
        f"At a {DESIGNATION_BUDGET:.0%} retrieval budget (accuracy with 95% bootstrap interval, 1000 resamples of "
        "the questions; the paired difference from random routing on the same questions; the share of the "
        "oracle's gain captured over all rates; chain passes spent):",
    )
    lines = ["| policy | accuracy | vs random (paired) | oracle share | calls |", "| --- | --- | --- | --- | --- |"]
    for row in result.budgets[budget]:
        share = result.oracle_share.get(row.policy)
        name = f"**{row.policy}** (designated)" if row.policy == result.designated else row.policy
        shift = "" if row.vs_random is None else _percent(row.vs_random, row.vs_random_interval)
        lines.append(
            f"| {name} | {_percent(row.accuracy, row.interval)} | {shift} | "
            f"{'' if share is None else f'{share:+.2f}'} | {row.generation_calls} |"
        )
    document.add("\n".join(lines))
    designated = [row for row in result.budgets[budget] if row.policy == result.designated][0]
    if designated.vs_random_interval is not None:
        low, high = designated.vs_random_interval
        word = "beats" if low > 0 else "loses to" if high < 0 else "is not distinguishable from"
        document.add(
            f"The designated policy {word} random routing at {DESIGNATION_BUDGET:.0%}: "
            f"{_percent(designated.vs_random, designated.vs_random_interval)} points (paired)."
        )
    others = "; ".join(
        f"{float(key):.0%}: "
        + ", ".join(f"{row.policy} {_percent(row.vs_random, row.vs_random_interval)}" for row in rows
                    if row.policy == result.designated)
        for key, rows in result.budgets.items() if key != budget
    )  # fmt: skip
    document.add(f"The designated policy against random at the other budgets: {others}.")
    return document
