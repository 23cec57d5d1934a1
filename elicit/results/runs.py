"""The evaluation runs behind the results tables: which questions, asked how, kept where.

A table never asks the model itself: it names the record sets it reads, and each record
set is one resumable ``elicit eval`` run (same questions, same settings, the same JSONL
file), so a table can be rebuilt from the files alone, an interrupted run continues where
it stopped, and a run started by hand with the command :meth:`RecordSet.command` prints is
the very run a pipeline would make.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from elicit import defaults
from elicit.chains import served_chain
from elicit.datasets import QAItem, select_builtin
from elicit.evaluation.batch import aevaluate, load_records
from elicit.model.serving import ServerHandle
from elicit.types import EvalRecord

BUILTIN_MIX: tuple[str, ...] = ("capitals", "currencies", "continents", "cities", "us_capitals", "arithmetic")
"""The generated short-answer sets, mixed: questions the model surely knows, surely does not, and between."""


@dataclass(frozen=True)
class RecordSet:
    """One run: built-in ``datasets`` (one, or a mix), a ``split`` (None: all), at most ``limit``
    questions (a seeded sample), asked with ``strategy`` and the default settings, tokens kept."""

    datasets: tuple[str, ...]
    split: str | None = None
    limit: int | None = None
    strategy: str = "vanilla"
    label: str | None = None
    """The file's name for the questions (default: the one dataset's name)."""

    @property
    def name(self) -> str:
        """The file stem: ``<label>[-<split>]-<strategy>``."""
        label = self.label or "+".join(self.datasets)
        return "-".join([label, *([self.split] if self.split else []), self.strategy])

    def items(self, seed: int = defaults.SEED) -> list[QAItem]:
        return select_builtin(list(self.datasets), self.split, limit=self.limit, seed=seed)

    def path(self, folder: Path) -> Path:
        return folder / f"{self.name}.jsonl"

    def command(self, folder: Path, seed: int = defaults.SEED) -> str:
        """The ``elicit eval`` command line that makes (or resumes) this run by hand."""
        parts = ["elicit eval", *(f"--dataset {name}" for name in self.datasets)]
        parts += [f"--split {self.split}"] if self.split else []
        parts += [f"--limit {self.limit}"] if self.limit else []
        parts += [f"--strategy {self.strategy}", "--keep-tokens", f"--seed {seed}", f"--out {self.path(folder)}"]
        return " ".join(parts)


class RunTime(BaseModel):
    """How long the last session of a run took, and how many questions it asked (the rest were on file)."""

    seconds: float
    asked: int
    total: int


def run_time(run: RecordSet, folder: Path) -> RunTime | None:
    """The wall time recorded beside a run's file, if a session of it asked anything."""
    path = run.path(folder).with_suffix(".time.json")
    return RunTime.model_validate_json(path.read_text()) if path.is_file() else None


async def arecords(
    server: ServerHandle, run: RecordSet, folder: Path, *, seed: int = defaults.SEED, progress: bool = True
) -> list[EvalRecord]:
    """The run's records: those already in its file, and the rest asked now (resumable).

    A session that asks anything records its wall time beside the file (``run_time``), so a
    document can say what its table cost to make.
    """
    chain = served_chain(server, strategy=run.strategy, seed=seed)
    items = run.items(seed)
    path = run.path(folder)
    before = len(load_records(path))
    started = time.perf_counter()
    records = await aevaluate(chain, items, path, concurrency=defaults.CONCURRENCY, keep_tokens=True, progress=progress)
    if len(records) > before:
        elapsed = RunTime(seconds=time.perf_counter() - started, asked=len(records) - before, total=len(records))
        path.with_suffix(".time.json").write_text(elapsed.model_dump_json(indent=2) + "\n")
    return records
