"""``elicit route`` and ``elicit route-eval``: retrieval only when the model is unsure, and whether it pays."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from elicit.chains import ConfidenceChain
from elicit.cli.common import BaseUrlOption, ModelOption, app, console, fail, pct, server_for
from elicit.datasets import BUILTIN_DATASETS, build_corpus, load_jsonl
from elicit.elicitation.prompts import STRATEGIES
from elicit.model.client import chat_model
from elicit.model.embedded import cache_dir
from elicit.model.embeddings import MiniLMEmbeddings
from elicit.model.loop import run_sync
from elicit.routing.evaluate import (
    DEFAULT_MIX,
    THRUST_FITS,
    RouteEvalResult,
    arun_route_eval,
    jsonl_items,
    mixed_items,
    parse_mix,
)
from elicit.routing.retrieval import BM25PassageRetriever
from elicit.routing.router import RetrievalRouter
from elicit.routing.thrust import ThrustScorer


def _budget_table(result: RouteEvalResult) -> Table:
    table = Table(title=f"accuracy at a retrieval budget of {result.budget:.0%} ({result.n_eval} held-out questions)")
    for column in ("policy", "retrieval rate", "accuracy", "vs random"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for row in result.budget_rows:
        shift = row.get("vs_random")
        table.add_row(
            row["policy"], pct(row["rate"]), pct(row["accuracy"]), "" if shift is None else f"{100 * shift:+.1f}"
        )
    return table


def _curve_table(result: RouteEvalResult) -> Table:
    table = Table(title="accuracy (%) by retrieval rate")
    table.add_column("rate", justify="right")
    for name in result.curves:
        table.add_column(name, justify="right")
    for position, rate in enumerate(result.rates):
        table.add_row(f"{rate:.0%}", *(f"{100 * values[position]:.1f}" for values in result.curves.values()))
    table.add_row("mean", *(f"{100 * result.curve_means[name]:.1f}" for name in result.curves), style="bold")
    return table


def _popularity_table(result: RouteEvalResult) -> Table:
    table = Table(title="by popularity quartile (1 = long tail)")
    for column in ("quartile", "n", "popularity", "acc. without", "acc. with", "mean confidence", "mean thrust"):
        table.add_column(column, justify="right")
    for row in result.popularity:
        table.add_row(
            str(row["quartile"]), str(row["n"]), f"{row['popularity_min']:,.0f}-{row['popularity_max']:,.0f}",
            pct(row["accuracy_no_retrieval"]), pct(row["accuracy_retrieval"]),
            pct(row["mean_confidence"]), f"{row['mean_thrust']:.3g}",
        )  # fmt: skip
    return table


def _print_result(result: RouteEvalResult, out: Path) -> None:
    train = "" if result.train_accuracy is None else f", train accuracy {pct(result.train_accuracy)}"
    console.print(
        f"{result.n_eval} held-out questions: accuracy {pct(result.accuracy_no_retrieval)} without retrieval, "
        f"{pct(result.accuracy_retrieval)} with it (fixes {result.retrieval_fixes}, breaks {result.retrieval_breaks}); "
        f"gold passage in top k: {pct(result.gold_passage_recall)}; Thrust fit {result.thrust_fit} "
        f"on {result.n_train} train questions{train}"
    )
    console.print(_budget_table(result))
    console.print(_curve_table(result))
    aurocs = ", ".join(
        f"{name} {'-' if v is None else f'{v:.3f}'}" for name, v in result.auroc_no_retrieval_correct.items()
    )
    console.print(f"AUROC for 'answered correctly without retrieval': {aurocs}")
    if result.popularity:
        console.print(_popularity_table(result))
    by_set = "; ".join(
        f"{row['dataset']} (n={row['n']}): {pct(row['accuracy_no_retrieval'])} -> {pct(row['accuracy_retrieval'])}"
        for row in result.by_dataset
    )
    console.print(f"by dataset, without -> with retrieval: {by_set}")
    console.print(
        f"Thrust threshold for a {result.budget:.0%} budget on these questions: {result.thrust_threshold_at_budget:.6g}"
    )
    console.print(
        f"results: {out / 'route-eval.json'}, plot: {out / 'route-eval.png'}, Thrust model: {out / 'thrust.json'}"
    )


@app.command("route-eval")
def route_eval(
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Built-in set, optionally weighted as name=weight ({', '.join(BUILTIN_DATASETS)}). "
            "Default: cities=3 and capitals=1."
        ),
    ] = None,  # fmt: skip
    data: Annotated[Path | None, typer.Option(help="A JSONL file of {question, answer(s)} instead.")] = None,
    split: Annotated[str, typer.Option(help="Held-out split: dev or test.")] = "dev",
    train_size: Annotated[int, typer.Option(help="Train questions Thrust is fitted on.")] = 150,
    eval_size: Annotated[int, typer.Option(help="Held-out questions the policies are compared on.")] = 150,
    thrust_fit: Annotated[
        str,
        typer.Option(
            help=f"One of {', '.join(THRUST_FITS)}. labeled: answer the train questions first and "
            "cluster right and wrong apart; unlabeled: cluster the questions as they are (no train pass)."
        ),
    ] = "labeled",  # fmt: skip
    strategy: Annotated[str, typer.Option(help=f"One of {', '.join(STRATEGIES)}.")] = "vanilla",
    samples: Annotated[int, typer.Option(help="Samples per question.")] = 3,
    temperature: float = 0.7,
    max_tokens: int = 32,
    k: Annotated[int, typer.Option(help="Passages given to a retrieved question.")] = 2,
    budget: Annotated[float, typer.Option(help="Retrieval rate of the comparison table.")] = 0.3,
    concurrency: Annotated[int, typer.Option(help="Questions in flight at once.")] = 4,
    seed: int = 0,
    out: Annotated[Path, typer.Option(help="Folder for records (resumed), results and plot.")] = Path(
        "runs/route-eval"
    ),
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Compare never / always / random / confidence / Thrust / oracle retrieval routing at equal retrieval rates."""
    try:
        if split == "train":
            raise ValueError("split must be a held-out split (dev or test): Thrust is fitted on train")
        if data is not None:
            items = load_jsonl(data)
            train_items = jsonl_items(items, "train", train_size, seed)
            eval_items = jsonl_items(items, split, eval_size, seed)
        else:
            weights = parse_mix(dataset) if dataset else DEFAULT_MIX
            train_items = mixed_items(weights, "train", train_size, seed)
            eval_items = mixed_items(weights, split, eval_size, seed)
        console.print("[dim]indexing the passage corpus (BM25)...[/dim]")
        retriever = BM25PassageRetriever.from_passages(build_corpus(), k=k)
        with server_for(model, base_url) as handle:
            chain = ConfidenceChain(
                chat_model(handle), strategy=strategy, n_samples=samples, temperature=temperature,
                max_tokens=max_tokens, max_concurrency=concurrency,
            )  # fmt: skip
            settings = {"model": handle.model_name, "temperature": temperature, "max_tokens": max_tokens}
            result = run_sync(
                arun_route_eval(
                    chain, retriever, MiniLMEmbeddings(), train_items, eval_items, out, settings=settings, k=k,
                    budget=budget, thrust_fit=thrust_fit, concurrency=concurrency,  # type: ignore[arg-type]
                    embedding_cache=cache_dir() / "embeddings", seed=seed, announce=console.print,
                )
            )  # fmt: skip
    except (ValueError, RuntimeError) as exc:  # RuntimeError: questions that failed; a rerun retries them
        raise fail(exc) from exc
    _print_result(result, out)


