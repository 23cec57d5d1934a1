"""One routing evaluation: the model passes, the representation sweep, the fitted policies, the comparison.

The splits play fixed parts, and every split is answered twice, without and with retrieved
passages. TRAIN questions fit every policy: the answers without passages give the
correctness labels, both answers together say where retrieval fixed an answer (the label
of the retrieval-gain probe). DEV questions choose the hidden layer and pooling
(:mod:`elicit.routing.sweep`) and the designated pre-generation policy: the one with the
highest DEV accuracy at ``DESIGNATION_BUDGET``, the criterion it is judged by. The held-out
EVAL questions report every policy at equal retrieval rates, with bootstrap intervals.

:func:`arun_route_eval` runs the steps in that order, each returning what the next needs:
the passes (:class:`Passes`), the representation (:class:`Representation`), the fitted
policies (:class:`FittedPolicies`), the designation (:class:`Designation`) and the held-out
comparison (:class:`Comparison`), all configured by one :class:`RouteEvalConfig`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.retrievers import BaseRetriever
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict
from scipy.stats import rankdata

from elicit import defaults
from elicit.calibration.metrics import auroc
from elicit.calibration.stats import bootstrap_intervals
from elicit.chains.confidence import ConfidenceChain, QuestionInput
from elicit.datasets import QAItem, build_corpus
from elicit.datasets.items import dataset_name
from elicit.defaults import cache_dir
from elicit.evaluation.batch import RecordsFileError, aevaluate
from elicit.model.client import chat_model
from elicit.model.embeddings import MiniLMEmbeddings, TextEncoder, cached_encode
from elicit.model.hidden_states import POOLINGS, HiddenStateEmbeddings
from elicit.model.serving import ServerHandle
from elicit.routing.builtin import BuiltInPolicy
from elicit.routing.comparison import DESIGNATION_BUDGET, PolicyRow, compare_policies, designate
from elicit.routing.curves import RATES, oracle_share
from elicit.routing.policies import GAIN_PROBE, PolicyDetails, PolicySet, fit_scorers
from elicit.routing.probe import RetrievalGainProbe, Scorer
from elicit.routing.retrieval import BM25PassageRetriever, recall_at_k
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


# -- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteEvalConfig:
    """What one routing evaluation runs on and with.

    The three splits must be non-empty and share no id: a question that fits the policies
    or chooses among them and is then reported on would flatter them. ``settings`` describe
    how the records were made (model, sampling, questions); with the chain's strategy and
    samples, ``k``, ``seed`` and the folder's layout they are stored in ``out_dir`` and
    checked, so a resumed run never mixes records made differently. ``embedding_cache``
    keeps MiniLM vectors between runs; ``announce`` reports each step (``print`` by default).
    """

    chain: ConfidenceChain
    retriever: BaseRetriever
    hidden_states: HiddenStateEmbeddings
    sentence_encoder: TextEncoder
    train_items: Sequence[QAItem]
    dev_items: Sequence[QAItem]
    eval_items: Sequence[QAItem]
    out_dir: Path
    settings: Mapping[str, Any] = field(default_factory=dict)
    k: int = 2
    concurrency: int = 4
    embedding_cache: Path | None = None
    seed: int = 0
    progress: bool = True
    announce: Callable[[str], None] = print

    def __post_init__(self) -> None:
        splits = self.splits
        for name, items in splits.items():
            if not items:
                raise ValueError(f"{name}_items must not be empty")
        ids = {name: {item.id for item in items} for name, items in splits.items()}
        for a, b in (("train", "dev"), ("train", "eval"), ("dev", "eval")):
            shared = ids[a] & ids[b]
            if shared:
                raise ValueError(f"{a}_items and {b}_items share {len(shared)} ids (e.g. {sorted(shared)[0]!r})")

    @property
    def splits(self) -> dict[str, Sequence[QAItem]]:
        return {"train": self.train_items, "dev": self.dev_items, "eval": self.eval_items}

    def stored_settings(self) -> dict[str, Any]:
        """Everything that must match for a folder's records to be resumed."""
        chain = self.chain
        return {**self.settings, "strategy": chain.strategy, "n_samples": chain.n_samples, "k": self.k,
                "seed": self.seed, "layout": LAYOUT}  # fmt: skip

    def sentence_vectors(self, items: Sequence[QAItem]) -> NDArray[np.float64]:
        """MiniLM vectors of the questions (for the topic-similarity baseline), cached if asked."""
        texts = [item.question for item in items]
        if self.embedding_cache is None:
            return np.asarray(self.sentence_encoder.encode(texts), dtype=np.float64)
        return np.asarray(cached_encode(self.sentence_encoder, texts, self.embedding_cache), dtype=np.float64)


