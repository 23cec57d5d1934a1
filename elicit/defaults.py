"""The defaults every entry point shares, in one place.

The chain, the command line, the chat wrapper, the proxy and the benchmarks all start from
these values, so a figure measured with one entry point describes the others too. A
strategy's generation budget (``max_tokens``) belongs to the strategy itself
(:mod:`elicit.elicitation.strategies`): a chain-of-thought reply needs more room than a
bare answer.
"""

from __future__ import annotations

import os
from pathlib import Path

N_SAMPLES = 5
"""Samples per question: enough for agreement to take six values, cheap in one request."""
TEMPERATURE = 0.7
"""Sampling temperature of the confidence samples (the self-consistency literature's value)."""
TOP_LOGPROBS = 5
"""Alternatives per generated token: they feed token entropy and P(True)."""
SEED = 0
"""Seed of question samples, sampling requests, folds and bootstrap resamples."""
CONCURRENCY = 8
"""Questions in flight at once: enough to keep a CPU server's batch full."""
LOW_TRUST = 0.5
"""Confidence below which a reply is flagged low-trust when no certificate says otherwise."""
FOLDS = 5
"""Cross-fitting folds."""
N_RESAMPLES = 1000
"""Bootstrap resamples behind every interval."""
LEVEL = 0.95
"""Coverage of every interval."""


CACHE_DIR_ENV = "ELICIT_CACHE_DIR"


def cache_dir() -> Path:
    """Root of elicit's cache (models, data sets, vectors); ``ELICIT_CACHE_DIR`` overrides ``~/.cache/elicit``."""
    override = os.environ.get(CACHE_DIR_ENV)
    return Path(override).expanduser() if override else Path.home() / ".cache" / "elicit"
