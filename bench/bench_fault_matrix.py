"""The fault matrix (issue 12), printed as a table: for each resource that runs here
(local-process, local-container; kubernetes, sagemaker and vertex on their test
doubles, see tests/support/faults/doubles.py) x each point of a job's launch (claimed, building,
pushing, submitted, running, ending) x each fault (agent kill -9, agent SIGTERM, queue
store restart, Prefect server down for 30 s; with --docker-restart also a Docker
daemon restart for local-container), one job: does it end once, ``finished``, and how
long after recovery began (see tests/support/faults/matrix.py for how "once" is counted).

Starts its own PostgreSQL server (a private data dir and port, for the restarts) and
its own Prefect server on it (stopped and started again for ``prefect-down``), and
the test double of each cloud resource asked for (stopped afterwards).
--docker-restart restarts the Docker daemon scripts/start-docker.sh started.

Usage: python bench/bench_fault_matrix.py [--resources local-process,local-container,
       kubernetes,sagemaker,vertex]
       [--points claimed,...] [--faults kill-9,sigterm,store-restart,prefect-down]
       [--docker-restart]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import _faults  # noqa: E402

from tests.support.faults import doubles as _fault_doubles  # noqa: E402
from tests.support.faults.targets import Target  # noqa: E402

PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
FAULTS = ("kill-9", "sigterm", "store-restart", "prefect-down")


def pg_ctl(data: Path, *args: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, str(PGBIN / "pg_ctl"), "-D", str(data), "-l",
                    str(data / "server.log"), *args], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


class PrefectServer:
    """A Prefect server on a fixed port and database, which can be stopped and started
    again (same URL) to make the API unreachable for a while."""

    def __init__(self, db_url: str, home: Path) -> None:
        self.port, self.home = _common.free_port(), home
        home.mkdir(parents=True, exist_ok=True)
        self.env = _common.prefect_env(home)
        self.env.update(PREFECT_API_DATABASE_CONNECTION_URL=db_url.replace(
            "postgresql://", "postgresql+asyncpg://", 1), PREFECT_UI_ENABLED="false")
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import httpx

        log = open(self.home / "server.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(_common.BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
             str(self.port), "--no-ui"], env=self.env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        _common.wait_for(lambda: _healthy(httpx, self.api), 120, "prefect server",
                         interval=0.5)

    def stop(self) -> None:
        if self.proc is not None:
            _common.stop_process_tree(self.proc, grace=20)
            self.proc = None

    def down_for(self, seconds: float) -> None:
        self.stop()
        time.sleep(seconds)
        self.start()


def _healthy(httpx, api: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        return bool(httpx.get(f"{api}/health", timeout=2).status_code == 200)
    except httpx.HTTPError:
        return False


def restart_docker() -> None:
    """Stop the Docker daemon scripts/start-docker.sh started, then start it again."""
    pid = subprocess.run(["pidof", "dockerd"], capture_output=True, text=True).stdout.split()
    for each in pid:
        os.kill(int(each), signal.SIGTERM)
    _common.wait_for(lambda: subprocess.run(["pidof", "dockerd"], capture_output=True)
                     .returncode != 0, 60, "dockerd to stop", interval=0.2)
    subprocess.run(["bash", str(_common.ROOT / "scripts/start-docker.sh")], check=True,
                   stdout=subprocess.DEVNULL, timeout=300)


@contextlib.contextmanager
def _serving(resource: str, tmp: Path, image: str) -> Iterator[Target | None]:
    """A cloud resource's double (its target), or None for a local resource."""
    if resource not in _fault_doubles.CLOUD:
        yield None
        return
    registry = os.environ.get("RELAUNCH_TEST_REGISTRY", "127.0.0.1:5000")
    with _fault_doubles.serving(resource, tmp / f"{resource}-double", image, registry) as target:
        yield target


def _cells(rig: _faults.Rig, resource: str, points: list[str], faults: list[str],
           restart_store: Callable[[], None]) -> list[_faults.Cell]:
    cells = []
    for point in points:
        for fault in faults:
            if fault == "docker-restart" and resource != "local-container":
                continue
            if fault == "docker-restart":
                rig.restart_store = restart_docker  # the same hook, for docker
                cell = rig.run(resource, point, "store-restart")
                cell.fault = "docker-restart"
                rig.restart_store = restart_store
            else:
                try:
                    cell = rig.run(resource, point, fault)
                except Exception as exc:  # noqa: BLE001 - a failed cell, not a failed table
                    cell = _faults.Cell(resource, point, fault, note=str(exc)[:160])
            cells.append(cell)
            print(f"  {resource}/{point}/{fault}: {'ok' if cell.ok else 'FAIL'} "
                  f"{cell.recovery:.1f} s", flush=True)
    return cells


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", default="local-process,local-container")
    parser.add_argument("--points", default=",".join(_faults.POINTS))
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--docker-restart", action="store_true")
    parser.add_argument("--image", default=os.environ.get("RELAUNCH_TEST_BASE_IMAGE",
                                                          "relaunch/python:bookworm"))
    args = parser.parse_args()
    print(_common.machine())
    cells: list[_faults.Cell] = []
    data = Path(f"/var/tmp/relaunch-bench-pg-{uuid.uuid4().hex[:8]}")
    env = {**os.environ, "RELAUNCH_PGDATA": str(data), "RELAUNCH_PGPORT": str(_common.free_port())}
    url = subprocess.run(["bash", str(_common.ROOT / "scripts/start-postgres.sh")], env=env,
                         capture_output=True, text=True, check=True, timeout=180).stdout.strip()
    server = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-faults-") as name:
            tmp = Path(name)
            store_url = url  # the private server: restarting it restarts only the store
            with _common.temp_pg_database() as prefect_db:  # on the usual server
                server = PrefectServer(prefect_db, tmp / "prefect-server")
                server.start()
                from launch_core.store import QueueStore

                store = QueueStore(store_url)
                agent_env = _faults.agent_env(_common.prefect_env(tmp / "prefect-home",
                                                                  server.api), store_url, tmp)
                rig = _faults.Rig(str(_common.BIN / "relaunch"), agent_env, tmp, store,
                                  image=args.image,
                                  restart_store=lambda: pg_ctl(data, "restart", "-m", "fast",
                                                               "-w"),
                                  prefect_down=server.down_for)
                faults = args.faults.split(",") + (["docker-restart"] if args.docker_restart
                                                   else [])
                for resource in args.resources.split(","):
                    with _serving(resource, tmp, args.image) as target:
                        if target is not None:
                            rig.targets[resource] = target
                        cells += _cells(rig, resource, args.points.split(","), faults,
                                        lambda: pg_ctl(data, "restart", "-m", "fast", "-w"))
                store.dispose()
    finally:
        if server is not None:
            server.stop()
        pg_ctl(data, "stop", "-m", "immediate")
        shutil.rmtree(data, ignore_errors=True)
    return _faults.report(cells, _common.verdict)


if __name__ == "__main__":
    sys.exit(main())