# -- the passes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BothWays:
    """One split's records, in question order: answered without passages and with the top ``k``."""

    plain: list[EvalRecord]
    augmented: list[EvalRecord]

    @cached_property
    def without(self) -> NDArray[np.float64]:
        """1.0 where the answer without passages was correct."""
        return _correct(self.plain)

    @cached_property
    def with_(self) -> NDArray[np.float64]:
        """1.0 where the answer with passages was correct."""
        return _correct(self.augmented)


@dataclass(frozen=True)
class Passes:
    """Every split answered both ways."""

    train: BothWays
    dev: BothWays
    eval: BothWays


async def aanswer_both_ways(config: RouteEvalConfig) -> Passes:
    """Answer every split without and with passages, resuming what ``out_dir`` already holds.

    Writes ``{split}.jsonl`` and ``{split}-retrieval-k{k}.jsonl``, one record per question,
    appended as it finishes.
    """
    retrieving = _RetrievingChain(config.chain, config.retriever, config.k)
    purposes = {"train": "labels", "dev": "layer and policy choice", "eval": "the comparison"}
    passes = {}
    for name, items in config.splits.items():
        config.announce(f"{name} pass, no retrieval ({len(items)} questions; {purposes[name]})")
        plain = await aevaluate(
            config.chain, items, config.out_dir / f"{name}.jsonl", concurrency=config.concurrency,
            progress=config.progress,
        )  # fmt: skip
        config.announce(f"{name} pass with the top {config.k} passages")
        augmented = await aevaluate(
            retrieving, items, config.out_dir / f"{name}-retrieval-k{config.k}.jsonl", concurrency=config.concurrency,
            progress=config.progress,
        )  # fmt: skip
        passes[name] = BothWays(plain, augmented)
    return Passes(**passes)


# -- the representation -----------------------------------------------------------------------


@dataclass(frozen=True)
class Representation:
    """The hidden layer and pooling chosen on dev, and the train and dev questions' vectors there."""

    best: SweepRow
    sweep: list[SweepRow]
    encoder: HiddenStateEmbeddings
    train_vectors: NDArray[np.float32]
    dev_vectors: NDArray[np.float32]


def choose_representation(config: RouteEvalConfig, passes: Passes) -> Representation:
    """Sweep every third layer under every pooling (probe fitted on train, AUROC on dev)."""
    config.announce("hidden states and the layer sweep on dev")
    hidden_states = config.hidden_states
    layers = [layer for layer in SWEEP_LAYERS if layer <= hidden_states.n_layers]
    train = hidden_states.encode_many([item.question for item in config.train_items], layers, POOLINGS)
    dev = hidden_states.encode_many([item.question for item in config.dev_items], layers, POOLINGS)
    best, sweep = sweep_layers(train, passes.train.without, dev, passes.dev.without, config.seed)
    encoder = HiddenStateEmbeddings(
        hidden_states.model_dir, layer=best.layer, pooling=best.pooling, cache_path=hidden_states.cache.path
    )
    chosen = (best.layer, best.pooling)
    return Representation(best, sweep, encoder, train[chosen], dev[chosen])


# -- the fitted policies ----------------------------------------------------------------------


@dataclass(frozen=True)
class FittedPolicies:
    """Every pre-generation policy fitted on the train questions, and the MiniLM Thrust baseline
    (on another representation, so reported beside them but never saved or designated)."""

    scorers: dict[str, Scorer]
    minilm_thrust: ThrustScorer

    def scores(self, vectors: ArrayLike, sentence_vectors: ArrayLike) -> dict[str, NDArray[np.float64]]:
        """Every policy's scores of some questions, from their hidden-state and MiniLM vectors."""
        scores = {name: scorer.score(vectors) for name, scorer in self.scorers.items()}
        scores[MINILM_THRUST] = self.minilm_thrust.score(sentence_vectors)
        return scores


