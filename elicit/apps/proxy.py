"""An OpenAI-compatible HTTP proxy that adds a ``confidence`` object to every chat completion.

Any OpenAI client pointed at the proxy gets the upstream server's normal response, plus a
top-level ``confidence`` (value, signals, low_trust, threshold, the claim scored, ...) about
the first choice, and the same object inside each choice. The request body is forwarded
unchanged (only a missing ``model`` is filled in); the confidence samples are drawn from the
same upstream, alongside the forwarded request, by
:class:`~elicit.chains.conversation.ConversationScorer`: the proxy and ``with_confidence``
score a conversation with one and the same code. ``GET /`` serves a chat page
(:mod:`elicit.apps.page`) that talks to this proxy.

Choices made here:

- ``stream: true`` streams (:mod:`elicit.apps.streaming`): the upstream's chunks pass through
  as they come, and one extra chunk before ``data: [DONE]`` carries the confidence (with
  ``choices: []``, like OpenAI's usage chunk, so clients read it without special handling).
- Tool and function calling are refused (400): a tool call has no answer to score.
- Other parameters pass through; the upstream's own 4xx answers are relayed as they are.
- Errors use OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, and an
  unexpected exception becomes a 500 of that shape: one bad request never stops the server.
- It binds 127.0.0.1 unless told otherwise; an API key, when set, is required as
  ``Authorization: Bearer <key>`` on every ``/v1`` route (``/health`` stays open).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal

import httpx
import openai
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from elicit import defaults
from elicit.apps.errors import ProxyError
from elicit.apps.page import chat_page
from elicit.apps.streaming import relay_stream
from elicit.chains.conversation import (
    ConversationConfidence,
    ConversationScorer,
    check_settings,
    conversation,
    sample_budget,
)
from elicit.model.catalogue import reply_temperature_for
from elicit.model.client import chat_model
from elicit.model.loop import discard
from elicit.model.serving import ServerHandle

if TYPE_CHECKING:  # scikit-learn loads only when a fitted head is actually used
    from elicit.calibration.certificate import Certificate
    from elicit.calibration.head import FusionHead

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1_000_000
DEFAULT_MAX_N = 4
UNSUPPORTED_PARAMETERS = ("tools", "tool_choice", "functions", "function_call")


class UpstreamReply(Exception):
    """The upstream answered with an error status; its response is relayed unchanged."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"upstream answered {response.status_code}")
        self.response = response


class ChatMessage(BaseModel):
    """One message as OpenAI's chat API takes it (extra keys such as ``name`` pass through)."""

    model_config = ConfigDict(extra="allow", strict=True)

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The fields the proxy reads; everything else is forwarded without being looked at."""

    model_config = ConfigDict(extra="allow", strict=True)

    messages: list[ChatMessage] = Field(min_length=1)
    model: str | None = None
    n: int = Field(default=1, ge=1)
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)


def validation_error(exc: ValidationError, body: dict[str, Any]) -> ProxyError:
    """The first validation problem as a 400 naming the field as the client wrote it (``messages.0.role``).

    Pydantic's location also names the union member it tried (``content.str``); only the
    part that exists in the body is kept, plus the name of a missing field.
    """
    first = exc.errors()[0]
    path: list[str] = []
    node: Any = body
    for part in first["loc"]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            if first["type"] == "missing":
                path.append(str(part))
            break
        path.append(str(part))
    field = ".".join(path) or "body"
    return ProxyError(400, f"{field}: {first['msg']}", param=field)


def parse_request(raw: bytes, max_n: int) -> tuple[dict[str, Any], ChatRequest]:
    """The JSON body and its validated view, or a ProxyError saying what is wrong."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProxyError(400, f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ProxyError(400, f"request body must be a JSON object, got {type(body).__name__}")
    try:
        request = ChatRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_error(exc, body) from exc
    for name in UNSUPPORTED_PARAMETERS:
        if body.get(name):
            raise ProxyError(400, f"{name} is not supported: a tool call has no answer to score", param=name)
    if request.n > max_n:
        raise ProxyError(400, f"n must be at most {max_n} (this proxy's limit), got {request.n}", param="n")
    if not any(message.role == "user" for message in request.messages):
        raise ProxyError(
            400, "messages needs at least one user message: there is no question to answer", param="messages"
        )
    return body, request


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    too_large = ProxyError(413, f"request body is larger than this proxy's limit of {limit} bytes")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def check_key(request: Request, api_key: str | None) -> None:
    """401 unless the request carries ``Authorization: Bearer <api_key>`` (when a key is set)."""
    if api_key is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), api_key.encode()):
        raise ProxyError(401, "missing or wrong API key: send Authorization: Bearer <key>", code="invalid_api_key")


