"""The chat page in a real browser: headless Chromium, the real proxy, the real vLLM server.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it); playwright drives it
through its executable, since ``playwright install`` cannot download browsers here. A
screenshot of the finished conversation is saved under ``runs/test-artifacts/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from elicit.apps.proxy import create_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "runs" / "test-artifacts"
TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: run `apt-get install -y chromium` (.ci/run installs it)")
    return path


def test_a_question_streams_a_reply_with_a_confidence_badge_and_signals(server, run_app, chromium):
    proxy = run_app(create_app(server.base_url, n_samples=2, max_tokens=16, threshold=0.5))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{proxy}/?max_tokens=24&temperature=0")
            page.fill("#question", "What is the capital of France?")
            page.click("#send")
            reply = page.locator(".reply").last
            expect(reply.locator(".text")).not_to_be_empty(timeout=TIMEOUT_MS)
            badge = reply.locator(".badge:not(.pending)")
            expect(badge).to_be_visible(timeout=TIMEOUT_MS)
            assert badge.inner_text().startswith("confidence ")
            classes = badge.get_attribute("class") or ""
            assert any(level in classes for level in ("high", "low", "none"))
            if "high" not in classes:
                expect(reply.locator(".warning")).to_be_visible()
            reply.locator(".signals summary").click()
            expect(reply.locator(".signals table")).to_contain_text("agreement")
            expect(reply.locator(".samples summary")).to_have_text("2 samples")
            page.screenshot(path=str(ARTIFACTS / "chat-page.png"), full_page=True)
        finally:
            browser.close()
