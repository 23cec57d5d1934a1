"""One real vLLM CPU server for the whole test session.

The embedded model is materialized (once per machine, then cached) and served by a real
vLLM process; every integration test talks to it over HTTP. Setting ``ELICIT_BASE_URL``
reuses a server that is already running instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from elicit.model.client import chat_model
from elicit.model.serving import BASE_URL_ENV, ServerHandle, VLLMServer, connect

LOG_PATH = Path(__file__).resolve().parents[2] / "runs" / "test-vllm.log"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


_started: list[str] = []


@pytest.fixture(scope="session")
def server() -> Iterator[ServerHandle]:
    base_url = os.environ.get(BASE_URL_ENV)
    if base_url:
        yield connect(base_url)
        return
    vllm = VLLMServer(log_path=LOG_PATH)
    handle = vllm.start()
    engine = next((line for line in LOG_PATH.read_text().splitlines() if "Initializing a V1 LLM engine" in line), "")
    _started.append(
        f"{handle.base_url}, ready in {vllm.startup_seconds or 0.0:.0f} s, log {LOG_PATH}\n  {engine[:160]}"
    )
    try:
        yield handle
    finally:
        vllm.stop()


def pytest_terminal_summary(terminalreporter) -> None:
    """Say in the test output that a real vLLM server was started, and where its log is."""
    for line in _started:
        terminalreporter.write_line(f"vLLM server started for the integration tests: {line}")


@pytest.fixture(scope="session")
def server_log() -> Path:
    return LOG_PATH


@pytest.fixture(scope="session")
def llm(server: ServerHandle):
    return chat_model(server, top_logprobs=5)


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """A local Ray cluster (2 CPUs) for the ``--ray`` tests, started once and stopped at the end."""
    import ray  # only test runs that include a Ray test start (and pay for) a cluster

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
