"""What the job-event tests read back: relaunch's events as Prefect's API returns them
(``POST /api/events/filter``), and a real HTTP server on 127.0.0.1 that records the
calls an automation's action makes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


def job_events(api: str, run_ids: list[str]) -> list[dict[str, Any]]:
    """The ``relaunch.job.*`` events Prefect holds of these jobs, oldest first."""
    now = datetime.now(UTC)
    body = {"filter": {
        "occurred": {"since": (now - timedelta(hours=2)).isoformat(),
                     "until": (now + timedelta(days=1)).isoformat()},
        "event": {"prefix": ["relaunch.job."]},
        "resource": {"labels": {"relaunch.run-id": run_ids}},
        "order": "ASC"}, "limit": 50}  # the most a page holds
    response = httpx.post(f"{api}/events/filter", json=body, timeout=30)
    found: list[dict[str, Any]] = []
    while True:
        response.raise_for_status()
        page = response.json()
        found += page["events"]
        if not page.get("next_page"):
            return found
        response = httpx.get(page["next_page"], timeout=30)


class Webhook:
    """The bodies POSTed to a loopback HTTP server, as they arrive."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lock = threading.Lock()
        self.url = ""

    def received(self, text: str) -> list[str]:
        """The calls whose body contains ``text``."""
        with self.lock:
            return [call for call in self.calls if text in call]


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    """A Webhook served on 127.0.0.1 (a free port) until the block ends."""
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            with hook.lock:
                hook.calls.append(body)
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def post_event(api: str, event: dict[str, Any]) -> None:
    """Send one event to Prefect as a client does (``POST /api/events``)."""
    response = httpx.post(f"{api}/events", content=json.dumps([event]), timeout=30,
                          headers={"content-type": "application/json"})
    response.raise_for_status()
