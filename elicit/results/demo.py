"""The demo: built-in questions asked of a served model, the fusion head cross-fitted on them.

``make demo`` (``elicit demo``) runs it and prints the comparison; the results command runs
the same function with the same seed and writes its numbers into ``docs/results/demo.md``,
so the figures the docs quote are the ones a fresh demo prints.
"""

from __future__ import annotations

from pathlib import Path

from elicit import defaults
from elicit.calibration.display.markdown import markdown_table
from elicit.calibration.display.sentences import verdict_sentence
from elicit.calibration.fitting import BEST_SINGLE, DEFAULT, HEAD
from elicit.calibration.head import FUSED
from elicit.chains import served_chain
from elicit.datasets import QAItem, load_mix
from elicit.evaluation.batch import aevaluate
from elicit.model.serving import ServerHandle
from elicit.results.cross_fit import FitResult, fit_to_folder
from elicit.results.document import Document, Provenance

DEMO_DATASETS: tuple[str, ...] = ("capitals", "cities", "us_capitals", "arithmetic")
DEMO_LIMIT = 300
SHOWN: tuple[str, ...] = (
    "raw:verbal_mean", "raw:p_true", "raw:agreement", "raw:answer_prob", "raw:semantic_entropy", DEFAULT,
    BEST_SINGLE, FUSED, HEAD,
)  # fmt: skip
"""The rows the document shows: the raw signals a user would reach for, then every fitted method."""


def demo_items(limit: int = DEMO_LIMIT, seed: int = defaults.SEED) -> list[QAItem]:
    """The demo's questions: an even, seeded mix of the demo sets."""
    return load_mix(DEMO_DATASETS, per_set=max(1, limit // len(DEMO_DATASETS)), seed=seed)


async def ademo(
    server: ServerHandle, out: Path, *, limit: int = DEMO_LIMIT, seed: int = defaults.SEED,
    samples: int = defaults.N_SAMPLES, concurrency: int = defaults.CONCURRENCY, progress: bool = True,
) -> FitResult:  # fmt: skip
    """Evaluate the demo's questions into ``out/records.jsonl`` (resumed), cross-fit, save head and report."""
    records_path = out / "records.jsonl"
    chain = served_chain(server, n_samples=samples, seed=seed, max_concurrency=concurrency)
    records = await aevaluate(chain, demo_items(limit, seed), records_path, concurrency=concurrency, progress=progress)
    title = f"elicit demo: {server.model_name} on built-in questions"
    return fit_to_folder(records, out, title=title, seed=seed, source=str(records_path))


def demo_document(result: FitResult, origin: Provenance) -> Document:
    """The demo's numbers as a results document."""
    fit, report = result.fit, result.report
    document = Document("The demo", origin)
    accuracy = float(fit.correct.mean())
    document.add(
        f"{len(fit.records)} built-in questions ({', '.join(DEMO_DATASETS)}, an even seeded mix; "
        f"{fit.excluded_few_shot} few-shot questions left out), {defaults.N_SAMPLES} samples each at temperature "
        f"{defaults.TEMPERATURE}; the model answers {accuracy:.1%} correctly. Every method is scored **out of "
        f"fold** ({defaults.FOLDS}-fold cross-fitting, stratified by dataset and label): the fitted ones never "
        "saw the questions they score. Brackets hold 95% bootstrap intervals (1000 resamples, stratified by "
        "dataset and label); the best value per column is in bold.",
        markdown_table([row for row in report.rows if row.method in SHOWN]),
        "Head chosen in each training part: " + ", ".join(fit.head_choices) + ". Best single signal chosen in "
        "each training part (highest AUROC there, Platt-mapped): " + ", ".join(fit.best_single_choices) + ".",
        "Paired on the same questions:",
        "\n".join(f"- {verdict_sentence(verdict)}" for verdict in report.verdicts),
        "Per dataset:",
        markdown_table([row for row in report.by_dataset if row.method in (HEAD, BEST_SINGLE)]),
    )
    return document
