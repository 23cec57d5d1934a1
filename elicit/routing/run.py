"""One routing evaluation: the model passes, the representation sweep, the fitted policies, the comparison.

The splits play fixed parts, and every split is answered twice, without and with retrieved
passages. TRAIN questions fit every policy: the answers without passages give the
correctness labels, both answers together say where retrieval fixed an answer (the label
of the retrieval-gain probe). DEV questions choose the hidden layer and pooling
(:mod:`elicit.routing.sweep`) and the designated pre-generation policy: the one with the
highest DEV accuracy at ``DESIGNATION_BUDGET``, the criterion it is judged by. The held-out
EVAL questions report every policy at equal retrieval rates, with bootstrap intervals.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.retrievers import BaseRetriever
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from scipy.stats import rankdata

from elicit.calibration.metrics import auroc
from elicit.calibration.stats import bootstrap_intervals
from elicit.chains.confidence import ConfidenceChain, QuestionInput
from elicit.datasets import QAItem
from elicit.datasets.items import dataset_name
from elicit.evaluation.batch import RecordsFileError, aevaluate
from elicit.model.embeddings import TextEncoder, cached_encode
from elicit.model.hidden_states import POOLINGS, HiddenStateEmbeddings
from elicit.routing.builtin import BuiltInPolicy
from elicit.routing.curves import (
    BUDGETS,
    RATES,
    accuracy_at,
    accuracy_interval,
    generation_calls,
    oracle_share,
    paired_difference,
    retrieval_count,
    routing_curves,
)
from elicit.routing.policies import GAIN_PROBE, PolicySet, fit_scorers
from elicit.routing.probe import RetrievalGainProbe
from elicit.routing.retrieval import recall_at_k
from elicit.routing.router import aanswer_with_passages, confidence_rank
from elicit.routing.sweep import SWEEP_LAYERS, SweepRow, sweep_layers
from elicit.routing.thrust import ThrustScorer, threshold_for_budget
from elicit.types import Elicitation, EvalRecord

MINILM_THRUST = "thrust_minilm"
"""Published Thrust on MiniLM sentence embeddings: the topic-similarity baseline."""

LAYOUT = 2
"""Version of the files a run folder holds (1: only the held-out questions answered with
passages, in ``no_retrieval.jsonl`` and ``retrieval-k{k}.jsonl``); a folder of another
layout is refused by the settings check instead of being silently answered again."""

DESIGNATION_BUDGET = 0.3
"""The retrieval rate the designated pre-generation policy is chosen at (on DEV) and judged at."""


class PolicyRow(BaseModel):
    """One policy at one retrieval budget."""

    model_config = ConfigDict(extra="forbid")

    policy: str
    rate: float
    accuracy: float
    interval: tuple[float, float]
    vs_random: float | None = None
    vs_random_interval: tuple[float, float] | None = None
    generation_calls: int


class RouteEvalResult(BaseModel):
    """Everything ``route-eval`` reports; written as JSON next to the per-question records."""

    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any]
    seed: int
    n_train: int
    n_dev: int
    n_eval: int
    train_accuracy: float
    dev_accuracy: float
    accuracy_no_retrieval: float
    accuracy_retrieval: float
    retrieval_fixes: int
    retrieval_breaks: int
    gold_passage_recall: float | None
    representation: str
    sweep: list[SweepRow]
    dev_auroc: dict[str, float | None]
    dev_accuracy_at_budget: dict[str, float]
    designated: str
    rates: list[float]
    curves: dict[str, list[float]]
    oracle_share: dict[str, float | None]
    budgets: dict[str, list[PolicyRow]]
    auroc_no_retrieval_correct: dict[str, tuple[float | None, tuple[float, float] | None]]
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


def _as_unit(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scores mapped into [0, 1] by rank: AUROC depends only on their order, and the project's
    AUROC and its bootstrap are written for confidences in [0, 1]."""
    return rankdata(scores) / len(scores)


def _correct(records: Sequence[EvalRecord]) -> NDArray[np.float64]:
    return np.array([bool(record.correct) for record in records], dtype=np.float64)


def _by_dataset(
    items: Sequence[QAItem], without: NDArray[np.float64], with_: NDArray[np.float64]
) -> list[dict[str, Any]]:
    names = np.array([dataset_name(item.id, item.metadata) for item in items])
    return [
        {
            "dataset": str(name),
            "n": int((names == name).sum()),
            "accuracy_no_retrieval": float(without[names == name].mean()),
            "accuracy_retrieval": float(with_[names == name].mean()),
        }
        for name in dict.fromkeys(names.tolist())
    ]


