"""What the benchmarks share: a server (reused via ELICIT_BASE_URL or started), questions, a timer."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from elicit.datasets import load_mix
from elicit.model.serving import BASE_URL_ENV, ServerHandle, serve


@contextmanager
def benchmark_server() -> Iterator[ServerHandle]:
    """The server to measure: ELICIT_BASE_URL if set, else a fresh local vLLM server."""
    if not os.environ.get(BASE_URL_ENV):
        print("starting a local vLLM server (set ELICIT_BASE_URL to reuse one)")
    with serve() as handle:
        yield handle


def questions(count: int) -> list[str]:
    """``count`` built-in questions, mixed across sets, the same in every run."""
    sets = ("capitals", "cities", "us_capitals", "arithmetic")
    return [item.question for item in load_mix(sets, per_set=-(-count // len(sets)), seed=0)][:count]


class Timer:
    """Wall time of a block: ``with Timer() as t: ...; t.seconds``."""

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self.started
