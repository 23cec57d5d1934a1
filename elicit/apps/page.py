"""The chat page the proxy serves at ``/``: one static HTML file, no build step, no external assets.

The page talks to the proxy's own ``/v1/chat/completions`` with ``stream: true``, shows the
reply as it streams, then the confidence badge from the final chunk. Query parameters
preset its request: ``?max_tokens=64&temperature=0.7&key=...`` (the key can also be typed in).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def chat_page() -> str:
    """The page's HTML (read once from the package's ``static`` folder)."""
    return files("elicit.apps").joinpath("static/chat.html").read_text(encoding="utf-8")
