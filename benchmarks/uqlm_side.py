"""uqlm's half of the peer comparison, run by ``benchmarks.peers`` in its own environment (``make peers``).

uqlm pins libraries elicit's environment cannot share (an older numpy and transformers), so
it runs in ``.venv-peers`` and reads its job from a JSON file: the server, the exact prompts
elicit sent, the sample count and the token limit. It times ``UQEnsemble.generate_and_score``
alone (imports and client set-up excluded) with the scorers closest to elicit's signals that
need no model download: exact-match agreement of the samples, sequence and minimum token
probability, and P(True). It is asked to request the n samples at once (``use_n_param``), as
elicit does; uqlm 0.6.7 ignores that option (deprecated) and sends one request per sample.

    .venv-peers/bin/python -m benchmarks.uqlm_side JOB.json OUT.json
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

SCORERS = ["exact_match", "sequence_probability", "min_probability", "p_true"]


def main() -> None:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
    from langchain_openai import ChatOpenAI
    from uqlm import UQEnsemble

    job: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    kinds = {"system": SystemMessage, "human": HumanMessage, "ai": AIMessage}
    prompts = [[kinds[role](content=content) for role, content in prompt] for prompt in job["prompts"]]
    llm = ChatOpenAI(
        model=job["model"], base_url=job["base_url"] + "/v1", api_key="none",
        temperature=job["temperature"], max_tokens=job["max_tokens"],
    )  # fmt: skip
    ensemble = UQEnsemble(
        llm=llm, scorers=SCORERS, use_n_param=True, sampling_temperature=job["temperature"], device="cpu"
    )
    started = time.perf_counter()
    result = asyncio.run(
        ensemble.generate_and_score(prompts, num_responses=job["num_responses"], show_progress_bars=False)
    )
    seconds = time.perf_counter() - started
    frame = result.to_df()
    scores = {name: [float(v) for v in frame[name]] for name in SCORERS if name in frame}
    out = {"seconds": seconds, "questions": len(prompts), "scorers": SCORERS, "scores": scores}
    Path(sys.argv[2]).write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main()
