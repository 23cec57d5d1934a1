"""The chat page the proxy serves at ``/``: one static HTML file, no build step, no external assets.

The page talks to the proxy's own ``/v1/chat/completions`` with ``stream: true``, shows the
reply as it streams, then the confidence badge from the final chunk. Its reply settings
start from the served model's (a small model is only usable greedily: sampled at the
upstream's default temperature it writes garbled text); the temperature stays visible and
editable, and query parameters preset them: ``?max_tokens=64&temperature=0.7&key=...``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

DEFAULTS_ELEMENT = '<script id="defaults" type="application/json">{"max_tokens": 128, "temperature": 0}</script>'
"""Where the page holds its default reply settings, replaced by the served model's."""


@cache
def _template() -> str:
    page = files("elicit.apps").joinpath("static/chat.html").read_text(encoding="utf-8")
    if DEFAULTS_ELEMENT not in page:
        raise RuntimeError("the chat page lost its defaults element")
    return page


def chat_page(temperature: float = 0.0, max_tokens: int = 128) -> str:
    """The page's HTML with these default reply settings."""
    defaults = json.dumps({"max_tokens": max_tokens, "temperature": temperature})
    return _template().replace(DEFAULTS_ELEMENT, f'<script id="defaults" type="application/json">{defaults}</script>')
