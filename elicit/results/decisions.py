"""Whether a certified threshold keeps its promise on real records, how much it lets through, and the agent's trade.

Validity is checked the way the guarantee is stated: draw a calibration half at random,
certify λ̂ on it, and count the draws whose other half, answered at λ̂, is wrong more often
than α. Learn-then-Test promises that share is at most δ (up to the Monte Carlo error of a
finite number of draws). Usefulness is the share answered against the largest share any
threshold could answer on the test half itself at the same risk: an oracle that sees the
test labels, so no certified rule can beat it.

The agent (answer; if not certified, retrieve and answer again; if still not, abstain) is
replayed on the routing run's recorded answers, closed-book and with passages, of the same
questions: its decisions use only the confidences, so replaying them is exact for the
recorded answers, and every policy it is compared with reads the same records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from elicit import defaults
from elicit.calibration.risk_control import certify_threshold
from elicit.calibration.stats import percentile_interval, resample_indices
from elicit.results.document import Document, Provenance

RISKS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5)
"""Risks checked: the strict ones a deployment would state, and looser ones a weak model's answers can meet
(an embedded model right a quarter of the time has almost no subset wrong under 20% of the time)."""
DELTA = 0.1
SPLITS = 200
RESAMPLES = 1000
"""Bootstrap resamples of the held-out questions behind each policy's interval."""


def oracle_share(confidence: NDArray[np.float64], correct: NDArray[np.bool_], risk: float) -> float:
    """The largest share of questions a threshold chosen on these very labels answers at error ≤ ``risk``."""
    order = np.argsort(-confidence, kind="stable")
    conf, wrong = confidence[order], ~correct[order]
    errors = np.cumsum(wrong)
    answered = np.arange(1, conf.size + 1)
    # A threshold answers every question at or above it: only the last of a run of ties is a cut.
    cuts = np.append(conf[1:] != conf[:-1], True)
    ok = cuts & (errors <= risk * answered)
    return float(answered[ok].max() / conf.size) if ok.any() else 0.0


@dataclass(frozen=True)
class Validity:
    """One set and risk over many random calibration/test halves."""

    label: str
    source: str
    n: int
    risk: float
    delta: float
    violated: int
    certified: int
    answered: NDArray[np.float64]
    oracle: NDArray[np.float64]

    @property
    def splits(self) -> int:
        return int(self.answered.size)

    @property
    def bound(self) -> float:
        """δ plus two binomial standard errors of a violation share estimated from this many draws."""
        return self.delta + 2.0 * math.sqrt(self.delta * (1.0 - self.delta) / self.splits)


