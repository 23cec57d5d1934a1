"""Does routing pay? Accuracy against retrieval rate for every routing policy, from one pass each.

Every held-out question is answered twice, once without and once with retrieved passages,
and both outcomes are stored. A policy that retrieves for a subset S of the n questions
then scores ``(correct-with-retrieval over S + correct-without over the rest) / n``, so
every policy at every retrieval rate follows from the stored outcomes without asking the
model again, and all policies are compared at exactly the same rates:

* never / always retrieve: the two endpoints every curve shares;
* random: the exact expected accuracy of retrieving for a random m questions, which is
  the straight line between the endpoints;
* confidence: retrieve for the m lowest no-retrieval confidences (needs that pass first);
* Thrust: retrieve for the m lowest Thrust scores (needs only the question's embedding);
* oracle: retrieve exactly where retrieval helps first, an upper bound no policy beats.

Thrust is fitted on the TRAIN split's question embeddings. With labels (the default) the
model first answers each train question without retrieval, and correctly and incorrectly
answered questions are clustered apart; "unlabeled" clustering skips that pass.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.retrievers import BaseRetriever
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict
from sklearn.metrics import roc_auc_score

from elicit.chains.confidence import ConfidenceChain, QuestionInput
from elicit.datasets import QAItem, load_builtin, sample, select_split
from elicit.datasets.items import dataset_name
from elicit.evaluation.batch import RecordsFileError, aevaluate
from elicit.model.embeddings import TextEncoder, cached_encode
from elicit.routing.retrieval import recall_at_k
from elicit.routing.router import aanswer_with_passages, confidence_rank
from elicit.routing.thrust import ThrustScorer, threshold_for_budget
from elicit.types import Elicitation, EvalRecord

ThrustFit = Literal["labeled", "unlabeled"]
THRUST_FITS: tuple[str, ...] = ("labeled", "unlabeled")

RATES: tuple[float, ...] = tuple(i / 10 for i in range(11))
"""Retrieval rates at which every curve is evaluated."""

DEFAULT_MIX: dict[str, float] = {"cities": 3.0, "capitals": 1.0}
"""The long tail (cities of 15,000+ people) with some head entities (country capitals) mixed in."""


# -- curve maths (pure: stored outcomes in, accuracies out) ------------------------------------


def _outcomes(no_retrieval: ArrayLike, retrieval: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    without = np.asarray(no_retrieval, dtype=np.float64)
    with_ = np.asarray(retrieval, dtype=np.float64)
    if without.ndim != 1 or without.size == 0:
        raise ValueError(f"no_retrieval must be a non-empty 1-D sequence of outcomes, got shape {without.shape}")
    if with_.shape != without.shape:
        raise ValueError(f"retrieval has shape {with_.shape} but no_retrieval has {without.shape}")
    for name, values in (("no_retrieval", without), ("retrieval", with_)):
        if not np.isin(values, (0.0, 1.0)).all():
            raise ValueError(f"{name} must hold booleans (correct or not)")
    return without, with_


def retrieval_count(rate: float, n: int) -> int:
    """How many of ``n`` questions a retrieval rate means (nearest integer, halves up), so that
    every policy compared at one rate retrieves for the same number of questions."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate!r}")
    return min(n, math.floor(rate * n + 0.5))


def _check_count(count: int, n: int) -> None:
    if not 0 <= count <= n:
        raise ValueError(f"count must be between 0 and {n} (the number of questions), got {count}")


def random_accuracy(no_retrieval: ArrayLike, retrieval: ArrayLike, count: int) -> float:
    """Expected accuracy when ``count`` questions chosen uniformly at random are retrieved for.

    Each question is retrieved for with probability count / n, so the expectation is exact
    (no seeds): the never-retrieve accuracy plus that fraction of retrieval's total gain.
    """
    without, with_ = _outcomes(no_retrieval, retrieval)
    _check_count(count, without.size)
    return float((without.sum() + count / without.size * (with_ - without).sum()) / without.size)


