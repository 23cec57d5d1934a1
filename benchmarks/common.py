"""What the benchmarks share: a server (reused via ELICIT_BASE_URL or started), questions, a timer,
and the result every benchmark returns as data besides printing it."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field

from elicit.datasets import QAItem, load_mix
from elicit.model.serving import BASE_URL_ENV, ServerHandle, serve

QUESTION_SETS = ("capitals", "cities", "us_capitals", "arithmetic")

Setting = bool | int | float | str


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class BenchmarkResult(BaseModel):
    """A benchmark's figures as data, so that documents are written from a measured run.

    Each script subclasses this with its figures (the numbers it prints, already computed),
    while ``settings`` keeps what the run was asked to do (counts, token limits, the model,
    whether the server was reused) in one shape for every benchmark, so any of them can be
    described alike next to its figures.
    """

    name: str
    settings: dict[str, Setting]
    created: str = Field(default_factory=_now)

    def write(self, path: Path) -> Path:
        """Write the result as JSON (its folder is created) and return the path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's command line, with the ``--json PATH`` option every benchmark has."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH")
    return parser


def reused_server() -> bool:
    """True when :func:`benchmark_server` reuses the server at ELICIT_BASE_URL instead of starting one."""
    return bool(os.environ.get(BASE_URL_ENV))


@contextmanager
def benchmark_server() -> Iterator[ServerHandle]:
    """The server to measure: ELICIT_BASE_URL if set, else a fresh local vLLM server."""
    if not reused_server():
        print("starting a local vLLM server (set ELICIT_BASE_URL to reuse one)")
    with serve() as handle:
        yield handle


def server_settings(handle: ServerHandle, reused: bool) -> dict[str, Setting]:
    """The settings that say which server a figure was measured on."""
    return {"model": handle.model_name, "base_url": handle.base_url, "reused_server": reused}


def items(count: int, seed: int) -> list[QAItem]:
    """``count`` built-in questions with their answers, mixed across sets, the same for the same seed."""
    return load_mix(QUESTION_SETS, per_set=-(-count // len(QUESTION_SETS)), seed=seed)[:count]


def questions(count: int) -> list[str]:
    """``count`` built-in questions, mixed across sets, the same in every run."""
    return [item.question for item in items(count, seed=0)]


class Timer:
    """Wall time of a block: ``with Timer() as t: ...; t.seconds``."""

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self.started