def fit_policies(config: RouteEvalConfig, passes: Passes, representation: Representation) -> FittedPolicies:
    """Fit every policy on train; the gain probe only if retrieval fixed enough train answers."""
    train = passes.train
    fixed = (train.with_ == 1) & (train.without == 0)
    gain_fittable = RetrievalGainProbe.fittable(fixed)
    if not gain_fittable:
        config.announce(
            f"retrieval fixed {int(fixed.sum())} of {fixed.size} train answers: too few to fit {GAIN_PROBE}"
        )
    scorers = fit_scorers(
        representation.train_vectors, train.without.astype(bool), config.seed, fixed=fixed if gain_fittable else None
    )
    minilm_thrust = ThrustScorer(seed=config.seed).fit(config.sentence_vectors(config.train_items))
    return FittedPolicies(scorers, minilm_thrust)


# -- the designation --------------------------------------------------------------------------


@dataclass(frozen=True)
class Designation:
    """The policy a router uses by default, chosen on dev, with its threshold and what it was
    chosen by: every policy's dev accuracy at ``DESIGNATION_BUDGET`` (and, for reference, its
    dev AUROC for "answered correctly")."""

    policy: str
    threshold: float
    dev_accuracy: dict[str, float]
    dev_auroc: dict[str, float | None]


def designate_on_dev(
    config: RouteEvalConfig, passes: Passes, representation: Representation, fitted: FittedPolicies
) -> Designation:
    """The fitted policy with the best dev accuracy at ``DESIGNATION_BUDGET`` (see :func:`designate`),
    and the threshold at which it retrieves for that budget of the dev questions."""
    dev = passes.dev
    scores = fitted.scores(representation.dev_vectors, config.sentence_vectors(config.dev_items))
    dev_auroc = {name: auroc(_as_unit(values), dev.without) for name, values in scores.items()}
    # MiniLM Thrust is a baseline, not a candidate: policies.json holds one representation.
    designated, dev_accuracy = designate(dev.without, dev.with_, scores, candidates=fitted.scorers)
    threshold = threshold_for_budget(scores[designated], DESIGNATION_BUDGET)
    return Designation(designated, threshold, dev_accuracy, dev_auroc)


def save_policies(
    config: RouteEvalConfig, representation: Representation, fitted: FittedPolicies, designation: Designation
) -> PolicySet:
    """Write ``policies.json``: the fitted policies, their representation, and the designated
    policy with its threshold (what a router reads as its defaults)."""
    details = PolicyDetails(
        layer=representation.best.layer, pooling=representation.best.pooling,
        dev_auroc=representation.best.dev_auroc, seed=config.seed, designated=designation.policy,
        budget=DESIGNATION_BUDGET, threshold=designation.threshold,
    )  # fmt: skip
    policy_set = PolicySet(representation.encoder.model_name, fitted.scorers, details)
    policy_set.save(config.out_dir / "policies.json")
    return policy_set


