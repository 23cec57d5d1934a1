"""The fusion head: one calibrated confidence from all signals, never worse than the best one.

No single signal is reliable everywhere (verbal confidence is overconfident, agreement is
coarse with few samples, token probabilities need logprobs), so a logistic regression
learns how much each feature is worth (:mod:`elicit.calibration.linear`). But with a few
hundred labels a fused model can also lose to its best input, so fitting is a choice made
on the training rows alone, by one inner stratified cross-validation:

1. the fused model's out-of-fold log-odds get a Platt or an isotonic map, so ECE does not
   pay for ranking gains (the map is fitted on out-of-fold outputs, as scikit-learn's
   ``CalibratedClassifierCV`` does);
2. that candidate competes with every single feature under a Platt or an isotonic map,
   all scored by their cross-validated Brier score on the same rows;
3. the choice between them follows a rule (``FusionHead(rule=...)``). With forty
   candidates and a few hundred rows the lowest Brier score is partly luck, so no rule
   takes it outright; the two selecting rules weigh a single feature against the fused
   model (under its better map) by one standard error of their paired per-question Brier
   difference, and the third shrinks instead of selecting:

   - ``one-se``, the textbook one-standard-error rule: the simplest candidate
     within one standard error of the best. A single feature is simpler than the fused model,
     so the fused model is kept only when it beats every single feature by more than one
     standard error; otherwise the best single feature within that error is chosen.
   - ``fused-unless-beaten``: the fused model is kept unless a single feature beats it by
     more than one standard error (the rule leans toward the complex candidate).
   - ``shrunk`` (the default) makes no choice between candidates. Its fused model leaves
     the feature that ranks the training answers best unpenalized (see
     :mod:`elicit.calibration.linear`), so the L2 penalty, chosen by cross-validation,
     pulls it toward that one feature's logistic regression instead of toward a constant:
     the rival every head is judged against is nested in it, and the other features enter
     only as far as held-out log loss pays for them. A selecting rule can pick a single
     feature, or the fused model, on noise when labels are few; this one degrades toward
     the rival instead. Its map is the better of Platt and isotonic. The fusion results
     compare the three rules, cross-fitted on the design sets they were chosen on.

   The head is the chosen candidate refit on all rows; every candidate's scores, with its
   paired difference to the fused one, stay in the head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self, get_args

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from elicit.calibration.calibrators import MAP_KINDS, ScoreMap, best_ranking, check_labels, present_features
from elicit.calibration.features import feature_matrix
from elicit.calibration.head_file import Candidate, FusionFileError, HeadFile, HeadProvenance, id_digest
from elicit.calibration.linear import LinearModel, inner_folds
from elicit.types import RunSetup, Signals

FUSED = "fused"
"""The name of the fused (logistic) candidate; single-feature candidates are named by feature."""

Rule = Literal["one-se", "fused-unless-beaten", "shrunk"]
RULES: tuple[Rule, ...] = get_args(Rule)
DEFAULT_RULE: Rule = "shrunk"
"""The rule every entry point fits with unless told otherwise (the fusion results compare them)."""


class HeadMismatch(ValueError):
    """A head is applied to answers produced differently from the ones it was fitted on."""


class FusionHead(BaseEstimator):  # type: ignore[misc]
    """The chosen confidence model: the fused logistic regression or one feature, plus a map.

    A scikit-learn estimator: the parameters are set in ``__init__`` (``features`` to read,
    None for every feature observed in training; ``select`` False to always keep the fused
    model; ``nonnegative`` feature weights; the ``seed`` of the inner folds), ``fit`` makes
    the choice the module describes and returns the head, and the fitted state lives in
    attributes ending in ``_``: ``linear_`` is set when the fused candidate won, otherwise
    ``feature_`` names the single feature (imputed by ``feature_mean_`` when missing);
    ``output_`` maps the chosen score to a probability; ``candidates_`` holds every option's
    inner cross-validated Brier score and AUROC, so a user can see what the choice rested on;
    ``provenance_`` says where the head came from (set by ``cross_fit`` or read from a file).
    ``sklearn.base.clone`` gives an unfitted copy with the same parameters.
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        *,
        select: bool = True,
        nonnegative: bool = True,
        rule: Rule = DEFAULT_RULE,
        seed: int = 0,
    ) -> None:
        self.features = features
        self.select = select
        self.nonnegative = nonnegative
        self.rule = rule
        self.seed = seed

    def fit(self, signals: Sequence[Signals], labels: Sequence[bool]) -> Self:
        """Fit on labelled questions (label = the answer was correct), choosing as the module says."""
        if self.rule not in RULES:
            raise ValueError(f"rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        selection = Selection.run(
            signals, labels, None if self.features is None else list(self.features), nonnegative=self.nonnegative,
            seed=self.seed, shrink=self.rule == "shrunk",
        )  # fmt: skip
        chosen = selection.choose(self.rule) if self.select and self.rule != "shrunk" else selection.best(FUSED)
        self._adopt(selection, chosen)
        self.provenance_: HeadProvenance | None = None
        return self

    def _adopt(self, selection: Selection, chosen: Candidate) -> None:
        """Take ``chosen`` as this head's model, refit on every row of ``selection``."""
        self.selection_ = selection
        self.linear_: LinearModel | None = selection.linear if chosen.name == FUSED else None
        self.feature_: str | None = None if chosen.name == FUSED else chosen.name
        self.feature_mean_: float | None = None if chosen.name == FUSED else selection.means[chosen.name]
        self.output_ = ScoreMap.fit(chosen.map, selection.scores[chosen.name], selection.y)
        self.candidates_ = list(selection.candidates)
        self.n_train_ = len(selection.y)
        self.base_rate_ = float(selection.y.mean())

    def alternative(self, name: str) -> FusionHead:
        """The head this one would be had its choice been the best candidate called ``name`` (e.g.
        ``FUSED``), from the same fit: no second selection. Only for a head fitted in this process."""
        selection = getattr(self, "selection_", None)
        if selection is None:
            raise NotFittedError("alternative() needs a head fitted here (a loaded head keeps no candidates' scores)")
        other = clone(self)
        other._adopt(selection, selection.best(name))
        other.provenance_ = self.provenance_
        return other

    def _check_fitted(self) -> None:
        if not hasattr(self, "output_"):
            raise NotFittedError("this FusionHead is not fitted: call fit() or FusionHead.load()")

    @property
    def choice(self) -> str:
        """What the head is, e.g. ``fused+platt``, ``fused toward cocoa+platt`` (shrunk toward one
        feature) or ``answer_prob+isotonic``."""
        self._check_fitted()
        if self.linear_ is None:
            return f"{self.feature_}+{self.output_.kind}"
        toward = "" if self.linear_.free is None else f" toward {self.linear_.free}"
        return f"{FUSED}{toward}+{self.output_.kind}"

    @property
    def features_(self) -> tuple[str, ...]:
        """The features the fitted head reads."""
        self._check_fitted()
        if self.linear_ is not None:
            return tuple(self.linear_.features)
        return (self.feature_,) if self.feature_ is not None else ()

    def score(self, signals: Sequence[Signals]) -> NDArray[np.float64]:
        """The chosen score before its map (log-odds for the fused model, the feature otherwise)."""
        self._check_fitted()
        if self.linear_ is not None:
            return self.linear_.decision(signals)
        values = feature_matrix(signals, list(self.features_))[:, 0]
        return np.where(np.isnan(values), float(self.feature_mean_ or 0.0), values)

    def predict(self, signals: Sequence[Signals]) -> NDArray[np.float64]:
        """Probability that each answer is correct."""
        scores = self.score(signals)
        return self.output_.predict(scores)

    def predict_one(self, signals: Signals) -> float:
        """Probability that one answer is correct."""
        return float(self.predict([signals])[0])

    def imputed(self, signals: Signals) -> list[str]:
        """The features of ``signals`` this head fills in by its missing rule."""
        values = feature_matrix([signals], list(self.features_))[0]
        return [name for name, value in zip(self.features_, values, strict=True) if np.isnan(value)]

    def check_setup(self, setup: RunSetup) -> None:
        """Refuse answers produced with another strategy, sample count or model, naming both.

        A head learns how much each signal is worth under one setup: agreement out of 5
        samples is not agreement out of 10, and another model's token probabilities live
        on another scale. Heads without provenance (fitted directly in Python) are trusted.
        """
        self._check_fitted()
        fitted = self.provenance_.setup if self.provenance_ is not None else None
        if fitted is None:
            return
        for name in ("strategy", "n_samples", "model"):
            mine, theirs = getattr(fitted, name), getattr(setup, name)
            if mine is not None and theirs is not None and mine != theirs:
                raise HeadMismatch(
                    f"the fusion head was fitted on {name}={mine!r} but is applied to {name}={theirs!r}: "
                    "fit a head on records of this setup"
                )

    def overlap(self, ids: Sequence[str]) -> list[str]:
        """The ids among ``ids`` that this head was trained on (by their stored digests)."""
        self._check_fitted()
        if self.provenance_ is None:
            return []
        seen = set(self.provenance_.training_ids)
        return [i for i in ids if id_digest(i) in seen]

    def to_file(self) -> HeadFile:
        """The document ``save`` writes."""
        self._check_fitted()
        return HeadFile(
            choice=self.choice, output=self.output_, linear=self.linear_, feature=self.feature_,
            feature_mean=self.feature_mean_, candidates=self.candidates_, n_train=self.n_train_,
            base_rate=self.base_rate_, provenance=self.provenance_,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``save`` writes, as a dict."""
        return self.to_file().model_dump(mode="json")

    def save(self, path: str | Path) -> None:
        """Write a small, human-readable, versioned JSON file."""
        self.to_file().write(path)

    @classmethod
    def load(cls, path: str | Path, expected_features: Sequence[str] | None = None) -> FusionHead:
        """A fitted head read from a file written by ``save``.

        ``expected_features`` guards against applying a head to signals computed by a
        different configuration: a mismatch raises instead of silently predicting.
        """
        content = HeadFile.read(path)
        head = cls()
        head.linear_, head.feature_, head.feature_mean_ = content.linear, content.feature, content.feature_mean
        head.output_, head.candidates_ = content.output, list(content.candidates)
        head.n_train_, head.base_rate_, head.provenance_ = content.n_train, content.base_rate, content.provenance
        if expected_features is not None and list(expected_features) != list(head.features_):
            raise FusionFileError(
                f"{path}: features do not match; file has {list(head.features_)}, expected {list(expected_features)}"
            )
        return head


@dataclass
class Selection:
    """Every candidate's inner cross-validated scores on one training set, so that any can be adopted.

    The fused model is fitted on all rows (``C`` searched there; with ``shrink``, toward the
    best-ranking feature, left unpenalized); its candidate score is the out-of-fold log-odds
    of refits at that ``C``. A single feature's score is its value
    (mean-imputed). An adopted candidate's map is fitted on those scores, for the fused
    model on its out-of-fold log-odds (as scikit-learn's ``CalibratedClassifierCV`` does).
    """

    y: NDArray[np.bool_]
    linear: LinearModel
    scores: dict[str, NDArray[np.float64]]
    means: dict[str, float]
    candidates: list[Candidate]

    @classmethod
    def run(
        cls,
        signals: Sequence[Signals],
        labels: Sequence[bool],
        features: Sequence[str] | None = None,
        *,
        nonnegative: bool = True,
        seed: int = 0,
        shrink: bool = False,
    ) -> Selection:
        """Score the fused model and every feature, each under every map, on the same inner folds."""
        y = check_labels(len(signals), labels)
        names = present_features(signals, features)
        splitter = StratifiedKFold(n_splits=inner_folds(y), shuffle=True, random_state=seed)
        folds = list(splitter.split(np.zeros(len(y)), y))
        free = best_ranking(signals, y, names) if shrink else None
        linear = LinearModel.fit(signals, y, names, nonnegative=nonnegative, seed=seed, free=free)
        out_of_fold = np.empty(len(y))
        for train, test in folds:
            model = linear.refit([signals[i] for i in train], y[train])
            out_of_fold[test] = model.decision([signals[i] for i in test])
        scores = {FUSED: out_of_fold}
        means: dict[str, float] = {}
        for name, column in zip(names, feature_matrix(signals, names).T, strict=True):
            means[name] = float(np.nanmean(column))
            scores[name] = np.where(np.isnan(column), means[name], column)
        predictions = {
            (name, kind): _out_of_fold(kind, score, y, folds) for name, score in scores.items() for kind in MAP_KINDS
        }
        fused = min(MAP_KINDS, key=lambda kind: brier_score_loss(y, predictions[FUSED, kind]))
        reference = (predictions[FUSED, fused] - y) ** 2
        candidates = [
            _candidate(name, kind, predicted, y, reference) for (name, kind), predicted in predictions.items()
        ]
        return cls(y, linear, scores, means, candidates)

    def best(self, name: str) -> Candidate:
        """The best candidate called ``name`` (its better map)."""
        return min((c for c in self.candidates if c.name == name), key=lambda c: c.brier)

    def choose(self, rule: Rule) -> Candidate:
        """The candidate ``rule`` picks (see the module docstring)."""
        fused = self.best(FUSED)
        singles = sorted((c for c in self.candidates if c.name != FUSED), key=lambda c: c.brier)
        if rule == "fused-unless-beaten":
            return singles[0] if singles[0].vs_fused + singles[0].vs_fused_se < 0 else fused
        within = [c for c in singles if c.vs_fused - c.vs_fused_se <= 0]
        return within[0] if within else fused


def _out_of_fold(
    kind: str, score: NDArray[np.float64], y: NDArray[np.bool_], folds: Sequence[tuple[Any, Any]]
) -> NDArray[np.float64]:
    """Inner cross-validated predictions of ``score`` under a map of ``kind``."""
    predicted = np.empty(len(y))
    for train, test in folds:
        predicted[test] = ScoreMap.fit(kind, score[train], y[train]).predict(score[test])
    return predicted


def _candidate(
    name: str, kind: str, predicted: NDArray[np.float64], y: NDArray[np.bool_], reference: NDArray[np.float64]
) -> Candidate:
    """A candidate's scores, and its paired Brier difference to the fused reference (negative: better)."""
    difference = (predicted - y) ** 2 - reference
    return Candidate(
        name=name, map=kind, brier=float(brier_score_loss(y, predicted)), auroc=float(roc_auc_score(y, predicted)),
        vs_fused=float(difference.mean()), vs_fused_se=float(difference.std(ddof=1) / np.sqrt(len(y))),
    )  # fmt: skip
