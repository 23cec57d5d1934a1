"""``elicit route`` and ``elicit route-eval``: retrieval only when the model is unsure, and whether it pays."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from elicit import defaults
from elicit.calibration.stats import format_interval
from elicit.chains import ConfidenceChain
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
    pct,
    server_for,
)
from elicit.cli.group import app
from elicit.datasets import BUILTIN_DATASETS, build_corpus, load_jsonl
from elicit.elicitation.strategies import STRATEGIES
from elicit.model.client import chat_model
from elicit.model.hidden_states import HiddenStateEmbeddings
from elicit.model.loop import run_sync
from elicit.routing.builtin import BUILT_IN, THRESHOLD_FREE, BuiltInPolicy
from elicit.routing.comparison import DESIGNATION_BUDGET
from elicit.routing.figures import plot_curves
from elicit.routing.mix import DEFAULT_MIX, jsonl_items, mixed_items, parse_mix
from elicit.routing.policies import PolicySet
from elicit.routing.retrieval import BM25PassageRetriever
from elicit.routing.router import RetrievalRouter
from elicit.routing.run import RouteEvalResult, arun_route_eval, served_config


def _budget_table(result: RouteEvalResult, budget: str) -> Table:
    table = Table(
        title=f"retrieval budget {float(budget):.0%} ({result.n_eval} held-out questions, 95% bootstrap intervals)"
    )
    for column in ("policy", "accuracy", "vs random (paired)", "oracle share", "generation calls"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for row in result.budgets[budget]:
        shift = "" if row.vs_random is None else format_interval(100 * row.vs_random, _pct(row.vs_random_interval), 1)
        share = result.oracle_share.get(row.policy)
        table.add_row(
            row.policy + (" *" if row.policy == result.designated else ""),
            format_interval(100 * row.accuracy, _pct(row.interval), 1),
            shift,
            "" if share is None else f"{share:+.2f}",
            str(row.generation_calls),
        )
    return table


def _pct(interval: tuple[float, float] | None) -> tuple[float, float] | None:
    return None if interval is None else (100 * interval[0], 100 * interval[1])


def _print_result(result: RouteEvalResult, out: Path) -> None:
    console.print(
        f"{result.n_eval} held-out questions: accuracy {pct(result.accuracy_no_retrieval)} without retrieval, "
        f"{pct(result.accuracy_retrieval)} with it (fixes {result.retrieval_fixes}, breaks {result.retrieval_breaks}); "
        f"gold passage in top k: {pct(result.gold_passage_recall)}. Policies fitted on {result.n_train} train "
        f"questions ({pct(result.train_accuracy)} correct without retrieval); layer and policy chosen on "
        f"{result.n_dev} dev questions "
        f"({pct(result.dev_accuracy)} correct); seed {result.seed}."
    )
    best = max((row for row in result.sweep if row.dev_auroc is not None), key=lambda row: row.dev_auroc or 0.0)
    console.print(f"representation: {result.representation} (probe dev AUROC {best.dev_auroc:.3f})")
    console.print(
        "dev AUROC ('answered correctly') of each pre-generation policy: "
        + ", ".join(f"{name} {'-' if v is None else f'{v:.3f}'}" for name, v in result.dev_auroc.items())
    )
    console.print(
        f"dev accuracy at {DESIGNATION_BUDGET:.0%} retrieval: "
        + ", ".join(f"{name} {pct(v)}" for name, v in result.dev_accuracy_at_budget.items())
        + f"; designated (*): {result.designated}"
    )
    for budget in result.budgets:
        console.print(_budget_table(result, budget))
    aurocs = ", ".join(f"{name} {format_interval(v, i)}" for name, (v, i) in result.auroc_no_retrieval_correct.items())
    console.print(f"AUROC for 'answered correctly without retrieval' (held out): {aurocs}")
    by_set = "; ".join(
        f"{escape(row['dataset'])} (n={row['n']}): "
        f"{pct(row['accuracy_no_retrieval'])} -> {pct(row['accuracy_retrieval'])}"
        for row in result.by_dataset
    )
    console.print(f"by dataset, without -> with retrieval: {by_set}")
    console.print(
        f"results: {out / 'route-eval.json'}, figure: {out / 'route-eval.png'}, policies: {out / 'policies.json'}"
    )


@app.command("route-eval")
def route_eval(
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Built-in set, optionally weighted as name=weight ({', '.join(BUILTIN_DATASETS)}). "
            "Default: cities=4, capitals, currencies, continents, arithmetic."
        ),
    ] = None,  # fmt: skip
    data: Annotated[Path | None, typer.Option(help="A JSONL file of {question, answer(s)} instead.")] = None,
    train_size: Annotated[int, typer.Option(help="Train questions the policies are fitted on.")] = 400,
    dev_size: Annotated[
        int, typer.Option(help="Dev questions the layer and the designated policy are chosen on.")
    ] = 200,
    eval_size: Annotated[int, typer.Option(help="Held-out questions (test split) the policies are compared on.")] = 600,
    strategy: Annotated[str, typer.Option(help=f"One of {', '.join(STRATEGIES)}.")] = "vanilla",
    samples: SamplesOption = defaults.N_SAMPLES,
    temperature: TemperatureOption = defaults.TEMPERATURE,
    max_tokens: MaxTokensOption = None,
    p_true: Annotated[bool, typer.Option(help="Ask the self-evaluation P(True) request too.")] = True,
    k: Annotated[int, typer.Option(help="Passages given to a retrieved question.")] = 2,
    concurrency: ConcurrencyOption = defaults.CONCURRENCY,
    seed: SeedOption = defaults.SEED,
    out: Annotated[Path, typer.Option(help="Folder for records (resumed), results and figure.")] = Path(
        "runs/route-eval"
    ),
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Compare routing policies (never, always, random, Thrust and its labelled variants, the P(IK) probe,
    the retrieval-gain probe, the learned router, confidence, oracle) at equal retrieval budgets, with
    bootstrap intervals."""
    try:
        if data is not None:
            questions = str(data)
            items = load_jsonl(data)
            train_items, dev_items, eval_items = (
                jsonl_items(items, name, size, seed)
                for name, size in (("train", train_size), ("dev", dev_size), ("test", eval_size))
            )
        else:
            weights = parse_mix(dataset) if dataset else DEFAULT_MIX
            questions = " ".join(f"{name}={weight:g}" for name, weight in weights.items())
            train_items, dev_items, eval_items = (
                mixed_items(weights, name, size, seed)
                for name, size in (("train", train_size), ("dev", dev_size), ("test", eval_size))
            )
        console.print("[dim]indexing the passage corpus (BM25)...[/dim]")
        with server_for(model, base_url) as handle:
            config = served_config(
                handle, train_items, dev_items, eval_items, out, questions=questions, model=model, strategy=strategy,
                samples=samples, temperature=temperature, max_tokens=max_tokens, p_true=p_true, k=k,
                concurrency=concurrency, seed=seed, announce=console.print,
            )  # fmt: skip
            result = run_sync(arun_route_eval(config))
        plot_curves(result, out / "route-eval.png")
    except (ValueError, RuntimeError) as exc:  # RuntimeError: questions that failed; a rerun retries them
        raise fail(exc) from exc
    _print_result(result, out)