class Upstream:
    """The upstream server: forwarding, its model names, and one confidence scorer per model."""

    def __init__(
        self, url: str, *, model: str | None, n_samples: int, temperature: float, max_tokens: int | None,
        threshold: float, fusion: FusionHead | None, seed: int | None, timeout: float,
        certificate: Certificate | None = None,
    ) -> None:  # fmt: skip
        self.url = url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.settings: dict[str, Any] = {
            "n_samples": n_samples, "temperature": temperature, "max_tokens": max_tokens,
            "threshold": threshold, "fusion": fusion, "seed": seed, "certificate": certificate,
        }  # fmt: skip
        self.client: httpx.AsyncClient | None = None
        self._scorers: dict[str, ConversationScorer] = {}
        check_settings(n_samples, temperature, sample_budget(max_tokens), threshold)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """One HTTP client for the app's lifetime, shared by forwarding and the samples' chat model."""
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            self.client = client
            try:
                yield
            finally:
                self.client, self._scorers = None, {}

    def _client(self) -> httpx.AsyncClient:
        if self.client is None:
            raise RuntimeError("the proxy's HTTP client is not running (the app's lifespan did not start)")
        return self.client

    def unreachable(self, exc: Exception) -> ProxyError:
        return ProxyError(
            502, f"upstream {self.url} unreachable: {str(exc) or type(exc).__name__}", kind="upstream_error"
        )

    async def get(self, path: str) -> httpx.Response:
        try:
            return await self._client().get(self.url + path)
        except httpx.HTTPError as exc:
            raise self.unreachable(exc) from exc

    async def model_name(self, requested: str | None) -> str:
        """The request's model, else the proxy's, else the first one the upstream serves."""
        if requested:
            return requested
        if self.model is None:
            response = await self.get("/v1/models")
            try:
                self.model = response.json()["data"][0]["id"]
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise ProxyError(
                    502, f"upstream {self.url} lists no model at /v1/models", kind="upstream_error"
                ) from exc
        return self.model

    def scorer(self, model: str) -> ConversationScorer:
        if model not in self._scorers:
            llm = chat_model(ServerHandle(self.url, model), http_async_client=self._client(), timeout=self.timeout)
            self._scorers[model] = ConversationScorer(llm, **self.settings)
        return self._scorers[model]

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST the body unchanged; an error status is raised as ``UpstreamReply`` to relay."""
        try:
            response = await self._client().post(self.url + "/v1/chat/completions", json=body)
        except httpx.HTTPError as exc:
            raise self.unreachable(exc) from exc
        if response.status_code >= 400:
            raise UpstreamReply(response)
        try:
            return response.json()
        except ValueError as exc:
            raise ProxyError(502, f"upstream {self.url} answered with invalid JSON", kind="upstream_error") from exc

    async def prepare(self, body: dict[str, Any], request: ChatRequest) -> tuple[dict[str, Any], list[BaseMessage]]:
        """The body to forward (with the model filled in) and the conversation to score."""
        body = {**body, "model": await self.model_name(request.model)}
        try:
            messages = conversation(
                [{**m.model_dump(exclude_none=True), "content": m.content or ""} for m in request.messages]
            )
        except ValueError as exc:
            raise ProxyError(400, f"messages: {exc}", param="messages") from exc
        return body, messages

    def samples_failed(self, exc: Exception) -> ProxyError:
        return ProxyError(502, f"confidence samples failed at upstream {self.url}: {exc}", kind="upstream_error")

    async def complete(self, body: dict[str, Any], request: ChatRequest) -> dict[str, Any]:
        """The upstream's completion with the confidence of each choice added."""
        body, messages = await self.prepare(body, request)
        try:
            completion, scores = await self.scorer(body["model"]).assess(messages, self.chat(body), _choice_texts)
        except (openai.APIError, httpx.HTTPError) as exc:
            raise self.samples_failed(exc) from exc
        for choice, score in zip(completion.get("choices") or [], scores, strict=True):
            choice["confidence"] = score.to_dict()
        completion["confidence"] = scores[0].to_dict() if scores else None
        return completion

    async def open_stream(self, body: dict[str, Any]) -> httpx.Response:
        """The upstream's streaming response, once its status is known (an error status is relayed)."""
        client = self._client()
        try:
            response = await client.send(client.build_request("POST", self.url + "/v1/chat/completions", json=body),
                                         stream=True)  # fmt: skip
        except httpx.HTTPError as exc:
            raise self.unreachable(exc) from exc
        if response.status_code >= 400:
            try:
                await response.aread()
            finally:
                await response.aclose()
            raise UpstreamReply(response)
        return response

    async def stream(self, body: dict[str, Any], request: ChatRequest) -> StreamingResponse:
        """The upstream's stream passed through, then a chunk with the confidence of each choice.

        The samples are requested as soon as the upstream has accepted the reply's request, so
        they are drawn while the reply streams; P(True) follows the reply. Everything that can fail before streaming
        (validation, model name, the upstream's status) is answered as a normal error response.
        """
        body, messages = await self.prepare(body, request)
        scorer = self.scorer(body["model"])
        response = await self.open_stream(body)  # first, so the reply's first token waits for no sample
        sampling = asyncio.ensure_future(scorer.asample(messages))

        async def score(texts: list[str]) -> list[ConversationConfidence]:
            try:
                samples = await sampling
                return list(await asyncio.gather(*(scorer.ascore(messages, text, samples) for text in texts)))
            except (openai.APIError, httpx.HTTPError) as exc:
                raise self.samples_failed(exc) from exc

        events = relay_stream(response, score, on_close=lambda: discard(sampling))
        return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _choice_texts(completion: dict[str, Any]) -> list[str]:
    """The reply text of each choice (empty for a choice without text content)."""
    texts = []
    for choice in completion.get("choices") or []:
        content = (choice.get("message") or {}).get("content")
        texts.append(content if isinstance(content, str) else "")
    return texts


