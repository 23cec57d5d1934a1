"""The proxy on a real port in front of the real vLLM server, called with the ``openai`` client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import openai
import pytest
import uvicorn
from openai import OpenAI

from elicit.apps.proxy import create_app
from elicit.elicitation.matching import normalize_answer
from elicit.model.serving import free_port
from elicit.types import Signals

KEY = "test-key"
THRESHOLD = 0.5


@pytest.fixture(scope="module")
def proxy_url(server) -> Iterator[str]:
    port = free_port()
    app = create_app(server.base_url, api_key=KEY, n_samples=2, max_tokens=16, threshold=THRESHOLD)
    proxy = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=proxy.run, name="proxy", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not proxy.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the proxy did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proxy.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def client(proxy_url) -> OpenAI:
    return OpenAI(base_url=f"{proxy_url}/v1", api_key=KEY, max_retries=0, timeout=300)


def check_confidence(confidence: dict) -> None:
    assert set(confidence) >= {"value", "signals", "low_trust", "threshold", "answer", "n_samples"}
    assert confidence["threshold"] == THRESHOLD
    assert confidence["n_samples"] == 2
    signals = Signals.model_validate(confidence["signals"])
    assert all(signals.missing[name] for name, value in signals.values().items() if value is None)
    value = confidence["value"]
    assert value is None or 0.0 <= value <= 1.0
    assert confidence["low_trust"] == (value is None or value < THRESHOLD)


def test_a_normal_chat_completion_with_a_confidence(client, server):
    response = client.chat.completions.create(
        model=server.model_name,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=24,
        temperature=0.0,  # a greedy reply states its answer; a sampled one may ramble (then the value is null)
    )
    assert response.object == "chat.completion"
    assert response.model == server.model_name
    assert response.choices[0].message.content
    assert response.usage is not None and response.usage.completion_tokens <= 24
    confidence = response.model_extra["confidence"]
    check_confidence(confidence)
    assert confidence["signals"]["agreement"] is not None
    assert confidence["signals"]["p_true"] is not None, confidence["signals"]["missing"]
    assert response.choices[0].model_extra["confidence"] == confidence


def test_multi_turn_with_several_choices_and_no_model_named(proxy_url, server):
    body = {
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "Who wrote Hamlet?"},
            {"role": "assistant", "content": "William Shakespeare."},
            {"role": "user", "content": "In which country was he born?"},
        ],
        "n": 2,
        "max_tokens": 16,
    }
    response = httpx.post(f"{proxy_url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"},
                          timeout=300)  # fmt: skip
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["model"] == server.model_name  # the proxy filled in the upstream's model
    assert len(payload["choices"]) == 2
    for choice in payload["choices"]:
        check_confidence(choice["confidence"])
    assert payload["confidence"] == payload["choices"][0]["confidence"]


def test_models_pass_through_and_upstream_errors_are_relayed(client, server):
    assert [model.id for model in client.models.list().data] == [server.model_name]
    with pytest.raises(openai.NotFoundError, match="does-not-exist"):
        client.chat.completions.create(
            model="does-not-exist", messages=[{"role": "user", "content": "Hi"}], max_tokens=4
        )
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=client.base_url, api_key="wrong", max_retries=0).models.list()
    assert client.models.list().data  # still serving


def test_the_openai_client_streams_a_reply_and_reads_the_confidence_from_the_last_chunk(client, server):
    stream = client.chat.completions.create(
        model=server.model_name,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=24,
        temperature=0.0,
        stream=True,
    )
    chunks = list(stream)
    assert len(chunks) > 2
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text.strip()
    last = chunks[-1]
    assert last.choices == []
    confidence = last.model_extra["confidence"]
    check_confidence(confidence)
    assert confidence["question"] == "What is the capital of France?"
    if confidence["answer"] is None:
        assert confidence["reason"] and confidence["value"] is None
    else:  # the claim scored is one the streamed reply states
        assert normalize_answer(confidence["answer"]) in normalize_answer(text)
    assert all("confidence" not in (chunk.model_extra or {}) for chunk in chunks[:-1])


def test_a_stream_the_upstream_refuses_is_relayed_as_its_error(client):
    with pytest.raises(openai.NotFoundError, match="does-not-exist"):
        client.chat.completions.create(
            model="does-not-exist", messages=[{"role": "user", "content": "Hi"}], max_tokens=4, stream=True
        )
