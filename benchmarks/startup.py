"""Startup benchmark: ``import elicit`` and ``elicit --help`` against ``import langchain_openai``.

Run from the repository root: .venv/bin/python -m benchmarks.startup [ROUNDS] [--json PATH]
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

from benchmarks.common import BenchmarkResult, arguments

REPO = Path(__file__).resolve().parents[1]
BASELINE = "import langchain_openai (baseline)"
CASES = {
    BASELINE: "import langchain_openai",
    "import elicit": "import elicit",
    "elicit --help": "from elicit.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass",
    "elicit ask, imports before its request": "import elicit.cli.ask",
}


class StartupResult(BenchmarkResult):
    """Each case's start-up time, every round, and its median as a ratio to the baseline's."""

    name: str = "startup"
    seconds: dict[str, list[float]]
    """Every round's time per case (fresh interpreter, including its start)."""
    medians: dict[str, float]
    ratios: dict[str, float]
    """Each case's median over the baseline's median."""


def run(code: str) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(rounds: int = 7) -> StartupResult:
    """Time every case ``rounds`` times, interleaved, after one unmeasured run of each."""
    for code in CASES.values():  # warm the file cache once, unmeasured
        run(code)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(rounds):
        for name, code in CASES.items():
            times[name].append(run(code))
    medians = {name: statistics.median(values) for name, values in times.items()}
    return StartupResult(
        settings={"rounds": rounds, "baseline": BASELINE},
        seconds=times,
        medians=medians,
        ratios={name: median / medians[BASELINE] for name, median in medians.items()},
    )


def show(result: StartupResult) -> None:
    print(f"{result.settings['rounds']} rounds, fresh interpreter each, medians (including interpreter start):")
    for name, median in result.medians.items():
        print(f"  {name:<40} {median:6.2f} s   {result.ratios[name]:5.2f}x the baseline")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("rounds", type=int, nargs="?", default=7)
    args = parser.parse_args()
    result = measure(args.rounds)
    show(result)
    if args.json:
        result.write(args.json)


if __name__ == "__main__":
    main()
