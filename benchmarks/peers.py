"""elicit against uqlm on the same server and questions: questions per second, each computing its signals.

elicit's ``ConfidenceChain.abatch`` (n samples in one request, P(True), every registered
signal) runs first, in this process; then uqlm's ``UQEnsemble`` runs in its own environment
(``make peers`` builds ``.venv-peers``; see ``benchmarks.uqlm_side``) on the very prompts
elicit sent, with the same sample count, temperature and token limit. Running elicit first
means whatever the server caches of these prompts can only favour uqlm. The figure is the
ratio of the two rates, measured minutes apart on one server, not an absolute speed.

    ELICIT_BASE_URL=http://127.0.0.1:PORT python -m benchmarks.peers [QUESTIONS] [--json PATH]
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from benchmarks.common import (
    BenchmarkResult,
    Timer,
    arguments,
    benchmark_server,
    questions,
    reused_server,
    server_settings,
)
from elicit.chains import ConfidenceChain
from elicit.model.client import chat_model
from elicit.model.loop import run_sync
from elicit.model.serving import ServerHandle

PEERS_PYTHON = Path(".venv-peers/bin/python")
"""The interpreter of the peers' environment (``make peers``)."""
N_SAMPLES = 5
MAX_TOKENS = 32


class PeerResult(BenchmarkResult):
    """Both toolkits' rates on the same questions, and what each computed per question."""

    name: str = "peers"
    elicit_seconds: float
    uqlm_seconds: float
    elicit_questions_per_second: float
    uqlm_questions_per_second: float
    ratio: float
    """elicit's questions per second over uqlm's."""
    elicit_signals: list[str]
    """The signals elicit gave a value for on every question."""
    uqlm_scorers: list[str]


def available() -> bool:
    """Whether the peers' environment has been built."""
    return PEERS_PYTHON.is_file()


async def measure(handle: ServerHandle, asked: list[str], *, reused: bool = True) -> PeerResult:
    """Time elicit's chain, then uqlm's ensemble on the same prompts, at ``handle``."""
    if not available():
        raise FileNotFoundError(f"{PEERS_PYTHON} not found: run `make peers` first to build uqlm's environment")
    chain = ConfidenceChain(chat_model(handle), n_samples=N_SAMPLES, max_tokens=MAX_TOKENS)
    await chain.abatch(asked[:2])  # warm-up: the first logprobs request is slow
    with Timer() as ours:
        results = await chain.abatch(asked)
    computed = [
        {name for name, value in result.signals.model_dump().items() if isinstance(value, float)} for result in results
    ]
    prompts = [[(m.type, m.content) for m in chain.prompts.messages(chain.strategy, q)] for q in asked]
    job = {"base_url": handle.base_url, "model": handle.model_name, "prompts": prompts,
           "num_responses": N_SAMPLES, "temperature": chain.temperature, "max_tokens": MAX_TOKENS}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        job_path, out_path = Path(folder) / "job.json", Path(folder) / "out.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        subprocess.run([str(PEERS_PYTHON), "-m", "benchmarks.uqlm_side", str(job_path), str(out_path)], check=True)
        theirs = json.loads(out_path.read_text(encoding="utf-8"))
    count = len(asked)
    return PeerResult(
        settings={
            "questions": count,
            "samples": N_SAMPLES,
            "max_tokens": MAX_TOKENS,
            "temperature": chain.temperature,
            **server_settings(handle, reused),
        },  # fmt: skip
        elicit_seconds=ours.seconds,
        uqlm_seconds=theirs["seconds"],
        elicit_questions_per_second=count / ours.seconds,
        uqlm_questions_per_second=count / theirs["seconds"],
        ratio=theirs["seconds"] / ours.seconds,
        elicit_signals=sorted(set.intersection(*computed)),
        uqlm_scorers=sorted(theirs["scores"]),
    )


def show(result: PeerResult) -> None:
    print(f"{result.settings['questions']} questions, {result.settings['samples']} samples each, same server")
    print(f"elicit: {result.elicit_questions_per_second:.3f} questions/s, {len(result.elicit_signals)} signals")
    print(f"uqlm:   {result.uqlm_questions_per_second:.3f} questions/s, scorers {', '.join(result.uqlm_scorers)}")
    print(f"elicit / uqlm: {result.ratio:.2f}x")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("questions", type=int, nargs="?", default=32)
    args = parser.parse_args()
    with benchmark_server() as handle:
        result = run_sync(measure(handle, questions(args.questions), reused=reused_server()))
    show(result)
    if args.json:
        result.write(args.json)


if __name__ == "__main__":
    main()
