"""The evaluation runs behind the results tables: which questions, asked how, kept where.

A table never asks the model itself: it names the record sets it reads, and each record
set is one resumable ``elicit eval`` run (same questions, same settings, the same JSONL
file), so a table can be rebuilt from the files alone, an interrupted run continues where
it stopped, and a run started by hand with the command :meth:`RecordSet.command` prints is
the very run a pipeline would make.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elicit import defaults
from elicit.chains import served_chain
from elicit.datasets import QAItem, select_builtin
from elicit.evaluation.batch import aevaluate
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


async def arecords(
    server: ServerHandle, run: RecordSet, folder: Path, *, seed: int = defaults.SEED, progress: bool = True
) -> list[EvalRecord]:
    """The run's records: those already in its file, and the rest asked now (resumable)."""
    chain = served_chain(server, strategy=run.strategy, seed=seed)
    return await aevaluate(
        chain, run.items(seed), run.path(folder), concurrency=defaults.CONCURRENCY, keep_tokens=True, progress=progress
    )