def designate(
    without: NDArray[np.float64],
    with_: NDArray[np.float64],
    scores: Mapping[str, NDArray[np.float64]],
    candidates: Collection[str] | None = None,
) -> tuple[str, dict[str, float]]:
    """The candidate (default: every policy) with the highest accuracy at ``DESIGNATION_BUDGET``
    on these (DEV) questions, ties going to the earlier one, and every policy's accuracy there.

    Chosen by the routing outcome itself, not by how well a policy predicts "answered
    correctly": a policy can know which questions the model gets wrong and still spend the
    budget where passages cannot help.
    """
    accuracy = {name: accuracy_at(name, values, without, with_, DESIGNATION_BUDGET) for name, values in scores.items()}
    eligible = [name for name in accuracy if candidates is None or name in candidates]
    if not eligible:
        raise ValueError("scores must hold at least one candidate policy to designate")
    return max(eligible, key=accuracy.__getitem__), accuracy


def compare_policies(
    without: NDArray[np.float64],
    with_: NDArray[np.float64],
    scores: Mapping[str, NDArray[np.float64]],
    *,
    seed: int = 0,
    n_resamples: int = 1000,
) -> tuple[dict[str, list[float]], dict[str, list[PolicyRow]]]:
    """Curves at ``RATES`` and, at each of ``BUDGETS``, every policy's accuracy with its interval,
    its paired difference from random (the exact expectation of random routing, on every
    resample) and the generation calls it spends."""
    curves = routing_curves(without, with_, scores)
    n = without.size
    tables: dict[str, list[PolicyRow]] = {}
    for budget in BUDGETS:
        count = retrieval_count(budget, n)
        rows = []
        for name in (BuiltInPolicy.RANDOM, *scores, BuiltInPolicy.ORACLE):
            policy_scores = scores.get(name)
            low_high = accuracy_interval(
                name, policy_scores, without, with_, budget, n_resamples=n_resamples, seed=seed
            )
            shift, shift_interval = (
                (None, None)
                if name == BuiltInPolicy.RANDOM
                else paired_difference(name, policy_scores, BuiltInPolicy.RANDOM, None, without, with_, budget,
                                       n_resamples=n_resamples, seed=seed)
            )  # fmt: skip
            rows.append(
                PolicyRow(
                    policy=name,
                    rate=count / n,
                    accuracy=accuracy_at(name, policy_scores, without, with_, budget),
                    interval=low_high,
                    vs_random=shift,
                    vs_random_interval=shift_interval,
                    generation_calls=generation_calls(name, n, count),
                )
            )
        tables[f"{budget:g}"] = rows
    return curves, tables


