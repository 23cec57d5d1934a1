"""The fusion head judged on questions its choice never saw, beside the best single signal; how many labels it needs.

Each case fits the head and its rival (the single signal with the best training AUROC,
Platt-mapped on the same rows) on training records only, then scores other records:
a BIG-bench task's test split after fitting on its train split, FanOutQA's dev and test
splits after fitting on its train split, or the built-in mix cross-fitted. The head's rule
is compared with the others on design sets only (the built-in mix and FanOutQA's train
split, each cross-fitted), the evidence the default was chosen on. The learning
curve fits both on seeded subsamples of growing size of one pool and judges every fit on
the same held-out split, so the only thing that changes along the curve is how many
labelled questions the fit had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from elicit import defaults
from elicit.calibration import metrics
from elicit.calibration.fitting import BEST_SINGLE, HEAD, cross_fit
from elicit.calibration.head import DEFAULT_RULE, RULES, Rule
from elicit.calibration.stats import bootstrap_intervals, percentile_interval
from elicit.calibration.verdicts import Verdict, verdicts
from elicit.datasets import split_of
from elicit.model.hidden_states import HiddenStateEmbeddings
from elicit.results.document import Document, Provenance
from elicit.results.held_out import held_out
from elicit.types import EvalRecord

CURVE_SIZES: tuple[int, ...] = (50, 100, 200, 400, 800)
"""Training-set sizes of the learning curve (those the pool can supply are drawn)."""
CURVE_REPEATS = 10
"""Seeded subsamples per size: the curve's interval is their spread."""


@dataclass(frozen=True)
class Case:
    """The head and its rival on one set of judged questions."""

    label: str
    design: str
    correct: NDArray[np.bool_]
    scores: dict[str, NDArray[np.float64]]
    head_choice: str
    rival_choice: str

    def verdicts(self, seed: int) -> dict[str, Verdict]:
        """Head − best single on AUROC and Brier, paired on the same questions."""
        found = verdicts(self.correct, self.scores, HEAD, BEST_SINGLE, metrics=("auroc", "brier"), seed=seed)
        return {verdict.metric: verdict for verdict in found}


def unfittable(**parts: Sequence[EvalRecord]) -> str | None:
    """Why these records cannot be fitted or judged (a part with a single label), or None."""
    for name, records in parts.items():
        labels = [record.correct for record in records if not record.few_shot]
        if len(set(labels)) < 2:
            state = "none" if not labels else "every one right" if labels[0] else "every one wrong"
            return f"{name}: {len(labels)} answers, {state}"
    return None


def held_out_case(
    label: str, train: Sequence[EvalRecord], test: Sequence[EvalRecord], *, seed: int = defaults.SEED,
    white_box: HiddenStateEmbeddings | None = None,
) -> Case:  # fmt: skip
    """Fit on ``train``, judge on ``test`` (see :func:`~elicit.results.held_out.held_out`)."""
    fitted = held_out(train, test, seed=seed, white_box=white_box)
    return Case(
        label=label, design=f"fitted on {fitted.n_train}, judged on {len(fitted.records)} others",
        correct=fitted.correct, scores=fitted.scores, head_choice=fitted.head.choice,
        rival_choice=str(fitted.rival.feature_),
    )  # fmt: skip


def cross_fit_case(
    label: str, records: Sequence[EvalRecord], *, seed: int = defaults.SEED,
    white_box: HiddenStateEmbeddings | None = None, rule: Rule = DEFAULT_RULE,
) -> Case:  # fmt: skip
    """Every question judged by a head and a rival fitted on the other folds."""
    fit = cross_fit(records, k=defaults.FOLDS, seed=seed, white_box=white_box, rule=rule)
    return Case(
        label=label, design=f"cross-fitted, {defaults.FOLDS} folds, {len(fit.records)} questions",
        correct=fit.correct, scores={name: fit.scores[name] for name in (HEAD, BEST_SINGLE)},
        head_choice=_tally(fit.head_choices), rival_choice=_tally(fit.best_single_choices),
    )  # fmt: skip


def rule_cases(design: Mapping[str, Sequence[EvalRecord]], *, seed: int = defaults.SEED) -> list[Case]:
    """Every rule cross-fitted on every design set, labelled ``set, rule``: what the default rests on."""
    return [
        cross_fit_case(f"{label}, {rule}", records, seed=seed, rule=rule)
        for label, records in design.items()
        for rule in RULES
    ]


def _tally(choices: Sequence[str]) -> str:
    """``a ×3, b ×2``: what each fold chose."""
    counts = {choice: choices.count(choice) for choice in dict.fromkeys(choices)}
    return ", ".join(f"{choice} ×{count}" for choice, count in counts.items())


def fanout_split(records: Sequence[EvalRecord], seed: int = defaults.SEED) -> tuple[list[EvalRecord], list[EvalRecord]]:
    """FanOutQA's records as (train, dev + test), by the same hash split every built-in set uses."""
    train = [record for record in records if split_of(record.id, seed) == "train"]
    return train, [record for record in records if split_of(record.id, seed) != "train"]