@app.command("route")
def route(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    policy: Annotated[
        str | None,
        typer.Option(help=f"{', '.join(BUILT_IN)} or a policy of --policies (default: the file's designated one)."),
    ] = None,
    policies: Annotated[
        Path | None, typer.Option(help="Fitted policies (policies.json written by route-eval).")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Retrieve when the question's score is below this (default: the designated policy's, "
            "fitted on dev for the route-eval budget)."
        ),
    ] = None,
    samples: Annotated[int, typer.Option(help="Samples per question.")] = 5,
    k: Annotated[int, typer.Option(help="Passages given when retrieving.")] = 2,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Answer a question, retrieving passages first only when the routing policy says the model does not know it."""
    try:
        fitted = {}
        if policies is not None:
            policy_set = PolicySet.load(policies)
            details = policy_set.details
            if details.layer is None or details.pooling is None:
                raise ValueError(f"{policies}: details.layer and details.pooling must say how to encode questions")
            encoder = HiddenStateEmbeddings(model, layer=details.layer, pooling=details.pooling)
            fitted = policy_set.policies(encoder)
            policy = policy or details.designated
            if policy is not None and policy == details.designated and threshold is None:
                threshold = details.threshold
        if policy is None:
            where = f"{policies} names no designated policy" if policies is not None else "no --policies file given"
            raise ValueError(f"name a --policy ({', '.join(BUILT_IN)} or one of the file's): {where}")
        if threshold is None and BuiltInPolicy.named(policy) not in THRESHOLD_FREE:  # before starting a server
            raise ValueError(f"policy {policy!r} needs a --threshold (only a file's designated policy has one)")
        retriever = BM25PassageRetriever.from_passages(build_corpus(), k=k)
        with server_for(model, base_url) as handle:
            chain = ConfidenceChain(chat_model(handle), n_samples=samples)
            router = RetrievalRouter(chain, retriever, policy, policies=fitted, threshold=threshold, k=k)
            result = router.invoke(question)
    except ValueError as exc:
        raise fail(exc) from exc
    decision = "retrieved" if result.retrieved else "answered from memory"
    score = "" if result.score is None else f"score {result.score:.6g} vs threshold {threshold:.6g}: "
    console.print(f"{result.policy}: {score}{decision}")
    for passage in result.passages:
        console.print(f"  [dim]{escape(f'[{passage.id}] {passage.text}')}[/dim]")
    console.print(f"answer: {escape(repr(result.answer))}   confidence: {pct(result.final.confidence)}")
