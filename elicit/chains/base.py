"""The async-first Runnable every elicit chain builds on.

The async methods are each chain's only implementation; the sync ones submit them to
elicit's background event loop, and batches default to the chain's own concurrency bound
rather than LangChain's unbounded one.
"""

from __future__ import annotations

from typing import Any, TypeVar

from langchain_core.runnables import Runnable, RunnableConfig

from elicit.model.loop import run_sync

Input = TypeVar("Input")
Output = TypeVar("Output")


class AsyncRunnable(Runnable[Input, Output]):
    """A Runnable whose subclasses implement ``ainvoke`` and set ``max_concurrency``."""

    max_concurrency: int

    def invoke(self, input: Input, config: RunnableConfig | None = None, **kwargs: Any) -> Output:
        """Synchronous twin of ``ainvoke`` (runs on elicit's background event loop)."""
        return run_sync(self.ainvoke(input, config, **kwargs))

    async def abatch(
        self,
        inputs: list[Input],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Output]:
        """Many inputs at once, at most ``max_concurrency`` in flight unless the config says otherwise."""
        config = config if config is not None else {"max_concurrency": self.max_concurrency}
        return await super().abatch(inputs, config, return_exceptions=return_exceptions, **kwargs)

    def batch(
        self,
        inputs: list[Input],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Output]:
        """Synchronous twin of ``abatch``: one event loop drives every request."""
        return run_sync(self.abatch(inputs, config, return_exceptions=return_exceptions, **kwargs))
