"""``elicit eval``, ``elicit fit``, ``elicit report`` and ``elicit demo``: batch calibration studies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from elicit.calibration.fitting import DEFAULT, FUSED, fit_held_out, raw_scores
from elicit.calibration.fusion import FusionHead
from elicit.calibration.report import comparison_rows, print_table, write_report
from elicit.chains import ConfidenceChain
from elicit.cli.common import BaseUrlOption, ModelOption, app, console, fail, server_for
from elicit.datasets import BUILTIN_DATASETS, QAItem, load_builtin, load_jsonl, load_mix
from elicit.elicitation.prompts import STRATEGIES
from elicit.evaluation.batch import aevaluate, load_records
from elicit.model.client import chat_model
from elicit.model.loop import run_sync
from elicit.types import EvalRecord

DEMO_DATASETS = ("capitals", "cities", "us_capitals", "arithmetic")


def _items(datasets: Sequence[str], data: Path | None, split: str | None, limit: int | None, seed: int) -> list[QAItem]:
    if data is not None:
        items = load_jsonl(data)
        return items[:limit] if limit else items
    names = list(datasets) or ["capitals"]
    if len(names) == 1:
        return load_builtin(names[0], split, seed=seed, limit=limit)
    if not limit:
        raise ValueError("--limit is required when mixing several --dataset values")
    return load_mix(names, per_set=max(1, limit // len(names)), split=split, seed=seed)


def _run_eval(
    handle, items: list[QAItem], out: Path, *, strategy: str, samples: int, temperature: float, max_tokens: int,
    concurrency: int, fusion: FusionHead | None, keep_tokens: bool,
) -> list[EvalRecord]:  # fmt: skip
    chain = ConfidenceChain(
        chat_model(handle), strategy=strategy, n_samples=samples, temperature=temperature,
        max_tokens=max_tokens, fusion=fusion, max_concurrency=concurrency,
    )  # fmt: skip
    return run_sync(aevaluate(chain, items, out, concurrency=concurrency, keep_tokens=keep_tokens))


def _fit_and_report(records: list[EvalRecord], out_dir: Path, seed: int, title: str) -> None:
    held_out = fit_held_out(records, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    head_path = out_dir / "fusion-head.json"
    held_out.head.save(head_path)
    rows = comparison_rows(held_out.correct, held_out.scores)
    single = [r for r in rows if r["method"].startswith("raw:") and r["auroc"] is not None]
    best = max(single, key=lambda r: r["auroc"])["method"] if single else None
    highlight = [FUSED, DEFAULT, *([best] if best else [])]
    meta = {"train records": len(held_out.train), "held-out records": len(held_out.test), "split seed": seed}
    page = write_report(out_dir, held_out.correct, held_out.scores, title=title, meta=meta, highlight=highlight)
    print_table(rows, console=console)
    console.print(f"fusion head: {head_path}\nreport: {page}")


@app.command("eval")
def eval_command(
    dataset: Annotated[list[str] | None, typer.Option(help=f"Built-in set(s): {', '.join(BUILTIN_DATASETS)}.")] = None,
    data: Annotated[Path | None, typer.Option(help="A JSONL file of {question, answer(s)} instead.")] = None,
    split: Annotated[str | None, typer.Option(help="train, dev or test (default: all).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many questions (a seeded sample).")] = None,
    out: Annotated[Path, typer.Option(help="JSONL output; an existing file is resumed.")] = Path("runs/eval.jsonl"),
    strategy: Annotated[str, typer.Option(help=f"One of {', '.join(STRATEGIES)}.")] = "vanilla",
    samples: Annotated[int, typer.Option(help="Samples per question.")] = 5,
    temperature: float = 0.7,
    max_tokens: int = 48,
    concurrency: Annotated[int, typer.Option(help="Questions in flight at once.")] = 8,
    fusion: Annotated[Path | None, typer.Option(help="A fitted fusion head for the confidence.")] = None,
    keep_tokens: Annotated[bool, typer.Option(help="Keep token logprobs in the JSONL (large).")] = False,
    seed: int = 0,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Evaluate a dataset: one JSONL record per question, written as it finishes (resumable)."""
    try:
        items = _items(dataset or [], data, split, limit, seed)
        head = FusionHead.load(fusion) if fusion else None
        with server_for(model, base_url) as handle:
            records = _run_eval(
                handle, items, out, strategy=strategy, samples=samples, temperature=temperature,
                max_tokens=max_tokens, concurrency=concurrency, fusion=head, keep_tokens=keep_tokens,
            )  # fmt: skip
    except ValueError as exc:
        raise fail(exc) from exc
    accuracy = sum(r.correct for r in records) / len(records)
    console.print(f"{len(records)} questions, accuracy {accuracy:.1%}, records: {out}")


@app.command("fit")
def fit_command(
    records: Annotated[Path, typer.Argument(help="An evaluation JSONL file.")],
    out: Annotated[Path, typer.Option(help="Folder for fusion-head.json and the report.")] = Path("runs/fit"),
    seed: Annotated[int, typer.Option(help="Seed of the train / held-out split of record ids.")] = 0,
) -> None:
    """Fit the fusion head on the train split, compare it with every signal and baseline on the rest."""
    try:
        _fit_and_report(load_records(records), out, seed, title=f"Held-out calibration: {records.name}")
    except ValueError as exc:
        raise fail(exc) from exc


@app.command("report")
def report_command(
    records: Annotated[Path, typer.Argument(help="An evaluation JSONL file.")],
    out: Annotated[Path, typer.Option(help="Folder for report.json, report.html and figures.")] = Path("runs/report"),
    head: Annotated[Path | None, typer.Option(help="Also score the records with this fusion head.")] = None,
) -> None:
    """Report every signal's calibration on a records file as it is (no fitting)."""
    try:
        loaded = load_records(records)
        if not loaded:
            raise ValueError(f"{records} holds no evaluation records")
        scores = raw_scores(loaded)
        if head is not None:
            scores[FUSED] = FusionHead.load(head).predict([r.signals for r in loaded])
        correct = [r.correct for r in loaded]
        page = write_report(out, correct, scores, title=f"Calibration: {records.name}", meta={"records": len(loaded)})
    except ValueError as exc:
        raise fail(exc) from exc
    print_table(comparison_rows(correct, scores), console=console)
    console.print(f"report: {page}")


@app.command("demo")
def demo(
    limit: Annotated[int, typer.Option(help="Questions to evaluate, mixed from the built-in sets.")] = 300,
    out: Annotated[Path, typer.Option(help="Folder for records, fusion head and report.")] = Path("runs/demo"),
    samples: int = 5,
    concurrency: int = 8,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Evaluate built-in questions on the embedded model, fit the fusion head, print the comparison."""
    items = load_mix(DEMO_DATASETS, per_set=max(1, limit // len(DEMO_DATASETS)), seed=0)
    records_path = out / "records.jsonl"
    console.print(f"evaluating {len(items)} questions from {', '.join(DEMO_DATASETS)} -> {records_path}")
    try:
        with server_for(model, base_url) as handle:
            records = _run_eval(
                handle, items, records_path, strategy="vanilla", samples=samples, temperature=0.7,
                max_tokens=32, concurrency=concurrency, fusion=None, keep_tokens=False,
            )  # fmt: skip
        _fit_and_report(records, out, seed=0, title="elicit demo: SmolLM2-135M-Instruct on built-in questions")
    except ValueError as exc:
        raise fail(exc) from exc
