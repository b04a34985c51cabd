"""Shared helpers for the bench scripts: throwaway databases, bulk setup, percentiles,
processes started (and stopped) by a bench, a Prefect server, time limits.

Only talks to 127.0.0.1. PostgreSQL admin URL: RELAUNCH_TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:55432/postgres, see scripts/start-postgres.sh).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # this venv's console scripts (prefect, relaunch)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:55432/postgres"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def pg_admin_url() -> str:
    url = os.environ.get("RELAUNCH_TEST_POSTGRES_URL") or DEFAULT_PG
    host = make_url(url).host or ""
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"refusing non-local PostgreSQL host {host!r}")
    return url


@contextlib.contextmanager
def temp_pg_database() -> Iterator[str]:
    """A fresh database on the local server (dropped afterwards); yields its URL."""
    import psycopg

    admin = pg_admin_url()
    name = f"relaunch_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def temp_sqlite() -> Iterator[str]:
    """A SQLite file URL in a temporary directory (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="relaunch-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'relaunch.db'}"


def make_queue(store, name: str = "bench", entity: str = "bench",  # type: ignore[no-untyped-def]
               policy: dict[str, Any] | None = None):
    from launch_core.spec.models import QueueDefinition

    return store.create_queue(QueueDefinition.model_validate(
        {"entity": entity, "name": name, "resource": "local-process",
         "policy": policy or {}}))


# The "policies" case of the claim benches (issue 18): fair share by user, a cap that
# never binds, and quotas for the entity, every project and every user that never bind
# either, so the scheduled claim does all its work but takes what the plain one would.
POLICY_USERS, POLICY_PROJECTS = 1_000, 20
POLICY = {"fair_share": "user", "max_running": 100_000}
QUOTA_RUNNING = {"entity": 1_000_000, "project": 100_000, "user": 1_000}


def user_name(i: int) -> str:
    return f"user-{i:04d}"


def project_name(i: int) -> str:
    return f"project-{i:02d}"


def set_policies(store, queue, users: int = POLICY_USERS,  # type: ignore[no-untyped-def]
                 projects: int = POLICY_PROJECTS) -> None:
    """Give ``queue`` the bench POLICY and set the running quotas of its entity, of
    ``projects`` projects and of ``users`` users (QUOTA_RUNNING)."""
    entity = queue.definition.entity
    store.update_queue(entity, queue.definition.name, policy=POLICY)
    store.set_quota(entity, running=QUOTA_RUNNING["entity"])
    for p in range(projects):
        store.set_quota(entity, project=project_name(p), running=QUOTA_RUNNING["project"])
    for u in range(users):
        store.set_quota(entity, user=user_name(u), running=QUOTA_RUNNING["user"])


def bulk_insert_items(store, queue, n: int, chunk: int = 5000, *,  # type: ignore[no-untyped-def]
                      users: int = 0, projects: int = 0) -> None:
    """Insert ``n`` queued items shaped like QueueStore.enqueue writes them (no events).

    ``users`` (``projects``): item i gets submitter user_name(i % users) (project
    project_name(i % projects)), so the queue's order cycles through them; 0 leaves
    the column's default ('')."""
    from sqlalchemy import insert

    from launch_core.spec.models import LaunchSpec
    from launch_core.store.schema import items

    spec = LaunchSpec(image="img", author="bench").model_dump(mode="json", exclude_none=True)
    base = time.time()
    prefix = uuid.uuid4().hex[:4]
    for start in range(0, n, chunk):
        rows: list[dict[str, Any]] = [
            {"queue_id": queue.id, "state": "queued", "priority": 2,
             "enqueued_at": base + i * 1e-6, "run_id": f"{prefix}{i:08d}", "spec": spec,
             "max_attempts": 3, "updated_at": base}
            for i in range(start, min(n, start + chunk))]
        if users:
            for i, row in enumerate(rows, start):
                row["submitter"] = user_name(i % users)
        if projects:
            for i, row in enumerate(rows, start):
                row["project"] = project_name(i % projects)
        with store.engine.begin() as conn:
            conn.execute(insert(items), rows)


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100)."""
    data = sorted(values)
    if not data:
        return math.nan
    k = (len(data) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISS"


def machine() -> str:
    """CPU count and 1-minute load average, so readers can judge the figures."""
    return f"cpus {os.cpu_count()}, load avg {os.getloadavg()[0]:.1f}"


# --- processes started by a bench: own process groups, stopped by PID ----------------

def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process, None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[19])


def descendants(pid: int) -> list[tuple[int, int]]:
    """(pid, start time) of every live descendant of ``pid`` (children, grandchildren...)."""
    parents: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None:
                parents.setdefault(stat[0], []).append((int(entry), stat[1]))
    found: list[tuple[int, int]] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def stop_process_tree(proc: subprocess.Popen[bytes], grace: float = 10.0,
                      stray_grace: float = 3.0) -> None:
    """Stop a process started with ``start_new_session=True``: SIGTERM to its group,
    SIGKILL after ``grace``; descendants that left the group (their own sessions, e.g.
    jobs or flow runs) get SIGTERM, then SIGKILL after ``stray_grace`` (at once when it
    is 0), matched by pid and start time (no pid reuse)."""
    if proc.poll() is None:
        strays = descendants(proc.pid)
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except Exception:  # noqa: BLE001 - TimeoutExpired, or BenchTimeout meanwhile
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    else:
        strays = []
    _signal_group(proc.pid, signal.SIGKILL)  # anything left in the group
    alive = [(pid, start) for pid, start in strays
             if (stat := _proc_stat(pid)) is not None and stat[1] == start]
    if stray_grace > 0:
        for pid, _ in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + stray_grace
        while alive and time.monotonic() < deadline:
            alive = [(pid, start) for pid, start in alive
                     if (stat := _proc_stat(pid)) is not None and stat[1] == start]
            time.sleep(0.1)
    for pid, _ in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def started(cmd: list[str], env: dict[str, str], log_path: Path, grace: float = 15.0,
            stray_grace: float = 3.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``cmd`` in its own session, output appended to ``log_path``; stop it and its
    descendants on exit (see stop_process_tree for ``grace`` and ``stray_grace``)."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            yield proc
        finally:
            stop_process_tree(proc, grace=grace, stray_grace=stray_grace)


def log_tail(path: Path, n: int = 3000) -> str:
    """The last ``n`` characters of a log file ("(no log)" when it cannot be read)."""
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return "(no log)"


def check_alive(proc: subprocess.Popen[bytes], what: str, log_path: Path) -> None:
    """Raise RuntimeError, with the tail of its log, when ``proc`` has exited."""
    if proc.poll() is not None:
        raise RuntimeError(f"{what} exited ({proc.returncode}): {log_tail(log_path)}")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.05, alive: Callable[[], None] | None = None) -> Any:
    """Poll ``predicate`` every ``interval`` s until it returns something true (returned);
    ``alive`` (raises when a process it depends on is gone) is called between polls."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if alive is not None:
            alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not done after {timeout:.0f} s")
        time.sleep(interval)


