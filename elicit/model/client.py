"""Clients for a served model: a LangChain chat model and a thin completions call.

Per-call settings (temperature, n, max_tokens) are always passed per call or through
``.bind``; a chat model handed to elicit is never mutated, because users share one model
object across chains and a changed temperature would silently change their other results.
"""

from __future__ import annotations

from typing import Any

from langchain_openai import ChatOpenAI
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel, Field

from elicit.model.serving import ServerHandle
from elicit.types import TokenLogprob

MAX_TOP_LOGPROBS = 20


def chat_model(server: ServerHandle, *, top_logprobs: int = 5, timeout: float = 600.0, **kwargs: Any) -> ChatOpenAI:
    """A ``ChatOpenAI`` bound to the server with logprobs on.

    ``top_logprobs`` alternatives per token feed the token-entropy and P(True) signals; vLLM
    caps them at the server's ``--max-logprobs`` (20 for servers elicit starts).
    """
    if not 0 <= top_logprobs <= MAX_TOP_LOGPROBS:
        raise ValueError(f"top_logprobs must be between 0 and {MAX_TOP_LOGPROBS}, got {top_logprobs}")
    return ChatOpenAI(
        base_url=server.api_url,
        api_key="EMPTY",  # type: ignore[arg-type]
        model=server.model_name,
        logprobs=True,
        top_logprobs=top_logprobs,
        timeout=timeout,
        max_retries=0,
        **kwargs,
    )


def tokens_from_openai(content: list[Any] | None) -> list[TokenLogprob] | None:
    """Convert OpenAI-style logprob entries (dicts or SDK objects) into ``TokenLogprob``s."""
    if content is None:
        return None
    tokens = []
    for entry in content:
        item = entry if isinstance(entry, dict) else entry.model_dump()
        top = {alt["token"]: float(alt["logprob"]) for alt in item.get("top_logprobs") or []}
        tokens.append(TokenLogprob(token=item["token"], logprob=float(item["logprob"]), top_logprobs=top))
    return tokens


class Completion(BaseModel):
    """One completion choice: the generated text only, its token logprobs, and the prompt's when echoed."""

    text: str
    tokens: list[TokenLogprob] = Field(default_factory=list)
    prompt_tokens: list[TokenLogprob] = Field(default_factory=list)
    finish_reason: str | None = None


def _completion_tokens(logprobs: Any) -> list[TokenLogprob]:
    """Token entries of the legacy completions ``logprobs`` block (parallel lists)."""
    if logprobs is None:
        return []
    tokens = logprobs.tokens or []
    values = logprobs.token_logprobs or []
    tops = logprobs.top_logprobs or [None] * len(tokens)
    out = []
    for token, value, top in zip(tokens, values, tops, strict=False):
        out.append(
            TokenLogprob(
                token=token,
                logprob=float(value) if value is not None else float("nan"),
                top_logprobs={k: float(v) for k, v in (top or {}).items()},
            )
        )
    return out


class CompletionClient:
    """Completions calls for prompts that need ``echo`` / ``prompt_logprobs`` (e.g. scoring a given text).

    LangChain's chat interface cannot ask for prompt-token logprobs, so this goes through the
    ``openai`` SDK against the same server.
    """

    def __init__(self, server: ServerHandle, timeout: float = 600.0) -> None:
        self.server = server
        self._sync = OpenAI(base_url=server.api_url, api_key="EMPTY", timeout=timeout, max_retries=0)
        self._async = AsyncOpenAI(base_url=server.api_url, api_key="EMPTY", timeout=timeout, max_retries=0)

    def _arguments(self, prompt: str, max_tokens: int, temperature: float, n: int, logprobs: int,
                   echo: bool) -> dict[str, Any]:  # fmt: skip
        if not prompt:
            raise ValueError("prompt must be a non-empty string")
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        return {
            "model": self.server.model_name,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "n": n,
            "logprobs": logprobs,
            "echo": echo,
        }

    @staticmethod
    def _choices(response: Any, prompt: str, echo: bool) -> list[Completion]:
        completions = []
        for choice in response.choices:
            tokens = _completion_tokens(choice.logprobs)
            prompt_tokens: list[TokenLogprob] = []
            if echo:
                split = response.usage.prompt_tokens if response.usage else 0
                prompt_tokens, tokens = tokens[:split], tokens[split:]
            text = choice.text[len(prompt) :] if echo and choice.text.startswith(prompt) else choice.text
            completions.append(
                Completion(
                    text=text,
                    tokens=tokens,
                    prompt_tokens=prompt_tokens,
                    finish_reason=choice.finish_reason,
                )
            )
        return completions

    def complete(self, prompt: str, *, max_tokens: int = 16, temperature: float = 0.0, n: int = 1,
                 logprobs: int = 5, echo: bool = False) -> list[Completion]:  # fmt: skip
        """Complete ``prompt``; with ``echo`` the prompt's own tokens come back with logprobs."""
        response = self._sync.completions.create(**self._arguments(prompt, max_tokens, temperature, n, logprobs, echo))
        return self._choices(response, prompt, echo)

    async def acomplete(self, prompt: str, *, max_tokens: int = 16, temperature: float = 0.0, n: int = 1,
                        logprobs: int = 5, echo: bool = False) -> list[Completion]:  # fmt: skip
        """Async twin of :meth:`complete`."""
        response = await self._async.completions.create(
            **self._arguments(prompt, max_tokens, temperature, n, logprobs, echo)
        )
        return self._choices(response, prompt, echo)
