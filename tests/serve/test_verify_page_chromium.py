"""The page's "Check a video" form in real headless Chromium: a marked and an unmarked upload."""

from __future__ import annotations

from pathlib import Path

import cv2

from gioconda.eval.provenance_attacks import encode
from gioconda.provenance import Payload, Watermarker
from tests.serve.test_page_chromium import CHROMIUM, pytestmark, server_url  # noqa: F401

__all__ = ["pytestmark"]


def test_verify_form_in_chromium(server_url, mona_lisa, tmp_path: Path, capsys) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    still = cv2.resize(mona_lisa[:1354, :1354], (256, 256), interpolation=cv2.INTER_AREA)
    encode([Watermarker(256, 256, Payload(1, 0xC0FFE))(still)] * 20, tmp_path / "marked.mp4")
    encode([still] * 20, tmp_path / "plain.mp4")
    shown = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server_url)
            for name in ("marked", "plain"):
                page.evaluate("window.gioconda.verify = null")
                page.set_input_files("#verifyVideo", str(tmp_path / f"{name}.mp4"))
                page.click("#verify")
                page.wait_for_function("window.gioconda.verify", timeout=60_000)
                shown[name] = page.inner_text("#verifyResult")
                page.screenshot(path=str(tmp_path / f"verify_{name}.png"))
        finally:
            browser.close()
    assert shown["marked"].startswith("marked.mp4")
    assert "watermark: FOUND" in shown["marked"] and "render id c0ffe" in shown["marked"]
    assert "watermark: not found" in shown["plain"] and "render id" not in shown["plain"]
    with capsys.disabled():
        print(f"\nverify form screenshots: {tmp_path}/verify_*.png")