class BenchTimeout(Exception):
    """The script's time limit (set_time_limit) was reached."""


def set_time_limit(seconds: int) -> None:
    """Raise BenchTimeout after ``seconds`` (SIGALRM), and turn SIGTERM into SystemExit,
    so the caller's finally blocks (and the cleanup in them) run either way."""

    def on_alarm(_signum: int, _frame: Any) -> None:
        raise BenchTimeout(f"time limit of {seconds} s reached")

    def on_term(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(seconds)


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """os.environ without PREFECT_*/RELAUNCH_* settings, telemetry off, PREFECT_HOME=home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "RELAUNCH_"))}
    env.update(PREFECT_HOME=str(home), DO_NOT_TRACK="1",
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def become_prefect_client(home: Path, api_url: str) -> None:
    """Make this process a Prefect client of ``api_url`` with its own home (no other
    PREFECT_*/RELAUNCH_* settings)."""
    for key in [k for k in os.environ if k.startswith(("PREFECT_", "RELAUNCH_"))]:
        del os.environ[key]
    os.environ.update(prefect_env(home, api_url))


@contextlib.contextmanager
def prefect_server(home: Path, timeout: float = 120.0,
                   stray_grace: float = 3.0) -> Iterator[str]:
    """A Prefect server on 127.0.0.1 with its database on a throwaway PostgreSQL
    database (as tests/support/fixtures/prefect.py does); yields the API URL, stops it after."""
    import httpx

    with temp_pg_database() as db:
        home.mkdir(parents=True, exist_ok=True)
        env = prefect_env(home)
        env.update(PREFECT_API_DATABASE_CONNECTION_URL=db.replace(
            "postgresql://", "postgresql+asyncpg://", 1), PREFECT_UI_ENABLED="false")
        port = free_port()
        log_path = home / "server.log"
        with started([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                      "--port", str(port), "--no-ui"], env, log_path, grace=20,
                     stray_grace=stray_grace) as proc:
            api = f"http://127.0.0.1:{port}/api"
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"prefect server exited: {log_tail(log_path)}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"prefect server not healthy after {timeout:.0f} s")
                time.sleep(0.5)
            yield api


@contextlib.contextmanager
def bench_run(prefix: str, time_limit: int) -> Iterator[Path]:
    """One bench run: the time limit (set_time_limit), a work directory (removed after
    a run that succeeded, kept and named after one that did not), and at the end the
    wall time and the machine's facts."""
    set_time_limit(time_limit)
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    ok = False
    try:
        yield tmp
        ok = True
    finally:
        signal.alarm(0)
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"failed: logs kept in {tmp}", file=sys.stderr)
        print(f"total wall time {time.monotonic() - began:.0f} s (limit {time_limit} s); "
              f"all started processes stopped; at the end: {machine()}", flush=True)