# --------------------------------------------------------------------------- learning curve


@dataclass(frozen=True)
class CurvePoint:
    """Head and best single AUROC on the fixed held-out split, one value per subsample of ``n``."""

    n: int
    head: NDArray[np.float64]
    best_single: NDArray[np.float64]
    skipped: int
    """Subsamples with a single label (nothing to fit)."""


def learning_curve(
    records: Sequence[EvalRecord], *, sizes: Sequence[int] = CURVE_SIZES, repeats: int = CURVE_REPEATS,
    seed: int = defaults.SEED,
) -> tuple[list[CurvePoint], int]:  # fmt: skip
    """The curve over ``sizes`` (those at most the pool's size) and the held-out split's size.

    The held-out split is the records' hash ``test`` split; the pool is the rest.
    """
    test = [record for record in records if split_of(record.id, seed) == "test"]
    pool = [record for record in records if split_of(record.id, seed) != "test"]
    correct = np.array([record.correct for record in test], dtype=bool)
    points = []
    for n in (size for size in sizes if size <= len(pool)):
        head, best, skipped = [], [], 0
        for repeat in range(repeats):
            chosen = np.random.default_rng([seed, n, repeat]).choice(len(pool), size=n, replace=False)
            train = [pool[i] for i in sorted(chosen)]
            if len({record.correct for record in train}) < 2:
                skipped += 1
                continue
            fitted = held_out(train, test, seed=seed)
            head.append(metrics.auroc(fitted.scores[HEAD], correct) or np.nan)
            best.append(metrics.auroc(fitted.scores[BEST_SINGLE], correct) or np.nan)
        points.append(CurvePoint(n, np.array(head), np.array(best), skipped))
    return points, len(test)


def plot_learning_curve(curves: Mapping[str, Sequence[CurvePoint]], path: Path) -> Path:
    """Head and best single AUROC against training size, the band spanning the subsamples' 95% range."""
    figure = Figure(figsize=(5.5 * len(curves), 4))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(curves), squeeze=False)
    for axis, (model, points) in zip(axes[0], curves.items(), strict=True):
        sizes = [point.n for point in points]
        for name, color in ((HEAD, "tab:blue"), (BEST_SINGLE, "tab:orange")):
            values = [point.head if name == HEAD else point.best_single for point in points]
            axis.plot(sizes, [np.nanmean(v) for v in values], marker="o", color=color, label=name)
            bands = [percentile_interval(v[np.isfinite(v)], 0.95) or (np.nan, np.nan) for v in values]
            axis.fill_between(sizes, [b[0] for b in bands], [b[1] for b in bands], color=color, alpha=0.2)
        axis.set_xscale("log")
        axis.set_xticks(sizes, [str(size) for size in sizes])
        axis.set_xlabel("labelled training questions")
        axis.set_ylabel("held-out AUROC")
        axis.set_title(model)
        axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


# --------------------------------------------------------------------------- document


def _value(value: float | None, interval: tuple[float, float] | None) -> str:
    if value is None:
        return "undefined"
    shown = "" if interval is None else f" [{interval[0]:.3f}, {interval[1]:.3f}]"
    return f"{value:.3f}{shown}"


def _difference(verdict: Verdict) -> str:
    if verdict.estimate is None or verdict.low is None or verdict.high is None:
        return "undefined"
    return f"{verdict.estimate:+.3f} [{verdict.low:+.3f}, {verdict.high:+.3f}] {verdict.word}"


@dataclass(frozen=True)
class Tally:
    """How one model's cases meet the targets: head AUROC ≥ rival's, head Brier ≤ rival's, a ranking gain."""

    cases: int
    auroc_met: int
    brier_met: int
    gains: int

    def sentence(self, model: str) -> str:
        return (
            f"{model}: head AUROC at least the best single signal's on {self.auroc_met} of {self.cases} sets, "
            f"Brier at most its Platt Brier on {self.brier_met} of {self.cases}, a ranking gain whose paired "
            f"interval excludes zero on {self.gains} (the goal: 2)"
        )