def policy_accuracy(scores: ArrayLike, no_retrieval: ArrayLike, retrieval: ArrayLike, count: int) -> float:
    """Accuracy when the ``count`` questions with the LOWEST scores are retrieved for.

    Ties at the cut-off are resolved by expectation: when it falls inside a group of equal
    scores, each member counts with the group's mean gain. The result is what a random
    tie-break gives on average, and does not depend on the order of the questions.
    """
    without, with_ = _outcomes(no_retrieval, retrieval)
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != without.shape:
        raise ValueError(f"scores has shape {values.shape} but the outcomes have {without.shape}")
    if not np.isfinite(values).all():
        raise ValueError("scores must all be finite")
    _check_count(count, without.size)
    _, group = np.unique(values, return_inverse=True)  # ascending: lowest scores first
    sizes = np.bincount(group)
    gains = np.bincount(group, weights=with_ - without)
    boundaries = np.concatenate(([0.0], np.cumsum(sizes)))
    cumulative_gain = np.concatenate(([0.0], np.cumsum(gains)))
    return float((without.sum() + np.interp(count, boundaries, cumulative_gain)) / without.size)


def oracle_accuracy(no_retrieval: ArrayLike, retrieval: ArrayLike, count: int) -> float:
    """Best accuracy any policy can reach retrieving for ``count`` questions: retrieve first
    where retrieval fixes a wrong answer, then where it changes nothing, last where it hurts."""
    without, with_ = _outcomes(no_retrieval, retrieval)
    _check_count(count, without.size)
    best_gains = np.sort(with_ - without)[::-1]
    return float((without.sum() + best_gains[:count].sum()) / without.size)


def routing_curves(
    no_retrieval: ArrayLike,
    retrieval: ArrayLike,
    signals: Mapping[str, ArrayLike],
    rates: Sequence[float] = RATES,
) -> dict[str, list[float]]:
    """Accuracy at each rate for random routing, each signal's routing and the oracle."""
    without, with_ = _outcomes(no_retrieval, retrieval)
    counts = [retrieval_count(rate, without.size) for rate in rates]
    curves = {"random": [random_accuracy(without, with_, m) for m in counts]}
    for name, scores in signals.items():
        curves[name] = [policy_accuracy(scores, without, with_, m) for m in counts]
    curves["oracle"] = [oracle_accuracy(without, with_, m) for m in counts]
    return curves


def budget_rows(
    no_retrieval: ArrayLike, retrieval: ArrayLike, signals: Mapping[str, ArrayLike], budget: float
) -> list[dict[str, Any]]:
    """Every policy at one retrieval budget, all at the SAME rate, next to both endpoints.

    ``vs_random`` is the accuracy difference from random routing at that rate: what the
    signal's choice of questions buys over retrieving for as many questions blindly.
    """
    without, with_ = _outcomes(no_retrieval, retrieval)
    n = without.size
    count = retrieval_count(budget, n)
    rate = count / n
    random = random_accuracy(without, with_, count)
    rows: list[dict[str, Any]] = [
        {"policy": "never", "rate": 0.0, "accuracy": float(without.mean())},
        {"policy": "always", "rate": 1.0, "accuracy": float(with_.mean())},
        {"policy": "random", "rate": rate, "accuracy": random},
        *(
            {"policy": name, "rate": rate, "accuracy": policy_accuracy(scores, without, with_, count)}
            for name, scores in signals.items()
        ),
        {"policy": "oracle", "rate": rate, "accuracy": oracle_accuracy(without, with_, count)},
    ]
    for row in rows[2:]:
        row["vs_random"] = row["accuracy"] - random
    return rows


