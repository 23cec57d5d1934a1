"""The proxy's streaming path against a scripted upstream: the event shape, and errors that end the stream.

A real vLLM server never breaks off a stream on request, so these cases use a small
upstream app that streams a scripted reply (or stops half-way) on a real port; the
integration tests stream from the real server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from openai import OpenAI

from elicit.apps.proxy import create_app
from elicit.model.serving import free_port

MODEL = "scripted"
WORDS = ["The capital ", "of France ", "is Paris."]


def chunk(index: int, content: str | None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    body = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    return f"data: {json.dumps(body)}\n\n".encode()


def scripted_upstream(break_off: bool) -> FastAPI:
    """Streams WORDS (or stops after two of them when ``break_off``); answers sample requests "Paris"."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        body = await request.json()
        if not body.get("stream"):
            n = body.get("n", 1)
            choices = [{"index": i, "message": {"role": "assistant", "content": "Answer: Paris\nConfidence: 90%"},
                        "finish_reason": "stop"} for i in range(n)]  # fmt: skip
            return JSONResponse({"id": "s", "object": "chat.completion", "created": 1, "model": MODEL,
                                 "choices": choices})  # fmt: skip

        async def events() -> AsyncIterator[bytes]:
            for i in range(body.get("n", 1)):
                for word in WORDS[:2] if break_off else WORDS:
                    yield chunk(i, word)
                if break_off:
                    raise RuntimeError("the upstream broke off")
                yield chunk(i, None, "stop")
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": MODEL, "object": "model"}]}

    return app


@pytest.fixture(scope="module")
def proxies(run_app) -> dict[str, str]:
    return {
        kind: run_app(create_app(run_app(scripted_upstream(kind == "breaking")), n_samples=2, max_tokens=8))
        for kind in ("complete", "breaking")
    }


def test_the_openai_client_streams_through_and_reads_the_confidence_from_the_last_chunk(proxies):
    client = OpenAI(base_url=f"{proxies['complete']}/v1", api_key="none", max_retries=0, timeout=30)
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "What is the capital of France?"}], stream=True
    ))  # fmt: skip
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(WORDS)
    last = chunks[-1]
    assert last.choices == []
    confidence = last.model_extra["confidence"]
    assert confidence["answer"] == "Paris" and confidence["signals"]["agreement"] == 1.0
    assert last.model_extra["confidences"] == [confidence]
    assert all("confidence" not in (c.model_extra or {}) for c in chunks[:-1])


def test_each_choice_is_scored_in_a_stream(proxies):
    body = {"messages": [{"role": "user", "content": "What is the capital of France?"}], "stream": True, "n": 2}
    with httpx.stream("POST", f"{proxies['complete']}/v1/chat/completions", json=body, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    final = json.loads(lines[-2].removeprefix("data: "))
    assert final["model"] == MODEL and final["choices"] == []
    assert [c["answer"] for c in final["confidences"]] == ["Paris", "Paris"]


def test_a_stream_the_upstream_breaks_off_ends_with_an_error_event(proxies):
    client = OpenAI(base_url=f"{proxies['breaking']}/v1", api_key="none", max_retries=0, timeout=30)
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "What is the capital of France?"}], stream=True
    )
    received = []
    with pytest.raises(openai.APIError, match="broke off|ended the stream"):
        for part in stream:
            received.append(part)
    assert "".join(c.choices[0].delta.content or "" for c in received if c.choices) == "".join(WORDS[:2])


def test_streaming_to_an_unreachable_upstream_is_a_502_before_any_event(run_app):
    url = f"http://127.0.0.1:{free_port()}"
    proxy = run_app(create_app(url, model=MODEL, n_samples=2))
    body = {"messages": [{"role": "user", "content": "Hi?"}], "stream": True}
    response = httpx.post(f"{proxy}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 502
    assert url in response.json()["error"]["message"]


def test_the_chat_page_is_served_at_the_root_with_no_external_assets(proxies):
    response = httpx.get(f"{proxies['complete']}/", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "/v1/chat/completions" in page and "stream: true" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page and " src=" not in page
