"""Routing benchmark: what one routing decision costs, per representation, next to one answer generation.

A pre-generation policy embeds the question (MiniLM sentence embeddings, or the served model's
own hidden states run by transformers on the same weights) and scores it with fitted scorers;
the ratio to one no-retrieval pass of the chain on the same server, measured in the same run,
is what routing adds to a question it keeps (target: at most 5%). Every timed question is new
to the encoders (no cache hit), one at a time, as a router meets them.

Run from the repository root: .venv/bin/python -m benchmarks.route   (ELICIT_BASE_URL reuses a server).
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import Timer, benchmark_server
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


def measure(handle: ServerHandle, cache: Path) -> None:
    train = mixed_items(DEFAULT_MIX, "train", TRAIN)
    fresh = [item.question for item in mixed_items(DEFAULT_MIX, "dev", N_GENERATIONS + 2 * N_DECISIONS + 2, seed=5)]
    labels = np.arange(len(train)) % 3 == 0  # timing only: any mix of labels fits the same shapes
    minilm = MiniLMEmbeddings()
    hidden = HiddenStateEmbeddings(cache_path=cache / "hidden.sqlite")
    train_questions = [item.question for item in train]
    minilm_thrust = ThrustScorer().fit(minilm.encode(train_questions))
    scorers = fit_scorers(hidden.encode(train_questions), labels)
    chain = ConfidenceChain(chat_model(handle), n_samples=N_SAMPLES, max_tokens=MAX_TOKENS, p_true=False)
    chain.invoke(fresh[0])  # warm-up: first requests
    minilm.encode([fresh[1]])

    generation = mean_seconds(chain.invoke, fresh[2 : 2 + N_GENERATIONS])
    rows = {"MiniLM + Thrust": mean_seconds(decision(minilm, minilm_thrust.score), fresh[-N_DECISIONS:])}
    questions = fresh[2 + N_GENERATIONS : 2 + N_GENERATIONS + N_DECISIONS]
    rows["hidden states (encode only)"] = mean_seconds(lambda q: hidden.encode([q]), questions)
    vector = hidden.encode(questions[:1])  # cached now: each scorer's own cost
    for name, scorer in scorers.items():
        rows[f"  + {name} score"] = mean_seconds(lambda _q, s=scorer: s.score(vector), questions)
    print(f"one answer generation (n_samples={N_SAMPLES}, max_tokens={MAX_TOKENS}): {generation:.3f} s")
    print(f"{'routing decision per question':<34} {'seconds':>9} {'ratio to one generation':>24}")
    for name, seconds in rows.items():
        print(f"{name:<34} {seconds:9.4f} {seconds / generation:24.4f}")
    worst = rows["hidden states (encode only)"] + max(v for k, v in rows.items() if k.startswith("  +"))
    print(f"{'hidden states + slowest scorer':<34} {worst:9.4f} {worst / generation:24.4f}  (target <= 0.05)")


def main() -> None:
    with benchmark_server() as handle, tempfile.TemporaryDirectory() as cache:
        measure(handle, Path(cache))


if __name__ == "__main__":
    main()
