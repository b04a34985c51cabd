"""The queue page in the Prefect UI, seen by a browser: a real agent with running and
queued jobs, a Prefect server serving its UI, and headless Chromium opening the
page's artifact as a user would (the artifact's key, then its latest version) and
taking a screenshot (kept in the test's tmp_path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from flows.queue_artifact import artifact_key
from tests.support import wait_for
from tests.support.queue_page import CAPPED, expected_rows, latest_page, page_rows, queue_scene

BUSY = "1 agent(s) polling, all slots busy"
UI_WAIT_MS = 60_000  # the longest the UI may take to render a page (ms)


def test_the_queue_page_renders_the_running_and_queued_jobs_in_the_prefect_ui(
        chromium: Path, prefect_ui_api: str, browser: Any, tmp_path: Path):
    # (chromium first: a missing browser skips, or fails, before the server starts)
    from playwright.sync_api import expect

    key = artifact_key("team", CAPPED)
    with queue_scene(tmp_path, prefect_ui_api) as scene:
        wait_for(lambda: (page := latest_page(prefect_ui_api, key)) is not None
                 and page_rows(page) == expected_rows(scene, CAPPED, BUSY),
                 lambda: f"page {key} to agree with the store", timeout=60)
        page = latest_page(prefect_ui_api, key)
        assert page is not None
        running, *queued = [scene.item(job) for job in scene.jobs[CAPPED]]
        assert running.state == "running" and [i.state for i in queued] == ["queued"] * 2

        base = prefect_ui_api.removesuffix("/api")
        tab = browser.new_page(viewport={"width": 1600, "height": 1000})
        tab.set_default_timeout(UI_WAIT_MS)
        tab.goto(base + "/")  # the server sends the browser on to its default UI
        root = urlparse(tab.url).path.rstrip("/")
        tab.goto(f"{base}{root}/artifacts/key/{key}")  # the key's versions
        tab.get_by_text(page["id"][:8], exact=True).first.click()  # the latest one
        body = tab.locator("body")
        for item in (running, *queued):
            expect(body).to_contain_text(item.run_id, timeout=UI_WAIT_MS)
        expect(body).to_contain_text("queue at max-running 1", timeout=UI_WAIT_MS)
        shot = tmp_path / "queue-page.png"
        tab.screenshot(path=str(shot), full_page=True)
        text = body.inner_text()

    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert page["id"] in tab.url
    for item in (running, *queued):
        assert item.run_id in text
    assert "Queue team/q: 1 active, 2 queued." in text  # the description, rendered
