"""Routing benchmark: what a routed question costs with and without retrieval, and what Thrust costs.

Prints the router's mean latency per question (one question at a time) when Thrust keeps the
question in memory (one pass), when Thrust sends it to retrieval (one pass with passages) and
when confidence routing retrieves (a first pass, then one with passages), and the Thrust
score's cost per query (embedding + score) as a fraction of one no-retrieval pass, all
measured in the same run against the same server.

Run from the repository root: .venv/bin/python -m benchmarks.route   (ELICIT_BASE_URL reuses a server).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import Timer, benchmark_server
from elicit.chains import ConfidenceChain
from elicit.datasets import build_corpus
from elicit.model.client import chat_model
from elicit.model.embeddings import MiniLMEmbeddings
from elicit.model.serving import ServerHandle
from elicit.routing.evaluate import DEFAULT_MIX, mixed_items
from elicit.routing.retrieval import BM25PassageRetriever
from elicit.routing.router import RetrievalRouter
from elicit.routing.thrust import ThrustScorer

N_QUESTIONS = 4
N_SAMPLES = 3
MAX_TOKENS = 32
THRUST_TRAIN = 300
THRUST_REPEATS = 20


def mean_seconds(function: Callable[[Any], Any], inputs: list[Any]) -> float:
    """Mean wall time of ``function`` over the inputs, run one after another."""
    times = []
    for value in inputs:
        with Timer() as timer:
            function(value)
        times.append(timer.seconds)
    return statistics.mean(times)


def measure(handle: ServerHandle) -> None:
    questions = [item.question for item in mixed_items(DEFAULT_MIX, "dev", N_QUESTIONS, seed=1)]
    with Timer() as timer:
        retriever = BM25PassageRetriever.from_passages(build_corpus(), k=2)
    print(f"BM25 index over the built-in corpus: {timer.seconds:.1f} s (once per process)")

    embeddings = MiniLMEmbeddings()
    train = [item.question for item in mixed_items(DEFAULT_MIX, "train", THRUST_TRAIN)]
    scorer = ThrustScorer(embeddings.model_name).fit(np.asarray(embeddings.encode(train)))
    chain = ConfidenceChain(chat_model(handle), n_samples=N_SAMPLES, max_tokens=MAX_TOKENS)

    def thrust_router(threshold: float) -> RetrievalRouter:
        return RetrievalRouter(chain, retriever, scorer=scorer, embeddings=embeddings, thrust_threshold=threshold)

    keep, send = thrust_router(0.0), thrust_router(math.inf)  # Thrust scores are >= 0: never / always below
    unsure = RetrievalRouter(chain, retriever, signal="confidence", confidence_threshold=1.01)
    chain.invoke(questions[0])  # warm-up: first requests and the embedding model load
    keep.invoke(questions[0])

    generation = mean_seconds(chain.invoke, questions)
    thrust = mean_seconds(lambda q: keep.thrust_scores([q]), questions * THRUST_REPEATS)
    bm25 = mean_seconds(retriever.invoke, questions * THRUST_REPEATS)
    rows = {
        "one no-retrieval pass (chain.invoke)": generation,
        "router: Thrust keeps it (1 pass)": mean_seconds(keep.invoke, questions),
        "router: Thrust retrieves (1 pass with passages)": mean_seconds(send.invoke, questions),
        "router: confidence retrieves (2 passes)": mean_seconds(unsure.invoke, questions),
    }
    print(f"\n{N_QUESTIONS} questions, n_samples={N_SAMPLES}, max_tokens={MAX_TOKENS}, one at a time")
    for name, seconds in rows.items():
        print(f"{name:<50} {seconds:8.3f} s")
    print(f"{'Thrust score per query (embed + score)':<50} {thrust:8.3f} s")
    print(f"{'BM25 retrieval per query':<50} {bm25:8.3f} s")
    print(f"{'ratio Thrust / one no-retrieval pass':<50} {thrust / generation:8.4f}")


def main() -> None:
    with benchmark_server() as handle:
        measure(handle)


if __name__ == "__main__":
    main()