def popularity_rows(
    popularity: ArrayLike, no_retrieval: ArrayLike, retrieval: ArrayLike, signals: Mapping[str, ArrayLike]
) -> list[dict[str, Any]]:
    """Accuracy with and without retrieval and each signal's mean, per popularity quartile.

    Quartiles hold equal numbers of questions (ranked by popularity; quartile 1 is the long
    tail), so each row's accuracy rests on as many questions as the others.
    """
    without, with_ = _outcomes(no_retrieval, retrieval)
    pop = np.asarray(popularity, dtype=np.float64)
    if pop.shape != without.shape:
        raise ValueError(f"popularity has shape {pop.shape} but the outcomes have {without.shape}")
    arrays = {name: np.asarray(values, dtype=np.float64) for name, values in signals.items()}
    order = np.argsort(pop, kind="stable")
    rows = []
    for quartile, members in enumerate(np.array_split(order, 4), start=1):
        if members.size == 0:
            continue
        rows.append(
            {
                "quartile": quartile,
                "n": int(members.size),
                "popularity_min": float(pop[members].min()),
                "popularity_max": float(pop[members].max()),
                "accuracy_no_retrieval": float(without[members].mean()),
                "accuracy_retrieval": float(with_[members].mean()),
                **{f"mean_{name}": float(values[members].mean()) for name, values in arrays.items()},
            }
        )
    return rows


def _auroc(correct: NDArray[np.float64], scores: ArrayLike) -> float | None:
    """How well a signal ranks correctly answered questions above the rest (None: one class only)."""
    return float(roc_auc_score(correct, scores)) if 0 < correct.sum() < correct.size else None


# -- data ---------------------------------------------------------------------------------------


def parse_mix(specs: Sequence[str]) -> dict[str, float]:
    """``["cities=3", "capitals"]`` -> ``{"cities": 3.0, "capitals": 1.0}`` (weight 1 by default)."""
    weights: dict[str, float] = {}
    for spec in specs:
        name, _, weight = spec.partition("=")
        try:
            value = float(weight) if weight else 1.0
        except ValueError as exc:
            raise ValueError(f"dataset weight in {spec!r} must be a number") from exc
        if not value > 0:
            raise ValueError(f"dataset weight in {spec!r} must be > 0")
        weights[name.strip()] = value
    return weights


def mixed_items(weights: Mapping[str, float], split: str, size: int, seed: int = 0) -> list[QAItem]:
    """About ``size`` items of the split drawn from built-in sets in proportion to ``weights``
    (largest-remainder shares); a set with fewer items in the split gives all it has."""
    if not weights:
        raise ValueError("weights must name at least one built-in dataset")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    total = sum(weights.values())
    quotas = {name: size * weight / total for name, weight in weights.items()}
    shares = {name: math.floor(quota) for name, quota in quotas.items()}
    by_remainder = sorted(quotas, key=lambda name: quotas[name] - shares[name], reverse=True)
    for name in by_remainder[: size - sum(shares.values())]:
        shares[name] += 1
    return [item for name, n in shares.items() if n for item in load_builtin(name, split, seed=seed, limit=n)]


def jsonl_items(items: Sequence[QAItem], split: str, size: int, seed: int = 0) -> list[QAItem]:
    """A seeded sample of ``size`` items of one split of user data."""
    return sample(select_split(items, split, seed), size, seed)


# -- the run ------------------------------------------------------------------------------------


class RouteEvalResult(BaseModel):
    """Everything ``route-eval`` reports; written as JSON next to the per-question records."""

    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any]
    thrust_fit: ThrustFit
    n_train: int
    n_eval: int
    train_accuracy: float | None
    accuracy_no_retrieval: float
    accuracy_retrieval: float
    retrieval_fixes: int
    retrieval_breaks: int
    gold_passage_recall: float | None
    rates: list[float]
    curves: dict[str, list[float]]
    curve_means: dict[str, float]
    budget: float
    budget_rows: list[dict[str, Any]]
    thrust_threshold_at_budget: float
    auroc_no_retrieval_correct: dict[str, float | None]
    popularity: list[dict[str, Any]]
    by_dataset: list[dict[str, Any]]


class _RetrievingChain:
    """The chain with retrieved passages added to every question (what ``aevaluate`` needs of a chain)."""

    def __init__(self, chain: ConfidenceChain, retriever: BaseRetriever, k: int) -> None:
        self.chain, self.retriever, self.k = chain, retriever, k
        self.strategy, self.n_samples = chain.strategy, chain.n_samples

    async def ainvoke(self, input: QuestionInput) -> Elicitation:
        _, result = await aanswer_with_passages(self.chain, self.retriever, input, self.k)
        return result