def case_table(cases: Sequence[Case], *, seed: int) -> tuple[str, Tally]:
    """The Markdown table of one model's cases and how they meet the targets."""
    lines = [
        "| set | design | accuracy | head AUROC | best single AUROC | head − best single AUROC | head Brier "
        "| best single Brier | head − best single Brier | head's choice | best single |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    auroc_met = brier_met = gains = 0
    for case in cases:
        found = case.verdicts(seed)
        intervals = {
            name: bootstrap_intervals(case.scores[name], case.correct, metrics=("auroc", "brier"), seed=seed)
            for name in (HEAD, BEST_SINGLE)
        }
        values = {name: metrics.summarize(case.scores[name], case.correct) for name in (HEAD, BEST_SINGLE)}
        auroc, brier = found["auroc"], found["brier"]
        auroc_met += auroc.estimate is not None and auroc.estimate >= 0
        brier_met += brier.estimate is not None and brier.estimate <= 0
        gains += auroc.word == "better"
        cells = [case.label, case.design, f"{case.correct.mean():.1%} (n={case.correct.size})"]
        cells += [_value(values[name]["auroc"], intervals[name]["auroc"]) for name in (HEAD, BEST_SINGLE)]
        cells.append(_difference(auroc))
        cells += [_value(values[name]["brier"], intervals[name]["brier"]) for name in (HEAD, BEST_SINGLE)]
        cells += [_difference(brier), case.head_choice, case.rival_choice]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), Tally(len(cases), auroc_met, brier_met, gains)


def curve_table(points: Sequence[CurvePoint], n_test: int) -> str:
    """The learning curve as Markdown: mean AUROC and the subsamples' 95% range of head − best single."""
    lines = [
        "| training questions | head AUROC (mean) | best single AUROC (mean) | head − best single: mean "
        "[2.5th, 97.5th percentile over subsamples] | subsamples (single-label skipped) | judged on |",
        "|---|---|---|---|---|---|",
    ]
    for point in points:
        difference = point.head - point.best_single
        difference = difference[np.isfinite(difference)]
        band = percentile_interval(difference, 0.95)
        shown = "undefined" if band is None else f"{difference.mean():+.3f} [{band[0]:+.3f}, {band[1]:+.3f}]"
        lines.append(
            f"| {point.n} | {np.nanmean(point.head):.3f} | {np.nanmean(point.best_single):.3f} | {shown} "
            f"| {point.head.size} ({point.skipped}) | {n_test} |"
        )
    return "\n".join(lines)


def fusion_document(
    cases: Mapping[str, Sequence[Case]], probed: Mapping[str, Sequence[Case]],
    curves: Mapping[str, tuple[Sequence[CurvePoint], int]], figure: Path | None, origin: Provenance, *, seed: int,
    skipped: Mapping[str, Sequence[str]] | None = None, rules: Mapping[str, Sequence[Case]] | None = None,
) -> tuple[Document, list[str]]:  # fmt: skip
    """The fusion document and each model's one-line tallies, without and with the probe (for the README)."""
    document = Document("The fusion head out of sample", origin)
    document.add(
        "Every number here is out of sample: the head's whole choice (features, C, the rule that picks it) and "
        "its rival, the single signal with the best training AUROC (Platt-mapped), are fitted on training "
        "records only and judged on others. Intervals are 95% stratified bootstrap intervals (1000 resamples); "
        "head − best single is a paired bootstrap on the same questions, and the word after it says what the "
        "interval shows. The targets: the head's AUROC at least the best single's and its Brier at most the "
        "best single's on every set; beyond, a ranking gain whose interval excludes zero on two sets per model."
    )
    tallies = []
    for model, model_cases in cases.items():
        table, tally = case_table(model_cases, seed=seed)
        document.add(f"## {model}", table, tally.sentence(model) + ".")
        if skipped and skipped.get(model):
            document.add("Not fitted (a part with a single label): " + "; ".join(skipped[model]) + ".")
        tallies.append(tally.sentence(model))
        if probed.get(model):
            table, tally = case_table(probed[model], seed=seed)
            document.add(
                f"### {model}, with the answer probe",
                "The same comparisons with the white-box signal added on both sides: a probe on the model's "
                "hidden states of the question and its answer, layer and pooling chosen inside the training "
                "records, its training values out of fold.",
                table,
                tally.sentence(f"{model} with the probe") + ".",
            )
            tallies.append(tally.sentence(f"{model} with the probe"))
    if rules:
        document.add(
            "## How the head's rule was chosen",
            f"Each rule the head can follow ({', '.join(RULES)}; see `elicit.calibration.head`), cross-fitted "
            f"({defaults.FOLDS} folds) on the design sets only: the built-in mix and FanOutQA's train split. The "
            f"default, {DEFAULT_RULE}, was chosen on these rows, so the built-in mix rows above are not "
            "independent of that choice; FanOutQA's dev and test splits and every BIG-bench set are.",
        )
        for model, model_cases in rules.items():
            document.add(f"### {model}, design sets", case_table(model_cases, seed=seed)[0])
    if curves:
        document.add(
            "## How many labelled questions fitting needs",
            f"Head and best single fitted on {CURVE_REPEATS} seeded subsamples of each size drawn from the "
            "built-in mix's train and dev splits, each fit judged on the same test split (never drawn). The "
            "range is the spread over subsamples (how much a user's particular labelled set moves the result), "
            "not a bootstrap over the judged questions.",
        )
        for model, (points, n_test) in curves.items():
            document.add(f"### {model}", curve_table(points, n_test))
        if figure is not None:
            document.add(f"![learning curve]({figure.name})")
    return document, tallies
