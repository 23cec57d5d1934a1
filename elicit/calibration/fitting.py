"""Fit the fusion head and the one-signal baselines on evaluation records, scored out of sample.

Cross-fitting: records are dealt into K folds (stratified by dataset and label, stable by
id, see :func:`elicit.calibration.stats.cross_fit_folds`); every fitted method is fitted K
times on K-1 folds and predicts the fold it did not see. So every record gets an
out-of-fold prediction from every method and all of them are compared on the same
questions; the saved head is then refit on every record.

Three fitted rows matter most: ``head`` is the saved head's whole procedure (its choice
between the fused model and each single feature is remade inside every training part),
``fused`` is the fused model alone, and ``best single`` is, in every training part, the
feature with the highest AUROC there, Platt-mapped: the rival a head must beat, chosen
without seeing the rows it is compared on.

Every method scores every question. Where a raw signal is missing its declared fallback
``RAW_FALLBACK`` is used and counted; the fitted methods follow their own missing rule.
Questions the prompt shows as few-shot examples are left out (their answers leaked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone

from elicit.calibration.calibrators import BestSingle, Calibrator, fit_baselines
from elicit.calibration.features import signal_matrix
from elicit.calibration.head import DEFAULT_RULE, FUSED, FusionHead, Rule
from elicit.calibration.head_file import provenance_for
from elicit.calibration.labels import require_per_class
from elicit.calibration.stats import cross_fit_folds
from elicit.calibration.white_box import AnswerProbe, probe_text, stacked_values
from elicit.datasets.items import dataset_name
from elicit.model.hidden_states import HiddenStateEmbeddings
from elicit.signals.registry import names
from elicit.signals.white_box import ANSWER_PROBE
from elicit.types import EvalRecord, Signals

HEAD = "head"
BEST_SINGLE = "best single"
DEFAULT = "default"
RAW_FALLBACK = 0.0
"""A raw signal that could not be computed counts as no support for the answer: it is
missing mostly when no answer was parsed or no sample gave it."""


@dataclass
class CrossFit:
    """The refit head and every method's out-of-fold confidences on the scored records."""

    head: FusionHead
    records: list[EvalRecord]
    correct: NDArray[np.bool_]
    datasets: list[str]
    folds: NDArray[np.int64]
    scores: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    fallbacks: dict[str, int] = field(default_factory=dict)
    excluded_few_shot: int = 0
    head_choices: list[str] = field(default_factory=list)
    best_single_choices: list[str] = field(default_factory=list)
    probe: AnswerProbe | None = None
    """The answer probe refit on every record, when hidden states were read (``white_box``)."""


def dataset_of(record: EvalRecord) -> str:
    """The dataset a record came from (see :func:`~elicit.datasets.items.dataset_name`)."""
    return dataset_name(record.id, record.metadata)


def scored_records(records: Sequence[EvalRecord]) -> tuple[list[EvalRecord], int]:
    """The records metrics may use, and how many few-shot (leaked) ones were left out."""
    kept = [r for r in records if not r.few_shot]
    return kept, len(records) - len(kept)


def raw_scores(records: Sequence[EvalRecord]) -> tuple[dict[str, NDArray[np.float64]], dict[str, int]]:
    """Each signal as it is under ``raw:<name>`` and the records' own confidence under ``default``.

    Missing values take ``RAW_FALLBACK``; the second mapping counts them per method.
    """
    signal_names = names()
    values = signal_matrix([r.signals for r in records], signal_names)
    missing = np.isnan(values)
    scores: dict[str, NDArray[np.float64]] = {}
    fallbacks: dict[str, int] = {}
    for i, name in enumerate(signal_names):
        if missing[:, i].all():
            continue
        scores[f"raw:{name}"] = np.where(missing[:, i], RAW_FALLBACK, values[:, i])
        fallbacks[f"raw:{name}"] = int(missing[:, i].sum())
    confidence = np.array([np.nan if r.confidence is None else r.confidence for r in records], dtype=float)
    scores[DEFAULT] = np.where(np.isnan(confidence), RAW_FALLBACK, confidence)
    fallbacks[DEFAULT] = int(np.isnan(confidence).sum())
    return scores, fallbacks


def _check_labels(records: Sequence[EvalRecord], k: int) -> None:
    require_per_class(
        np.array([r.correct for r in records], dtype=bool),
        k,
        lambda counts: (
            f"{counts.total} records with {counts.positive} correct and {counts.negative} wrong answers: "
            f"{k}-fold cross-fitting needs at least {k} of each; evaluate more questions or use fewer folds"
        ),
    )