def _check_settings(out_dir: Path, settings: Mapping[str, Any]) -> None:
    """Refuse to resume records made with other settings (they would mix silently)."""
    path = out_dir / "settings.json"
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(key for key in set(stored) | set(settings) if stored.get(key) != settings.get(key))
        if changed:
            details = ", ".join(f"{key}: {stored.get(key)!r} -> {settings.get(key)!r}" for key in changed)
            raise RecordsFileError(f"{out_dir} holds records made with other settings ({details}): use another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(settings), indent=2), encoding="utf-8")


def fit_thrust(
    embeddings: NDArray[np.float64], correct: Sequence[bool] | None, model_name: str, seed: int = 0
) -> dict[str, ThrustScorer]:
    """The Thrust scorers to compare, by policy name.

    Without labels: one unlabeled scorer ("thrust"). With correctness labels: clusters of
    correct and wrong answers kept apart ("thrust"), plus two variants that cost nothing
    more to compare: unlabeled clustering, and clusters of the correctly answered questions
    only ("thrust_known": pull comes only from knowledge the model showed).
    """
    if correct is None:
        return {"thrust": ThrustScorer(model_name, random_state=seed).fit(embeddings)}
    labels = np.asarray(correct, dtype=bool)
    scorers = {
        "thrust": ThrustScorer(model_name, random_state=seed).fit(embeddings, labels.tolist()),
        "thrust_unlabeled": ThrustScorer(model_name, random_state=seed).fit(embeddings),
    }
    if labels.any():
        scorers["thrust_known"] = ThrustScorer(model_name, random_state=seed).fit(embeddings[labels])
    return scorers


def _by_dataset(
    items: Sequence[QAItem], without: NDArray[np.float64], with_: NDArray[np.float64]
) -> list[dict[str, Any]]:
    names = [dataset_name(item.id, item.metadata) for item in items]
    rows = []
    for name in dict.fromkeys(names):
        mask = np.array([n == name for n in names])
        rows.append(
            {
                "dataset": name,
                "n": int(mask.sum()),
                "accuracy_no_retrieval": float(without[mask].mean()),
                "accuracy_retrieval": float(with_[mask].mean()),
            }
        )
    return rows


def _correct(records: Sequence[EvalRecord]) -> NDArray[np.float64]:
    return np.array([bool(record.correct) for record in records], dtype=np.float64)


async def arun_route_eval(
    chain: ConfidenceChain,
    retriever: BaseRetriever,
    embeddings: TextEncoder,
    train_items: Sequence[QAItem],
    eval_items: Sequence[QAItem],
    out_dir: Path | str,
    *,
    settings: Mapping[str, Any],
    k: int = 2,
    budget: float = 0.3,
    thrust_fit: ThrustFit = "labeled",
    concurrency: int = 4,
    embedding_cache: Path | str | None = None,
    seed: int = 0,
    progress: bool = True,
    announce: Callable[[str], None] = print,
) -> RouteEvalResult:
    """Run the passes (resuming whatever ``out_dir`` already holds), fit Thrust, compare policies.

    Writes ``train.jsonl`` (labeled fit only), ``no_retrieval.jsonl`` and
    ``retrieval-k{k}.jsonl`` (one record per question, appended as it finishes),
    ``thrust.json`` (the fitted scorer) and ``route-eval.json`` (the result). ``settings``
    (model, sampling) are stored and checked, so a resumed run never mixes records of
    different settings. ``announce`` receives one line before each model pass.
    """
    if thrust_fit not in THRUST_FITS:
        raise ValueError(f"thrust_fit must be one of {', '.join(THRUST_FITS)}; got {thrust_fit!r}")
    if not 0.0 <= budget <= 1.0:
        raise ValueError(f"budget must be a number in [0, 1], got {budget!r}")
    if not train_items or not eval_items:
        raise ValueError("train_items and eval_items must both be non-empty")
    overlap = {item.id for item in train_items} & {item.id for item in eval_items}
    if overlap:
        raise ValueError(f"train_items and eval_items share {len(overlap)} ids (e.g. {sorted(overlap)[0]!r})")
    out = Path(out_dir)
    _check_settings(out, {**settings, "strategy": chain.strategy, "n_samples": chain.n_samples, "k": k})

    def encode(items: Sequence[QAItem]) -> NDArray[np.float64]:
        texts = [item.question for item in items]
        if embedding_cache is None:
            return np.asarray(embeddings.encode(texts), dtype=np.float64)
        return np.asarray(cached_encode(embeddings, texts, embedding_cache), dtype=np.float64)

    train_correct: list[bool] | None = None
    train_accuracy: float | None = None
    if thrust_fit == "labeled":
        announce(f"no-retrieval pass over {len(train_items)} train questions (Thrust labels)")
        train_path = out / "train.jsonl"
        train_records = await aevaluate(chain, train_items, train_path, concurrency=concurrency, progress=progress)
        train_correct = [bool(record.correct) for record in train_records]
        train_accuracy = float(np.mean(train_correct))
    scorers = fit_thrust(encode(train_items), train_correct, embeddings.model_name, seed)
    scorers["thrust"].save(out / "thrust.json")

    announce(f"no-retrieval pass over {len(eval_items)} held-out questions")
    plain = await aevaluate(chain, eval_items, out / "no_retrieval.jsonl", concurrency=concurrency, progress=progress)
    announce(f"retrieval pass (top {k} passages) over {len(eval_items)} held-out questions")
    augmented = await aevaluate(
        _RetrievingChain(chain, retriever, k),
        eval_items,
        out / f"retrieval-k{k}.jsonl",
        concurrency=concurrency,
        progress=progress,
    )

    without, with_ = _correct(plain), _correct(augmented)
    eval_vectors = encode(eval_items)
    signals = {"confidence": np.array([confidence_rank(record.confidence) for record in plain])}
    signals |= {name: scorer.score(eval_vectors) for name, scorer in scorers.items()}
    curves = routing_curves(without, with_, signals)
    with_gold = [item for item in eval_items if item.metadata.get("passage_id")]
    popularity: list[Any] = [item.metadata.get("popularity") for item in eval_items]
    result = RouteEvalResult(
        settings=dict(settings),
        thrust_fit=thrust_fit,
        n_train=len(train_items),
        n_eval=len(eval_items),
        train_accuracy=train_accuracy,
        accuracy_no_retrieval=float(without.mean()),
        accuracy_retrieval=float(with_.mean()),
        retrieval_fixes=int(((with_ == 1) & (without == 0)).sum()),
        retrieval_breaks=int(((with_ == 0) & (without == 1)).sum()),
        gold_passage_recall=recall_at_k(retriever, with_gold) if with_gold else None,
        rates=list(RATES),
        curves=curves,
        curve_means={name: float(np.mean(values)) for name, values in curves.items()},
        budget=budget,
        budget_rows=budget_rows(without, with_, signals, budget),
        thrust_threshold_at_budget=threshold_for_budget(signals["thrust"], budget),
        auroc_no_retrieval_correct={name: _auroc(without, scores) for name, scores in signals.items()},
        popularity=(
            popularity_rows(popularity, without, with_, signals) if all(p is not None for p in popularity) else []
        ),
        by_dataset=_by_dataset(eval_items, without, with_),
    )
    (out / "route-eval.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    plot_curves(result, out / "route-eval.png")
    return result


def plot_curves(result: RouteEvalResult, path: Path | str) -> None:
    """Accuracy against retrieval rate for every policy, with the budget marked (PNG, Agg canvas)."""
    figure = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    styles = {"random": ("grey", "--"), "oracle": ("black", ":")}
    for name, values in result.curves.items():
        color, line = styles.get(name, (None, "-"))
        axes.plot(result.rates, values, line, color=color, marker="o", markersize=3, label=name)
    axes.scatter([0.0, 1.0], [result.accuracy_no_retrieval, result.accuracy_retrieval], color="red", zorder=5,
                 label="never / always")  # fmt: skip
    axes.axvline(result.budget, color="grey", linewidth=0.8, linestyle="-.")
    axes.set_xlabel("retrieval rate (fraction of questions given passages)")
    axes.set_ylabel("accuracy")
    axes.set_title(f"Routing on {result.n_eval} held-out questions (budget {result.budget:.0%} marked)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