@app.command("route")
def route(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    thrust: Annotated[Path, typer.Option(help="A Thrust model (thrust.json written by route-eval).")],
    threshold: Annotated[float, typer.Option(help="Retrieve when the question's Thrust score is below this.")],
    samples: Annotated[int, typer.Option(help="Samples per question.")] = 5,
    k: Annotated[int, typer.Option(help="Passages given when retrieving.")] = 2,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Answer a question, retrieving passages first only when Thrust says the model does not know it."""
    try:
        embeddings = MiniLMEmbeddings()
        scorer = ThrustScorer.load(thrust, embedding_model=embeddings.model_name)
        retriever = BM25PassageRetriever.from_passages(build_corpus(), k=k)
        with server_for(model, base_url) as handle:
            chain = ConfidenceChain(chat_model(handle), n_samples=samples)
            router = RetrievalRouter(
                chain, retriever, signal="thrust", scorer=scorer, embeddings=embeddings, thrust_threshold=threshold, k=k
            )
            result = router.invoke(question)
    except ValueError as exc:
        raise fail(exc) from exc
    decision = "retrieved" if result.retrieved else "answered from memory"
    console.print(f"Thrust {result.thrust_score:.6g} vs threshold {threshold:.6g}: {decision}")
    for passage in result.passages:
        console.print(f"  [dim][{passage.id}] {passage.text}[/dim]")
    console.print(f"answer: {result.answer!r}   confidence: {pct(result.final.confidence)}")
