"""A streamed chat completion passed through as server-sent events, with the confidence at the end.

The upstream's ``data:`` events are forwarded as they arrive (OpenAI's SSE format), while
each choice's text is collected. After the upstream's last chunk, one more chunk carries the
confidence: ``{"object": "chat.completion.chunk", "choices": [], "confidence": {...},
"confidences": [...]}`` (the first choice's, then every choice's), then ``data: [DONE]``.
An empty ``choices`` list is what OpenAI's own usage chunk has, so the ``openai`` client's
iterator yields it unchanged (``chunk.model_extra["confidence"]``).

Anything that goes wrong once streaming has begun (the upstream breaks off, the samples
fail) ends the stream with an error event in OpenAI's shape, ``data: {"error": {...}}``,
which the ``openai`` client raises as ``APIError``: a client never waits on a stream that
will not finish.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from elicit.apps.errors import ProxyError
from elicit.chains.conversation import ConversationConfidence

logger = logging.getLogger(__name__)

Scorer = Callable[[list[str]], Awaitable[list[ConversationConfidence]]]
"""Confidence of each choice's full text, in choice order."""


def event(data: dict[str, Any] | str) -> bytes:
    """One server-sent event carrying ``data`` (JSON unless it is already a string)."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


class ChoiceTexts:
    """The text of each choice of a stream, gathered from its chunks' deltas."""

    def __init__(self) -> None:
        self.parts: dict[int, list[str]] = {}
        self.head: dict[str, Any] = {}

    def add(self, chunk: dict[str, Any]) -> None:
        self.head |= {key: chunk[key] for key in ("id", "created", "model") if key in chunk}
        for choice in chunk.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            self.parts.setdefault(choice.get("index", 0), []).append(content if isinstance(content, str) else "")

    def texts(self) -> list[str]:
        return ["".join(self.parts[index]) for index in sorted(self.parts)] or [""]


def _chunk(line: str, upstream: str) -> dict[str, Any] | None:
    """The JSON of one ``data:`` line; None for the end marker."""
    data = line.removeprefix("data:").strip()
    if data == "[DONE]":
        return None
    try:
        chunk = json.loads(data)
    except ValueError as exc:
        raise ProxyError(
            502, f"upstream {upstream} streamed invalid JSON: {data[:80]!r}", kind="upstream_error"
        ) from exc
    if not isinstance(chunk, dict):
        raise ProxyError(502, f"upstream {upstream} streamed a non-object event", kind="upstream_error")
    return chunk


async def relay_stream(
    response: httpx.Response, score: Scorer, *, on_close: Callable[[], Any] = lambda: None
) -> AsyncIterator[bytes]:
    """Forward ``response``'s events, then the confidence chunk and ``[DONE]`` (or an error event)."""
    upstream = str(response.request.url)
    texts = ChoiceTexts()
    try:
        finished = False
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue  # blank separators and SSE comments
            chunk = _chunk(line, upstream)
            if chunk is None:
                finished = True
                break
            yield event(line.removeprefix("data:").strip())
            if "error" in chunk:
                return  # the upstream's own error event, already forwarded, ends the stream
            texts.add(chunk)
        if not finished:
            raise ProxyError(502, f"upstream {upstream} ended the stream before [DONE]", kind="upstream_error")
        scores = await score(texts.texts())
        final = {
            **texts.head,
            "object": "chat.completion.chunk",
            "choices": [],
            "confidence": scores[0].to_dict(),
            "confidences": [s.to_dict() for s in scores],
        }
        yield event(final)
        yield event("[DONE]")
    except ProxyError as exc:
        yield event(exc.body())
    except httpx.HTTPError as exc:
        error = ProxyError(502, f"upstream {upstream} broke off the stream: {str(exc) or type(exc).__name__}",
                           kind="upstream_error")  # fmt: skip
        yield event(error.body())
    except Exception as exc:  # an unexpected failure still ends the stream, in the client's terms
        logger.exception("unexpected error while streaming")
        yield event(ProxyError(500, f"internal error: {type(exc).__name__}: {exc}", kind="server_error").body())
    finally:
        on_close()
        await response.aclose()