def validity(
    label: str, source: str, confidence: Sequence[float], correct: Sequence[bool], *, risk: float,
    delta: float = DELTA, splits: int = SPLITS, seed: int = defaults.SEED,
) -> Validity:  # fmt: skip
    """Certify on a random half, judge the other half, ``splits`` times."""
    conf, labels = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=bool)
    rng = np.random.default_rng([seed, round(1000 * risk)])
    violated = certified = 0
    answered, oracle = [], []
    for _ in range(splits):
        order = rng.permutation(conf.size)
        calibration, test = order[: conf.size // 2], order[conf.size // 2 :]
        threshold = certify_threshold(conf[calibration], labels[calibration], risk=risk, delta=delta)
        given = conf[test] >= threshold
        certified += math.isfinite(threshold)
        violated += bool(given.any()) and float(np.mean(~labels[test][given])) > risk
        answered.append(float(given.mean()))
        oracle.append(oracle_share(conf[test], labels[test], risk))
    return Validity(label, source, conf.size, risk, delta, violated, certified, np.array(answered), np.array(oracle))


def validity_table(rows: Sequence[Validity]) -> str:
    lines = [
        "| set | confidence | n | α | draws | certified draws | draws with answered error > α | "
        "at most (δ + MC error) | answered (mean) | oracle at α (mean) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        share = row.violated / row.splits
        lines.append(
            f"| {row.label} | {row.source} | {row.n} | {row.risk:g} | {row.splits} | {row.certified} "
            f"| {row.violated} ({share:.1%}) {'✓' if share <= row.bound else '✗'} | {row.bound:.1%} "
            f"| {row.answered.mean():.1%} | {row.oracle.mean():.1%} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- the agent, replayed


@dataclass(frozen=True)
class Policy:
    """What a policy did on each question: answered right, answered at all, retrieved."""

    name: str
    right: NDArray[np.bool_]
    given: NDArray[np.bool_]
    retrieved: NDArray[np.bool_]

    def row(self) -> str:
        n = self.right.size
        given = int(self.given.sum())
        wrong = int((self.given & ~self.right).sum())
        error = f"{wrong / given:.1%}" if given else "none answered"
        calls = 1.0 + float(self.retrieved.mean())
        # Every policy resamples the same questions (same n, same seed): their intervals are comparable.
        resampled = self.right[resample_indices(n, n_resamples=RESAMPLES, seed=defaults.SEED)].mean(axis=1)
        low, high = percentile_interval(resampled, 0.95) or (math.nan, math.nan)
        return (
            f"| {self.name} | {self.right.mean():.1%} [{low:.1%}, {high:.1%}] | {given / n:.1%} | {error} "
            f"| {self.retrieved.mean():.1%} "
            f"| {1.0 - given / n:.1%} | {calls:.2f} |"
        )


@dataclass(frozen=True)
class Answers:
    """One split's recorded answers: closed-book and from passages, each with its confidence and grade."""

    closed: NDArray[np.float64]
    closed_right: NDArray[np.bool_]
    context: NDArray[np.float64]
    context_right: NDArray[np.bool_]


def agent_policies(calibration: Answers, test: Answers, *, risk: float, delta: float = DELTA) -> list[Policy]:
    """The agent at ``risk`` and, at its cost, the policies without certificates."""
    first = certify_threshold(calibration.closed, calibration.closed_right, risk=risk, delta=delta)
    second = certify_threshold(calibration.context, calibration.context_right, risk=risk, delta=delta)
    answer_first = test.closed >= first
    retrieve = ~answer_first
    answer_second = retrieve & (test.context >= second)
    agent_right = np.where(answer_first, test.closed_right, answer_second & test.context_right)
    n = test.closed.size
    everything = np.ones(n, dtype=bool)
    # At the agent's retrieval rate: retrieve for its share of least confident first answers, never abstain.
    budget = int(retrieve.sum())
    lowest = np.zeros(n, dtype=bool)
    lowest[np.argsort(test.closed, kind="stable")[:budget]] = True
    return [
        Policy(f"agent (α = {risk:g}, δ = {delta:g})", agent_right, answer_first | answer_second, retrieve),
        Policy("answer always (closed book)", test.closed_right, everything, ~everything),
        Policy("retrieve always", test.context_right, everything, everything),
        Policy(
            "retrieve for the least confident, at the agent's retrieval rate",
            np.where(lowest, test.context_right, test.closed_right), everything, lowest,
        ),
    ]  # fmt: skip


def policy_table(policies: Sequence[Policy]) -> str:
    lines = [
        "| policy | right (of all questions, 95% bootstrap interval) | answered | error among answered | retrieved "
        "| abstained | generation calls per question |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join([*lines, *(policy.row() for policy in policies)])


def decisions_document(
    rows: Sequence[Validity], agent: Sequence[tuple[float, list[Policy]]], agent_note: str, origin: Provenance
) -> Document:
    document = Document("Decisions with a stated error rate", origin)
    document.add(
        f"Certified answering (Learn-then-Test, see `elicit certify`): a threshold λ̂ chosen on labelled "
        f"calibration records so that, with probability at least 1 − δ over their draw, the answers given at "
        f"λ̂ are wrong at most α of the time. Each row draws {SPLITS} random calibration halves (seeded), "
        f"certifies on one half and judges the other; δ = {DELTA:g}. A draw counts as a violation when the "
        "answered half's error exceeds α (a draw answering nothing cannot violate). Confidences are out of "
        "sample: a head fitted on the set's training split, or the default combination, which is fitted on "
        "nothing. The oracle answers the most questions any threshold could on the test half at error ≤ α, "
        "choosing it on that half's own labels; it bounds what any rule could answer.",
        validity_table(rows),
    )
    document.add("## The agent: answer, retrieve, or abstain", agent_note)
    for risk, policies in agent:
        document.add(f"### α = {risk:g}", policy_table(policies))
    return document
