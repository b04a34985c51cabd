"""A FAKE of Vertex AI's JobService REST API (a test double: no Vertex emulator exists).

It speaks exactly what relaunch's ``vertex`` resource sends through the real
google-cloud-aiplatform client (REST transport), on 127.0.0.1:

- ``POST   /v1/projects/{p}/locations/{l}/customJobs``          CreateCustomJob
- ``GET    /v1/projects/{p}/locations/{l}/customJobs/{id}``     GetCustomJob
- ``GET    /v1/projects/{p}/locations/{l}/customJobs?filter=``  ListCustomJobs
- ``POST   /v1/projects/{p}/locations/{l}/customJobs/{id}:cancel`` CancelCustomJob

Bodies are checked against the API's real message schema (the library's CustomJob), so
an unknown field is a 400 as on Vertex. Jobs stay where the test puts them: the test
API (``set_state``) drives a job through PENDING, RUNNING, SUCCEEDED, FAILED...; a
cancel makes it CANCELLING, and the next read CANCELLED. ``hold_creates`` makes a
create store the job and then never answer (an agent killed mid-call).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_JOBS = re.compile(r"/v1/projects/([^/]+)/locations/([^/]+)/customJobs")
_JOB = re.compile(_JOBS.pattern + r"/(\d+)(:cancel)?")
_CLAUSE = re.compile(r'\s*([\w.-]+)\s*=\s*"([^"]*)"\s*')


@dataclass
class VertexFake:
    """The fake's state: jobs by id (in the API's JSON form) and the calls it served."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query)
    auth: list[str | None] = field(default_factory=list)  # Authorization headers seen
    hold_creates: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    # --- the test API --------------------------------------------------------------
    def set_state(self, job_id: str, state: str, error: str | None = None) -> None:
        """Move a job to ``JOB_STATE_<state>`` (with ``error.message`` when given)."""
        with self.lock:
            job = self.jobs[job_id]
            job["state"] = f"JOB_STATE_{state}"
            if error is not None:
                job["error"] = {"code": 3, "message": error}

    def creates(self) -> list[dict[str, Any]]:
        """The CustomJobs created, in order."""
        return list(self.jobs.values())

    def calls_to(self, method: str, suffix: str = "") -> list[str]:
        return [path for m, path in self.calls if m == method
                and path.split("?")[0].endswith(suffix)]

    # --- the API -------------------------------------------------------------------
    def create(self, project: str, location: str, body: dict[str, Any]) -> dict[str, Any]:
        job = _canonical(body)
        with self.lock:
            job_id = str(1000 + len(self.jobs))
            job.update(name=f"projects/{project}/locations/{location}/customJobs/{job_id}",
                       state="JOB_STATE_PENDING", createTime="2026-01-01T00:00:00Z")
            self.jobs[job_id] = job
            return dict(job)

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return None
            shown = dict(job)
            if job["state"] == "JOB_STATE_CANCELLING":
                job["state"] = "JOB_STATE_CANCELLED"
            return shown

    def list_jobs(self, query: str) -> list[dict[str, Any]]:
        wanted = [_CLAUSE.fullmatch(clause) for clause in query.split(" AND ")] if query else []
        if any(match is None for match in wanted):
            raise ValueError(f"filter the fake does not understand: {query!r}")
        with self.lock:
            return [dict(job) for job in self.jobs.values()
                    if all(_field(job, m.group(1)) == m.group(2) for m in wanted if m)]

    def cancel(self, job_id: str) -> bool:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return False
            if not job["state"].endswith(("SUCCEEDED", "FAILED", "CANCELLED")):
                job["state"] = "JOB_STATE_CANCELLING"
            return True


def _canonical(body: dict[str, Any]) -> dict[str, Any]:
    """The body as Vertex would store it: parsed with the real schema (unknown fields
    refused), written back with enum names."""
    from google.cloud import aiplatform_v1

    message = aiplatform_v1.CustomJob.from_json(json.dumps(body))
    return dict(json.loads(aiplatform_v1.CustomJob.to_json(
        message, use_integers_for_enums=False, always_print_fields_with_no_presence=False)))


def _field(job: dict[str, Any], name: str) -> str | None:
    if name == "display_name":
        return job.get("displayName")
    if name.startswith("labels."):
        return (job.get("labels") or {}).get(name.removeprefix("labels."))
    raise ValueError(f"filter field the fake does not know: {name}")


def _handler(fake: VertexFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client is gone (an agent the test killed)

        def _error(self, status: int, message: str) -> None:
            names = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}
            self._reply(status, {"error": {"code": status, "message": message,
                                           "status": names.get(status, "UNKNOWN")}})

        def _record(self) -> tuple[str, dict[str, list[str]]]:
            fake.calls.append((self.command, self.path))
            fake.auth.append(self.headers.get("Authorization"))
            parts = urllib.parse.urlsplit(self.path)
            return parts.path, urllib.parse.parse_qs(parts.query)

        def do_GET(self) -> None:
            path, query = self._record()
            if match := _JOB.fullmatch(path):
                job = fake.get(match.group(3))
                if job is None:
                    return self._error(404, f"CustomJob {match.group(3)} not found")
                return self._reply(200, job)
            if _JOBS.fullmatch(path):
                try:
                    jobs = fake.list_jobs(query.get("filter", [""])[0])
                except ValueError as exc:
                    return self._error(400, str(exc))
                return self._reply(200, {"customJobs": jobs} if jobs else {})
            self._error(404, f"no such path {path}")

        def do_POST(self) -> None:
            path, _ = self._record()
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if (match := _JOB.fullmatch(path)) and match.group(4):
                if not fake.cancel(match.group(3)):
                    return self._error(404, f"CustomJob {match.group(3)} not found")
                return self._reply(200, {})
            if match := _JOBS.fullmatch(path):
                try:
                    job = fake.create(match.group(1), match.group(2), body)
                except Exception as exc:  # the schema refused the body
                    return self._error(400, str(exc).splitlines()[0])
                if fake.hold_creates:
                    fake.release.wait(120)
                return self._reply(200, job)
            self._error(404, f"no such path {path}")

    return Handler


def serve_fake() -> Iterator[VertexFake]:
    """Run a VertexFake on a free 127.0.0.1 port until the generator is closed."""
    fake = VertexFake()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="vertex-fake", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