def _relay(response: httpx.Response) -> Response:
    """The upstream's response as it came (status, body, content type)."""
    return Response(
        content=response.content,
        status_code=response.status_code,
        media_type=response.headers.get("content-type", "application/json"),
    )


def create_app(
    upstream_url: str,
    *,
    model: str | None = None,
    api_key: str | None = None,
    n_samples: int = defaults.N_SAMPLES,
    temperature: float = defaults.TEMPERATURE,
    max_tokens: int | None = None,
    threshold: float = defaults.LOW_TRUST,
    fusion: FusionHead | None = None,
    seed: int | None = defaults.SEED,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_n: int = DEFAULT_MAX_N,
    timeout: float = 600.0,
    certificate: Certificate | None = None,
) -> FastAPI:
    """The proxy app in front of ``upstream_url`` (a server root, e.g. ``http://127.0.0.1:8000``).

    ``n_samples``, ``temperature``, ``max_tokens`` and ``seed`` are the confidence samples'
    settings (see :class:`~elicit.chains.conversation.ConversationScorer`); the forwarded
    request keeps the client's own. With a ``certificate``, every confidence object says
    whether it is certified, and carries the certificate's threshold, α and δ.
    """
    if not upstream_url.startswith(("http://", "https://")):
        raise ValueError(f"upstream_url must start with http:// or https://, got {upstream_url!r}")
    if max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be >= 1, got {max_body_bytes}")
    if max_n < 1:
        raise ValueError(f"max_n must be >= 1, got {max_n}")
    if api_key is not None and not api_key:
        raise ValueError("api_key must not be empty (pass None for no key)")
    upstream = Upstream(
        upstream_url, model=model, n_samples=n_samples, temperature=temperature, max_tokens=max_tokens,
        threshold=threshold, fusion=fusion, seed=seed, timeout=timeout, certificate=certificate,
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with upstream.running():
            yield

    app = FastAPI(title="elicit confidence proxy", lifespan=lifespan)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return ProxyError(exc.status_code, str(exc.detail)).response()

    async def guarded(work: Any) -> Response:
        """Run a route's work; expected errors become their response, anything else a 500."""
        try:
            return await work
        except ProxyError as exc:
            return exc.response()
        except UpstreamReply as exc:
            return _relay(exc.response)
        except Exception as exc:
            logger.exception("unexpected error while serving a request")
            return ProxyError(500, f"internal error: {type(exc).__name__}: {exc}", kind="server_error").response()

    async def chat_completions(request: Request) -> Response:
        check_key(request, api_key)
        body, parsed = parse_request(await read_body(request, max_body_bytes), max_n)
        if parsed.stream:
            return await upstream.stream(body, parsed)
        return JSONResponse(await upstream.complete(body, parsed))

    async def models(request: Request) -> Response:
        check_key(request, api_key)
        return _relay(await upstream.get("/v1/models"))

    async def health() -> Response:
        return _relay(await upstream.get("/health"))

    @app.get("/", response_class=HTMLResponse)
    async def page_route() -> HTMLResponse:
        try:
            model = await upstream.model_name(None)
        except ProxyError:  # the page still loads; its requests will say the upstream is unreachable
            model = None
        return HTMLResponse(chat_page(temperature=reply_temperature_for(model)))

    @app.post("/v1/chat/completions")
    async def chat_route(request: Request) -> Response:
        return await guarded(chat_completions(request))

    @app.get("/v1/models")
    async def models_route(request: Request) -> Response:
        return await guarded(models(request))

    @app.get("/health")
    async def health_route() -> Response:
        return await guarded(health())

    return app