async def arun_route_eval(
    chain: ConfidenceChain,
    retriever: BaseRetriever,
    hidden_states: HiddenStateEmbeddings,
    sentence_encoder: TextEncoder,
    train_items: Sequence[QAItem],
    dev_items: Sequence[QAItem],
    eval_items: Sequence[QAItem],
    out_dir: Path | str,
    *,
    settings: Mapping[str, Any],
    k: int = 2,
    concurrency: int = 4,
    embedding_cache: Path | str | None = None,
    seed: int = 0,
    progress: bool = True,
    announce: Callable[[str], None] = print,
) -> RouteEvalResult:
    """Run the passes (resuming whatever ``out_dir`` already holds), sweep, fit, compare.

    Writes ``{split}.jsonl`` and ``{split}-retrieval-k{k}.jsonl`` for train, dev and eval
    (one record per question, appended as it finishes), ``policies.json`` (the fitted
    pre-generation policies, their representation, and the designated policy with the
    threshold that retrieves for ``DESIGNATION_BUDGET`` of the dev questions) and
    ``route-eval.json``. ``settings`` (with the seed and the folder's layout) are stored and
    checked, so a resumed run never mixes records of different settings.
    """
    splits = {"train": train_items, "dev": dev_items, "eval": eval_items}
    for name, items in splits.items():
        if not items:
            raise ValueError(f"{name}_items must not be empty")
    ids = {name: {item.id for item in items} for name, items in splits.items()}
    for a, b in (("train", "dev"), ("train", "eval"), ("dev", "eval")):
        shared = ids[a] & ids[b]
        if shared:
            raise ValueError(f"{a}_items and {b}_items share {len(shared)} ids (e.g. {sorted(shared)[0]!r})")
    out = Path(out_dir)
    _check_settings(
        out,
        {**settings, "strategy": chain.strategy, "n_samples": chain.n_samples, "k": k, "seed": seed, "layout": LAYOUT},
    )

    retrieving = _RetrievingChain(chain, retriever, k)

    async def both_ways(name: str, items: Sequence[QAItem], purpose: str) -> tuple[list[EvalRecord], list[EvalRecord]]:
        announce(f"{name} pass, no retrieval ({len(items)} questions; {purpose})")
        plain = await aevaluate(chain, items, out / f"{name}.jsonl", concurrency=concurrency, progress=progress)
        announce(f"{name} pass with the top {k} passages")
        augmented = await aevaluate(
            retrieving, items, out / f"{name}-retrieval-k{k}.jsonl", concurrency=concurrency, progress=progress
        )
        return plain, augmented

    train_correct, train_with = map(_correct, await both_ways("train", train_items, "labels"))
    dev_correct, dev_with = map(_correct, await both_ways("dev", dev_items, "layer and policy choice"))
    plain, augmented = await both_ways("eval", eval_items, "the comparison")
    without, with_ = _correct(plain), _correct(augmented)

    announce("hidden states and the layer sweep on dev")
    questions = {name: [item.question for item in items] for name, items in splits.items()}
    layers = [layer for layer in SWEEP_LAYERS if layer <= hidden_states.n_layers]
    train_vectors = hidden_states.encode_many(questions["train"], layers, POOLINGS)
    dev_vectors = hidden_states.encode_many(questions["dev"], layers, POOLINGS)
    best, sweep = sweep_layers(train_vectors, train_correct, dev_vectors, dev_correct, seed)
    encoder = HiddenStateEmbeddings(
        hidden_states.model_dir, layer=best.layer, pooling=best.pooling, cache_path=hidden_states.cache.path
    )
    fixed = (train_with == 1) & (train_correct == 0)
    gain_fittable = RetrievalGainProbe.fittable(fixed)
    if not gain_fittable:
        announce(f"retrieval fixed {int(fixed.sum())} of {fixed.size} train answers: too few to fit {GAIN_PROBE}")
    x_train = train_vectors[(best.layer, best.pooling)]
    policy_set = PolicySet(
        encoder.model_name,
        fit_scorers(x_train, train_correct.astype(bool), seed, fixed=fixed if gain_fittable else None),
        {"layer": best.layer, "pooling": best.pooling, "dev_auroc": best.dev_auroc, "seed": seed},
    )

    def sentences(texts: list[str]) -> NDArray[np.float64]:
        if embedding_cache is None:
            return np.asarray(sentence_encoder.encode(texts), dtype=np.float64)
        return np.asarray(cached_encode(sentence_encoder, texts, embedding_cache), dtype=np.float64)

    minilm_thrust = ThrustScorer(seed=seed).fit(sentences(questions["train"]))
    x_dev, x_eval = dev_vectors[(best.layer, best.pooling)], encoder.encode(questions["eval"])
    dev_scores = {name: s.score(x_dev) for name, s in policy_set.scorers.items()}
    dev_scores[MINILM_THRUST] = minilm_thrust.score(sentences(questions["dev"]))
    dev_auroc = {name: auroc(_as_unit(values), dev_correct) for name, values in dev_scores.items()}
    # MiniLM Thrust is a baseline, not a candidate: policies.json holds one representation.
    designated, dev_accuracy = designate(dev_correct, dev_with, dev_scores, candidates=policy_set.scorers)
    policy_set.details |= {  # what a router reads as its default policy and threshold
        "designated": designated,
        "budget": DESIGNATION_BUDGET,
        "threshold": threshold_for_budget(dev_scores[designated], DESIGNATION_BUDGET),
    }
    policy_set.save(out / "policies.json")

    scores = {name: s.score(x_eval) for name, s in policy_set.scorers.items()}
    scores[MINILM_THRUST] = minilm_thrust.score(sentences(questions["eval"]))
    scores[BuiltInPolicy.CONFIDENCE] = np.array([confidence_rank(record.confidence) for record in plain])
    curves, tables = compare_policies(without, with_, scores, seed=seed)
    intervals = {
        name: bootstrap_intervals(_as_unit(values), without, metrics=("auroc",), seed=seed)["auroc"]
        for name, values in scores.items()
    }
    with_gold = [item for item in eval_items if item.metadata.get("passage_id")]
    result = RouteEvalResult(
        settings=dict(settings),
        seed=seed,
        n_train=len(train_items),
        n_dev=len(dev_items),
        n_eval=len(eval_items),
        train_accuracy=float(train_correct.mean()),
        dev_accuracy=float(dev_correct.mean()),
        accuracy_no_retrieval=float(without.mean()),
        accuracy_retrieval=float(with_.mean()),
        retrieval_fixes=int(((with_ == 1) & (without == 0)).sum()),
        retrieval_breaks=int(((with_ == 0) & (without == 1)).sum()),
        gold_passage_recall=recall_at_k(retriever, with_gold) if with_gold else None,
        representation=encoder.model_name,
        sweep=sweep,
        dev_auroc=dev_auroc,
        dev_accuracy_at_budget=dev_accuracy,
        designated=designated,
        rates=list(RATES),
        curves=curves,
        oracle_share=oracle_share(curves),
        budgets=tables,
        auroc_no_retrieval_correct={
            name: (auroc(_as_unit(values), without), intervals[name]) for name, values in scores.items()
        },
        by_dataset=_by_dataset(eval_items, without, with_),
    )
    (out / "route-eval.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result
