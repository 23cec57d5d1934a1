"""Startup benchmark: ``import elicit`` and ``elicit --help`` against ``import langchain_openai``.

Run from the repository root: .venv/bin/python -m benchmarks.startup [ROUNDS]
Each measurement is a fresh interpreter (nothing cached in ``sys.modules``); the three are
interleaved in every round so that load on a shared machine affects them alike, and the
medians are compared. Targets: help below 1x the baseline, import at most 1.5x.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = {
    "import langchain_openai (baseline)": "import langchain_openai",
    "import elicit": "import elicit",
    "elicit --help": "from elicit.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass",
    "elicit ask, imports before its request": "import elicit.cli.ask",
}


def run(code: str) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(rounds: int = 7) -> None:
    for code in CASES.values():  # warm the file cache once, unmeasured
        run(code)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(rounds):
        for name, code in CASES.items():
            times[name].append(run(code))
    baseline = statistics.median(times["import langchain_openai (baseline)"])
    print(f"{rounds} rounds, fresh interpreter each, medians (including interpreter start):")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<40} {median:6.2f} s   {median / baseline:5.2f}x the baseline")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
