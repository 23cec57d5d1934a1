"""A results document: Markdown written from computed values, headed by where the values came from.

Every figure in ``docs/results/`` is written by a pipeline into one of these, never typed
by hand, and each document says which command made it, with which seed, from which commit
and on which machine, so a reader can regenerate it and a stale one shows its age.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

import elicit


class Provenance(BaseModel):
    """Where the numbers of a document came from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: str
    seed: int
    commit: str
    machine: str
    created: str
    version: str


def _commit() -> str:
    """The checkout's short commit, marked ``+changes`` when the working tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else 0.0
    return f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, no GPU, Python {platform.python_version()}"


def provenance(command: str, seed: int) -> Provenance:
    """The provenance of numbers computed now by ``command`` with ``seed``."""
    return Provenance(
        command=command, seed=seed, commit=_commit(), machine=_machine(),
        created=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), version=elicit.__version__,
    )  # fmt: skip


@dataclass
class Document:
    """A Markdown document: a title, the provenance line, then sections in the order added."""

    title: str
    origin: Provenance
    sections: list[str] = field(default_factory=list)

    def add(self, *paragraphs: str) -> None:
        """Append paragraphs (Markdown), each separated by a blank line."""
        self.sections += [paragraph.strip() for paragraph in paragraphs if paragraph.strip()]

    def render(self) -> str:
        origin = self.origin
        header = (
            f"Written by `{origin.command}` (seed {origin.seed}) from commit {origin.commit} of elicit "
            f"{origin.version} on {origin.created}; machine: {origin.machine}. Do not edit: rerun the command."
        )
        return "\n\n".join([f"# {self.title}", f"> {header}", *self.sections]) + "\n"

    def write(self, path: Path) -> Path:
        """Write the document (its folder is created) and return its path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(), encoding="utf-8")
        return path