def cross_fit(
    records: Sequence[EvalRecord],
    k: int = 5,
    seed: int = 0,
    *,
    source: str | None = None,
    nonnegative: bool = True,
    rule: Rule = DEFAULT_RULE,
    white_box: HiddenStateEmbeddings | None = None,
) -> CrossFit:
    """Out-of-fold predictions of the head, the fused model, the best single feature and every
    baseline, and the head refit on everything.

    A baseline is kept only if it could be fitted in every fold (its signal present in
    each training part), so that every method scores every question. With ``white_box`` (the
    hidden states of the records' model), the answer probe joins the signals: fitted inside
    each training part, its values on the training rows are out of fold there (see
    :func:`~elicit.calibration.white_box.stacked_values`), so the head learns what it is
    worth on questions it did not see; ``raw:answer_probe`` is its out-of-fold score.
    """
    kept, excluded = scored_records(records)
    _check_labels(kept, k)
    correct = np.array([r.correct for r in kept], dtype=bool)
    datasets = [dataset_of(r) for r in kept]
    folds = cross_fit_folds([r.id for r in kept], correct, groups=datasets, k=k, seed=seed)
    signals = [r.signals for r in kept]
    scores, fallbacks = raw_scores(kept)
    template = FusionHead(nonnegative=nonnegative, rule=rule, seed=seed)
    fitted: dict[str, NDArray[np.float64]] = {name: np.full(len(kept), np.nan) for name in (HEAD, FUSED, BEST_SINGLE)}
    head_choices: list[str] = []
    rivals: list[str] = []
    texts = [probe_text(r.question, r.answer) for r in kept]
    probe_scores = np.full(len(kept), np.nan)
    for fold in range(k):
        train = np.flatnonzero(folds != fold)
        test = np.flatnonzero(folds == fold)
        train_signals = [signals[i] for i in train]
        train_labels = correct[train].tolist()
        test_signals = [signals[i] for i in test]
        if white_box is not None:
            train_signals, test_signals, _ = with_probe(
                white_box, train_signals, [texts[i] for i in train], train_labels, test_signals,
                [texts[i] for i in test], seed,
            )  # fmt: skip
            probe_scores[test] = [s.get(ANSWER_PROBE) for s in test_signals]
        head = clone(template).fit(train_signals, train_labels)
        fitted[HEAD][test] = head.predict(test_signals)
        head_choices.append(head.choice)
        fused = head if head.linear_ is not None else head.alternative(FUSED)
        fitted[FUSED][test] = fused.predict(test_signals)
        rival = BestSingle().fit(train_signals, train_labels)
        rivals.append(rival.feature_)
        fitted[BEST_SINGLE][test] = rival.predict(test_signals)
        baselines: dict[str, Calibrator] = fit_baselines(train_signals, train_labels)
        for name, calibrator in baselines.items():
            fitted.setdefault(name, np.full(len(kept), np.nan))[test] = calibrator.predict(test_signals)
    scores.update({name: values for name, values in fitted.items() if not np.isnan(values).any()})
    probe = None
    if white_box is not None:
        scores[f"raw:{ANSWER_PROBE}"] = probe_scores
        signals, _, probe = with_probe(white_box, signals, texts, correct.tolist(), [], [], seed)
    setups = {r.setup.model_dump_json() for r in kept if r.setup is not None}
    setup = kept[0].setup if len(setups) == 1 else None
    head = clone(template).fit(signals, correct.tolist())
    head.provenance_ = provenance_for([r.id for r in kept], setup, source=source, folds=k, seed=seed)
    return CrossFit(
        head=head, records=kept, correct=correct, datasets=datasets, folds=folds, scores=scores,
        fallbacks=fallbacks, excluded_few_shot=excluded, head_choices=head_choices, best_single_choices=rivals,
        probe=probe,
    )  # fmt: skip


def with_probe(
    encoder: HiddenStateEmbeddings, train: Sequence[Signals], train_texts: Sequence[str], labels: Sequence[bool],
    test: Sequence[Signals], test_texts: Sequence[str], seed: int,
) -> tuple[list[Signals], list[Signals], AnswerProbe]:  # fmt: skip
    """Both sides' signals with the answer probe's values: out of fold on the training side."""
    train_values, test_values, probe = stacked_values(encoder, train_texts, labels, test_texts, seed=seed)
    return (
        [s.with_value(ANSWER_PROBE, float(v)) for s, v in zip(train, train_values, strict=True)],
        [s.with_value(ANSWER_PROBE, float(v)) for s, v in zip(test, test_values, strict=True)],
        probe,
    )