# -- the comparison ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Every policy on the held-out questions: the curves, the table at each budget, and the
    AUROC (with its interval) of its score for "answered correctly without retrieval"."""

    curves: dict[str, list[float]]
    tables: dict[str, list[PolicyRow]]
    auroc: dict[str, tuple[float | None, tuple[float, float] | None]]


def compare_on_eval(
    config: RouteEvalConfig, passes: Passes, representation: Representation, fitted: FittedPolicies
) -> Comparison:
    """Score the held-out questions by every policy, confidence included, and compare them."""
    held_out = passes.eval
    vectors = representation.encoder.encode([item.question for item in config.eval_items])
    scores = fitted.scores(vectors, config.sentence_vectors(config.eval_items))
    scores[BuiltInPolicy.CONFIDENCE] = np.array([confidence_rank(record.confidence) for record in held_out.plain])
    curves, tables = compare_policies(held_out.without, held_out.with_, scores, seed=config.seed)
    aurocs = {}
    for name, values in scores.items():
        unit = _as_unit(values)
        interval = bootstrap_intervals(unit, held_out.without, metrics=("auroc",), seed=config.seed)["auroc"]
        aurocs[name] = (auroc(unit, held_out.without), interval)
    return Comparison(curves, tables, aurocs)


# -- the whole run ----------------------------------------------------------------------------


async def arun_route_eval(config: RouteEvalConfig) -> RouteEvalResult:
    """Run the passes (resuming whatever ``out_dir`` already holds), sweep, fit, designate, compare.

    Writes the records of every pass (see :func:`aanswer_both_ways`), ``policies.json`` (see
    :func:`save_policies`) and ``route-eval.json``. The stored settings are checked first, so
    a resumed run never mixes records of different settings.
    """
    _check_settings(config.out_dir, config.stored_settings())
    passes = await aanswer_both_ways(config)
    representation = choose_representation(config, passes)
    fitted = fit_policies(config, passes, representation)
    designation = designate_on_dev(config, passes, representation, fitted)
    save_policies(config, representation, fitted, designation)
    comparison = compare_on_eval(config, passes, representation, fitted)
    result = _result(config, passes, representation, designation, comparison)
    (config.out_dir / "route-eval.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
    return result


def _result(
    config: RouteEvalConfig,
    passes: Passes,
    representation: Representation,
    designation: Designation,
    comparison: Comparison,
) -> RouteEvalResult:
    held_out = passes.eval
    without, with_ = held_out.without, held_out.with_
    with_gold = [item for item in config.eval_items if item.metadata.get("passage_id")]
    return RouteEvalResult(
        settings=dict(config.settings),
        seed=config.seed,
        n_train=len(config.train_items),
        n_dev=len(config.dev_items),
        n_eval=len(config.eval_items),
        train_accuracy=float(passes.train.without.mean()),
        dev_accuracy=float(passes.dev.without.mean()),
        accuracy_no_retrieval=float(without.mean()),
        accuracy_retrieval=float(with_.mean()),
        retrieval_fixes=int(((with_ == 1) & (without == 0)).sum()),
        retrieval_breaks=int(((with_ == 0) & (without == 1)).sum()),
        gold_passage_recall=recall_at_k(config.retriever, with_gold) if with_gold else None,
        representation=representation.encoder.model_name,
        sweep=representation.sweep,
        dev_auroc=designation.dev_auroc,
        dev_accuracy_at_budget=designation.dev_accuracy,
        designated=designation.policy,
        rates=list(RATES),
        curves=comparison.curves,
        oracle_share=oracle_share(comparison.curves),
        budgets=comparison.tables,
        auroc_no_retrieval_correct=comparison.auroc,
        by_dataset=_by_dataset(config.eval_items, without, with_),
    )


def served_config(
    server: ServerHandle, train: Sequence[QAItem], dev: Sequence[QAItem], test: Sequence[QAItem], out_dir: Path, *,
    questions: str, model: str | None = None, strategy: str = "vanilla", samples: int = defaults.N_SAMPLES,
    temperature: float = defaults.TEMPERATURE, max_tokens: int | None = None, p_true: bool = True, k: int = 2,
    concurrency: int = defaults.CONCURRENCY, seed: int = defaults.SEED, announce: Callable[[str], None] = print,
    progress: bool = True,
) -> RouteEvalConfig:  # fmt: skip
    """The routing evaluation of a served model on these splits: a BM25 retriever over the built-in
    corpus, the model's own hidden states (``model`` names its weights, as ``--model`` does) and
    MiniLM for the topic baseline, and a chain with these settings. ``questions`` says where
    the questions came from (stored with the settings)."""
    retriever = BM25PassageRetriever.from_passages(build_corpus(), k=k)
    chain = ConfidenceChain(
        chat_model(server), strategy=strategy, n_samples=samples, temperature=temperature, max_tokens=max_tokens,
        max_concurrency=concurrency, p_true=p_true, seed=seed,
    )  # fmt: skip
    settings = {"model": server.model_name, "temperature": temperature, "max_tokens": chain.max_tokens,
                "p_true": p_true, "questions": questions}  # fmt: skip
    return RouteEvalConfig(
        chain, retriever, HiddenStateEmbeddings(model or server.model_name), MiniLMEmbeddings(), train, dev, test,
        out_dir, settings=settings, k=k, concurrency=concurrency, embedding_cache=cache_dir() / "embeddings",
        seed=seed, progress=progress, announce=announce,
    )  # fmt: skip
