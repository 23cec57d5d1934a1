"""The chat page in a real browser: headless Chromium, the real proxy, the real vLLM server.

Chromium is Debian's ``chromium`` package (``make setup`` installs it); playwright drives it
through its executable, since ``playwright install`` cannot download browsers here. A
screenshot of the finished conversation is saved under ``runs/test-artifacts/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from elicit.apps.proxy import create_app
from elicit.calibration.certificate import Certificate

ARTIFACTS = Path(__file__).resolve().parents[2] / "runs" / "test-artifacts"
TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: run `make setup` (or `sudo apt-get install -y chromium`)")
    return path


CERTIFICATE = Certificate(
    threshold=0.99,
    risk=0.1,
    delta=0.1,
    n=500,
    answered=0.02,
    calibration_risk=0.0,
    source="default",
    setup=None,
    calibration_ids=[],
    created="2026-01-01T00:00:00Z",
)
"""A strict certificate (as one made on few confident right answers would be): replies below 0.99 are not certified."""


def test_a_question_with_the_page_defaults_streams_a_reply_with_its_confidence_and_certification(
    server, run_app, chromium
):
    proxy = run_app(create_app(server.base_url, n_samples=2, max_tokens=16, certificate=CERTIFICATE))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{proxy}/")
            expect(page.locator("#temperature")).to_have_value("0")  # greedy: the embedded model's reply setting
            page.fill("#question", "What is the capital of France?")
            page.click("#send")
            reply = page.locator(".reply").last
            expect(reply.locator(".text")).to_contain_text("Paris", timeout=TIMEOUT_MS)
            badge = reply.locator(".badge:not(.pending)").first
            expect(badge).to_be_visible(timeout=TIMEOUT_MS)
            assert badge.inner_text().startswith("confidence ")
            expect(reply.locator(".badge.uncertified")).to_have_text("not certified")
            expect(reply.locator(".warning")).to_contain_text("Not certified")
            reply.locator(".signals summary").click()
            expect(reply.locator(".signals table")).to_contain_text("agreement")
            expect(reply.locator(".signals table")).not_to_contain_text("n_samples")
            expect(reply.locator(".samples summary")).to_have_text("2 samples")
            page.screenshot(path=str(ARTIFACTS / "chat-page.png"), full_page=True)
        finally:
            browser.close()
    body = {"messages": [{"role": "user", "content": "What is the capital of Peru?"}], "max_tokens": 16,
            "temperature": 0}  # fmt: skip
    confidence = httpx.post(f"{proxy}/v1/chat/completions", json=body, timeout=600).json()["confidence"]
    assert confidence["certificate"]["risk"] == 0.1 and confidence["certificate"]["delta"] == 0.1
    assert confidence["certified"] is False and confidence["low_trust"] is True
