"""Routing benchmark: what one routing decision costs, per representation, next to one answer generation.

A pre-generation policy embeds the question (MiniLM sentence embeddings, or the served model's
own hidden states run by transformers on the same weights) and scores it with fitted scorers;
the ratio to one no-retrieval pass of the chain on the same server, measured in the same run,
is what routing adds to a question it keeps (target: at most 5%). Every timed question is new
to the encoders (no cache hit), one at a time, as a router meets them.

Run from the repository root: .venv/bin/python -m benchmarks.route [--json PATH]
(ELICIT_BASE_URL reuses a server).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from benchmarks.common import BenchmarkResult, Timer, arguments, benchmark_server, reused_server, server_settings
from elicit.chains import ConfidenceChain
from elicit.model.client import chat_model
from elicit.model.embeddings import MiniLMEmbeddings, TextEncoder
from elicit.model.hidden_states import HiddenStateEmbeddings
from elicit.model.serving import ServerHandle
from elicit.routing.mix import DEFAULT_MIX, mixed_items
from elicit.routing.policies import fit_scorers
from elicit.routing.thrust import ThrustScorer

N_GENERATIONS = 6
N_DECISIONS = 30
TRAIN = 200
N_SAMPLES = 1
MAX_TOKENS = 16
TARGET = 0.05
"""The largest share of one generation a routing decision may add."""


class Cost(BaseModel):
    """What one routing step costs per question: seconds, and as a ratio to one answer generation."""

    seconds: float
    ratio: float


class RouteResult(BenchmarkResult):
    """One answer generation's time and, beside it, each routing decision's cost."""

    name: str = "route"
    generation_seconds: float
    decisions: dict[str, Cost]
    """Whole decisions (MiniLM + Thrust) and the hidden states' encoding alone."""
    scorers: dict[str, Cost]
    """Each fitted scorer on an already encoded question."""
    worst: Cost
    """Hidden states and the slowest scorer: the dearest decision."""


def mean_seconds(function: Callable[[str], object], inputs: list[str]) -> float:
    """Mean wall time of ``function`` over the inputs, run one after another."""
    times = []
    for value in inputs:
        with Timer() as timer:
            function(value)
        times.append(timer.seconds)
    return statistics.mean(times)


def decision(encoder: TextEncoder, score: Callable[[np.ndarray], np.ndarray]) -> Callable[[str], object]:
    return lambda question: score(np.asarray(encoder.encode([question]), dtype=np.float64))


def measure(handle: ServerHandle, *, reused: bool = True) -> RouteResult:
    """Time one generation and each routing decision at ``handle`` (``reused``: not started here); the
    hidden states are cached in a fresh folder, so that no timed question is a cache hit."""
    with tempfile.TemporaryDirectory() as cache:
        train = mixed_items(DEFAULT_MIX, "train", TRAIN)
        fresh = [item.question for item in mixed_items(DEFAULT_MIX, "dev", N_GENERATIONS + 2 * N_DECISIONS + 2, seed=5)]
        labels = np.arange(len(train)) % 3 == 0  # timing only: any mix of labels fits the same shapes
        minilm = MiniLMEmbeddings()
        hidden = HiddenStateEmbeddings(cache_path=Path(cache) / "hidden.sqlite")
        train_questions = [item.question for item in train]
        minilm_thrust = ThrustScorer().fit(minilm.encode(train_questions))
        scorers = fit_scorers(hidden.encode(train_questions), labels)
        chain = ConfidenceChain(chat_model(handle), n_samples=N_SAMPLES, max_tokens=MAX_TOKENS, p_true=False)
        chain.invoke(fresh[0])  # warm-up: first requests
        minilm.encode([fresh[1]])

        generation = mean_seconds(chain.invoke, fresh[2 : 2 + N_GENERATIONS])
        decisions = {"MiniLM + Thrust": mean_seconds(decision(minilm, minilm_thrust.score), fresh[-N_DECISIONS:])}
        questions = fresh[2 + N_GENERATIONS : 2 + N_GENERATIONS + N_DECISIONS]
        decisions["hidden states (encode only)"] = mean_seconds(lambda q: hidden.encode([q]), questions)
        vector = hidden.encode(questions[:1])  # cached now: each scorer's own cost
        scores: dict[str, float] = {}
        for name, scorer in scorers.items():
            scores[name] = mean_seconds(lambda _q, s=scorer: s.score(vector), questions)

    def cost(seconds: float) -> Cost:
        return Cost(seconds=seconds, ratio=seconds / generation)

    settings = {"generations": N_GENERATIONS, "decisions": N_DECISIONS, "train": TRAIN, "samples": N_SAMPLES,
                "max_tokens": MAX_TOKENS, **server_settings(handle, reused)}  # fmt: skip
    return RouteResult(
        settings=settings,
        generation_seconds=generation,
        decisions={name: cost(seconds) for name, seconds in decisions.items()},
        scorers={name: cost(seconds) for name, seconds in scores.items()},
        worst=cost(decisions["hidden states (encode only)"] + max(scores.values())),
    )


def show(result: RouteResult) -> None:
    settings = result.settings
    print(f"one answer generation (n_samples={settings['samples']}, max_tokens={settings['max_tokens']}): "
          f"{result.generation_seconds:.3f} s")  # fmt: skip
    print(f"{'routing decision per question':<34} {'seconds':>9} {'ratio to one generation':>24}")
    rows = {**result.decisions, **{f"  + {name} score": cost for name, cost in result.scorers.items()}}
    for name, cost in rows.items():
        print(f"{name:<34} {cost.seconds:9.4f} {cost.ratio:24.4f}")
    worst = result.worst
    print(f"{'hidden states + slowest scorer':<34} {worst.seconds:9.4f} {worst.ratio:24.4f}  (target <= {TARGET})")


def main() -> None:
    args = arguments(__doc__).parse_args()
    with benchmark_server() as handle:
        result = measure(handle, reused=reused_server())
    show(result)
    if args.json:
        result.write(args.json)


if __name__ == "__main__":
    main()
