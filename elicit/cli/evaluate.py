"""``elicit eval``, ``elicit fit``, ``elicit report`` and ``elicit demo``: batch calibration studies."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from elicit import defaults
from elicit.calibration.display.report_files import write_report
from elicit.calibration.display.terminal import print_table
from elicit.calibration.fitting import HEAD, dataset_of, raw_scores, scored_records
from elicit.calibration.head import DEFAULT_RULE, RULES, FusionHead, Rule
from elicit.calibration.report import build_report
from elicit.calibration.rows import INTERVAL_NOTE
from elicit.chains import served_chain
from elicit.cli.common import (
    BaseUrlOption,
    ConcurrencyOption,
    MaxTokensOption,
    ModelOption,
    SamplesOption,
    SeedOption,
    TemperatureOption,
    console,
    fail,
    server_for,
)
from elicit.cli.group import app
from elicit.datasets import BUILTIN_DATASETS, QAItem, load_jsonl, select_builtin
from elicit.elicitation.strategies import STRATEGIES
from elicit.evaluation.batch import aevaluate, load_records
from elicit.evaluation.rescore import rescored
from elicit.model.embeddings import bundled_encoder
from elicit.model.loop import run_sync
from elicit.model.serving import BASE_URL_ENV, ServerHandle, ServingError, vllm_flavour
from elicit.results.cross_fit import fit_to_folder, print_fit
from elicit.results.demo import DEMO_DATASETS, DEMO_LIMIT, ademo, demo_items
from elicit.types import EvalRecord


def _items(datasets: Sequence[str], data: Path | None, split: str | None, limit: int | None, seed: int) -> list[QAItem]:
    if data is not None:
        items = load_jsonl(data)
        return items[:limit] if limit else items
    return select_builtin(list(datasets) or ["capitals"], split, limit=limit, seed=seed)


def _run_eval(
    handle, items: list[QAItem], out: Path, *, strategy: str, samples: int, temperature: float, max_tokens: int | None,
    concurrency: int, fusion: FusionHead | None, keep_tokens: bool, seed: int,
) -> list[EvalRecord]:  # fmt: skip
    chain = served_chain(
        handle, strategy=strategy, n_samples=samples, temperature=temperature, max_tokens=max_tokens,
        fusion=fusion, max_concurrency=concurrency, seed=seed,
    )  # fmt: skip
    return run_sync(aevaluate(chain, items, out, concurrency=concurrency, keep_tokens=keep_tokens))


@contextmanager
def _ray_endpoints(
    model: str | None, base_urls: Sequence[str], replicas: int, gpus: float | None
) -> Iterator[list[ServerHandle]]:
    """The endpoints of a Ray run: ``replicas`` servers started as Ray actors, else each URL (or a local server)."""
    if replicas:
        from elicit.model.ray_replicas import ray_replicas  # Ray only on the --ray path

        with ray_replicas(replicas, model=model, gpus=float(vllm_flavour() == "gpu") if gpus is None else gpus) as ends:
            yield ends
        return
    urls: list[str | None] = [*base_urls] or [None]  # no URL: start a local server
    with ExitStack() as stack:
        yield [stack.enter_context(server_for(model, url)) for url in urls]


def _run_eval_on_ray(
    address: str | None, model: str | None, base_urls: Sequence[str], items: list[QAItem], out: Path, *, replicas: int,
    replica_gpus: float | None, actors: int | None, concurrency: int, keep_tokens: bool, **chain_settings: Any,
) -> list[EvalRecord]:  # fmt: skip
    """``elicit eval --ray``: the same records, computed by a pool of Ray actors spread over the endpoints."""
    try:
        from elicit.evaluation.ray_batch import evaluate_on_ray, ray_cluster  # Ray only on the --ray path
    except ModuleNotFoundError as exc:
        raise ValueError(f"--ray needs Ray: pip install 'elicit[ray]' ({exc})") from exc

    with (
        ray_cluster(address),
        _ray_endpoints(model, base_urls, replicas, replica_gpus) as endpoints,
    ):
        return evaluate_on_ray(
            partial(served_chain, max_concurrency=concurrency, **chain_settings), items, out, endpoints=endpoints,
            actors=actors or len(endpoints), concurrency=concurrency, keep_tokens=keep_tokens,
        )  # fmt: skip


@app.command("eval")
def eval_command(
    dataset: Annotated[list[str] | None, typer.Option(help=f"Built-in set(s): {', '.join(BUILTIN_DATASETS)}.")] = None,
    data: Annotated[Path | None, typer.Option(help="A JSONL file of {question, answer(s)} instead.")] = None,
    split: Annotated[str | None, typer.Option(help="train, dev or test (default: all).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many questions (a seeded sample).")] = None,
    out: Annotated[Path, typer.Option(help="JSONL output; an existing file is resumed.")] = Path("runs/eval.jsonl"),
    strategy: Annotated[str, typer.Option(help=f"One of {', '.join(STRATEGIES)}.")] = "vanilla",
    samples: SamplesOption = defaults.N_SAMPLES,
    temperature: TemperatureOption = defaults.TEMPERATURE,
    max_tokens: MaxTokensOption = None,
    concurrency: ConcurrencyOption = defaults.CONCURRENCY,
    fusion: Annotated[Path | None, typer.Option(help="A fitted fusion head for the confidence.")] = None,
    keep_tokens: Annotated[bool, typer.Option(help="Keep token logprobs in the JSONL (large).")] = False,
    seed: SeedOption = defaults.SEED,
    model: ModelOption = None,
    base_url: Annotated[
        list[str] | None,
        typer.Option(envvar=BASE_URL_ENV, help="A running server instead of starting vLLM; with --ray, repeatable."),
    ] = None,
    ray: Annotated[
        bool, typer.Option(help="Run on Ray actors (pip install 'elicit\\[ray]'); --concurrency is then per actor.")
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(help="With --ray: 'auto' or 'ray://HOST:10001' to join a cluster (default: start one here)."),
    ] = None,
    actors: Annotated[
        int | None, typer.Option(help="With --ray: actors, spread over the endpoints (default: one each).")
    ] = None,
    replicas: Annotated[int, typer.Option(help="With --ray: start this many vLLM servers as Ray actors.")] = 0,
    replica_gpus: Annotated[
        float | None, typer.Option(help="With --replicas: GPUs per replica (default: 1 with GPU vLLM, else 0).")
    ] = None,
) -> None:
    """Evaluate a dataset: one JSONL record per question, written as it finishes (resumable)."""
    urls = base_url or []
    try:
        if not ray and (len(urls) > 1 or actors or replicas or ray_address):
            raise ValueError("several --base-url, --actors, --replicas and --ray-address need --ray")
        if replicas and urls:
            raise ValueError("give either --base-url or --replicas, not both")
        if ray_address and not (urls or replicas):
            raise ValueError("with --ray-address, give --base-url URLs every node can reach, or --replicas")
        items = _items(dataset or [], data, split, limit, seed)
        head = FusionHead.load(fusion) if fusion else None
        if ray:
            records = _run_eval_on_ray(
                ray_address, model, urls, items, out, replicas=replicas, replica_gpus=replica_gpus, actors=actors,
                concurrency=concurrency, keep_tokens=keep_tokens, strategy=strategy, n_samples=samples,
                temperature=temperature, max_tokens=max_tokens, fusion=head, seed=seed,
            )  # fmt: skip
        else:
            with server_for(model, urls[0] if urls else None) as handle:
                records = _run_eval(
                    handle, items, out, strategy=strategy, samples=samples, temperature=temperature,
                    max_tokens=max_tokens, concurrency=concurrency, fusion=head, keep_tokens=keep_tokens, seed=seed,
                )  # fmt: skip
    except (ValueError, ServingError) as exc:
        raise fail(exc) from exc
    scored, leaked = scored_records(records)
    if leaked:
        console.print(
            f"[yellow]{leaked} question(s) equal a few-shot example of the prompt: flagged and left out of metrics"
        )
    accuracy = sum(r.correct for r in scored) / len(scored) if scored else 0.0
    console.print(f"{len(scored)} questions scored, accuracy {accuracy:.1%}, records: {out}")


@app.command("fit")
def fit_command(
    records: Annotated[Path, typer.Argument(help="An evaluation JSONL file.")],
    out: Annotated[Path, typer.Option(help="Folder for fusion-head.json and the report.")] = Path("runs/fit"),
    folds: Annotated[
        int, typer.Option(help="Cross-fitting folds: every record is scored out of fold.")
    ] = defaults.FOLDS,
    seed: Annotated[int, typer.Option(help="Seed of the folds and of the bootstrap intervals.")] = defaults.SEED,
    nonnegative: Annotated[
        bool, typer.Option(help="Keep the fused model's feature weights >= 0 (--no-nonnegative: signed weights).")
    ] = True,
    rule: Annotated[
        str,
        typer.Option(
            help=f"How the head is fitted ({', '.join(RULES)}): shrunk toward the best-ranking signal, or a choice "
            "between the fused model and one signal."
        ),
    ] = DEFAULT_RULE,
) -> None:
    """Fit the fusion head and baselines by cross-fitting, compare every method out of sample, save the head."""
    try:
        result = fit_to_folder(
            load_records(records), out, folds=folds, seed=seed, title=f"Out-of-fold calibration: {records.name}",
            source=str(records), nonnegative=nonnegative, rule=cast(Rule, rule),
        )  # fmt: skip
        print_fit(result, console, folds=folds, seed=seed)
    except ValueError as exc:
        raise fail(exc) from exc


@app.command("rescore")
def rescore_command(
    records: Annotated[Path, typer.Argument(help="An evaluation JSONL file evaluated with --keep-tokens.")],
    out: Annotated[Path, typer.Option(help="Where to write the rescored records (a new JSONL file).")],
) -> None:
    """Recompute every signal from the samples the records hold, with no model call."""
    try:
        if out.resolve() == records.resolve():
            raise ValueError(f"--out {out} is the input file: write the rescored records to a new file")
        loaded = load_records(records)
        if not loaded:
            raise ValueError(f"{records} holds no evaluation records")
        updated = rescored(loaded, bundled_encoder())
    except ValueError as exc:
        raise fail(exc) from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(record.model_dump_json() + "\n" for record in updated), encoding="utf-8")
    console.print(f"{len(updated)} records rescored with every current signal: {out}")


@app.command("report")
def report_command(
    records: Annotated[Path, typer.Argument(help="An evaluation JSONL file.")],
    out: Annotated[Path, typer.Option(help="Folder for report.json, report.html and figures.")] = Path("runs/report"),
    head: Annotated[Path | None, typer.Option(help="Also score the records with this fusion head.")] = None,
    in_sample: Annotated[
        bool, typer.Option(help="Allow a head on records it was trained on; its rows are then labelled in-sample.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap intervals.")] = defaults.SEED,
) -> None:
    """Report every signal's calibration on a records file as it is (no fitting)."""
    try:
        loaded, leaked = scored_records(load_records(records))
        if not loaded:
            raise ValueError(f"{records} holds no evaluation records")
        scores, fallbacks = raw_scores(loaded)
        meta: dict[str, object] = {"records": len(loaded), "left out (few-shot questions)": leaked}
        meta["raw signal fallbacks (missing -> 0)"] = {k: v for k, v in fallbacks.items() if v}
        if head is not None:
            fusion = FusionHead.load(head)
            seen = fusion.overlap([r.id for r in loaded])
            if seen and not in_sample:
                raise ValueError(
                    f"{head} was trained on {len(seen)} of these {len(loaded)} records (e.g. {seen[0]!r}): "
                    "its scores there are in-sample and would look better than it is; report it on records "
                    "it has not seen, or pass --in-sample to label its rows so"
                )
            name = f"{HEAD} (in-sample on {len(seen)} of {len(loaded)})" if seen else HEAD
            scores[name] = fusion.predict([r.signals for r in loaded])
        correct = [r.correct for r in loaded]
        datasets = [dataset_of(r) for r in loaded]
        meta["intervals"] = INTERVAL_NOTE
        title = f"Calibration: {records.name}"
        report = build_report(correct, scores, title=title, meta=meta, strata=datasets, seed=seed)
        page = write_report(out, report)
    except ValueError as exc:
        raise fail(exc) from exc
    print_table(report.rows, console=console)
    console.print(f"report: {page}")


@app.command("demo")
def demo(
    limit: Annotated[int, typer.Option(help="Questions to evaluate, mixed from the built-in sets.")] = DEMO_LIMIT,
    out: Annotated[Path, typer.Option(help="Folder for records, fusion head and report.")] = Path("runs/demo"),
    samples: SamplesOption = defaults.N_SAMPLES,
    concurrency: ConcurrencyOption = defaults.CONCURRENCY,
    seed: SeedOption = defaults.SEED,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Evaluate built-in questions on the embedded model, fit the fusion head, print the comparison."""
    console.print(f"evaluating {len(demo_items(limit, seed))} questions from {', '.join(DEMO_DATASETS)} -> {out}")
    try:
        with server_for(model, base_url) as handle:
            result = run_sync(ademo(handle, out, limit=limit, seed=seed, samples=samples, concurrency=concurrency))
    except ValueError as exc:
        raise fail(exc) from exc
    print_fit(result, console, folds=defaults.FOLDS, seed=seed)
