"""One background event loop for elicit's synchronous entry points.

The async code is the only implementation; sync calls submit it to a long-lived loop in a
daemon thread. A fresh ``asyncio.run`` per call would close the loop that cached async
HTTP clients are bound to, and would fail inside notebooks that already run a loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="elicit-loop", daemon=True).start()
        return _loop


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on the background loop and wait for its result."""
    return asyncio.run_coroutine_threadsafe(coroutine, _background_loop()).result()


def discard(task: asyncio.Future[Any]) -> None:
    """Drop a task whose result is no longer wanted: cancel it, or, if it already failed, mark
    its exception as seen (the failure that made it unwanted is reported elsewhere; asyncio
    would otherwise log "Task exception was never retrieved")."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()
