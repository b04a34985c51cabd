"""The fault matrix's "Docker daemon restart" column (issue 12): a local-container job
paused at each point of its launch (tests/support/faults/matrix.py) while the Docker daemon
it runs on is restarted; the same agent goes on, and the job must end once, ``finished`` (its
container's starts counted from the daemon's own event log, plus the events audit).

The daemon is a private one (tests/support/faults/docker_daemon.py: its own socket and data root,
``--live-restore`` as a production host runs it), so the machine's daemon and anything
else on it are left alone. The store is a fresh PostgreSQL database, the Prefect server
a fresh one on PostgreSQL.

Usage: python bench/bench_docker_restart.py [--points claimed,...] [--no-live-restore]

--no-live-restore: the daemon's default, which stops running containers when it stops;
a job caught running then ends ``failed`` with its container's exit code (it ran once).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import _faults  # noqa: E402
from _docker_daemon import PrivateDockerd  # noqa: E402
from bench_fault_matrix import PrefectServer  # noqa: E402


class DaemonRig(_faults.Rig):
    """The Rig, counting a container's starts from the private daemon's start log
    (its own event log does not survive the restart)."""

    daemon: PrivateDockerd | None = None

    def _container_starts(self, run_id: str, since: float) -> int:
        assert self.daemon is not None
        return self.daemon.starts(f"relaunch-{run_id}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default=",".join(_faults.POINTS))
    parser.add_argument("--image", default=os.environ.get("RELAUNCH_TEST_BASE_IMAGE",
                                                          "relaunch/python:bookworm"))
    parser.add_argument("--no-live-restore", action="store_true")
    args = parser.parse_args()
    print(_common.machine())
    daemon = PrivateDockerd(Path(f"/var/tmp/relaunch-bench-docker-{uuid.uuid4().hex[:8]}"),
                            live_restore=not args.no_live_restore)
    cells: list[_faults.Cell] = []
    server = None
    try:
        daemon.start()
        daemon.load_image(args.image)
        with tempfile.TemporaryDirectory(prefix="bench-docker-restart-") as name, \
                _common.temp_pg_database() as store_url, \
                _common.temp_pg_database() as prefect_db:
            tmp = Path(name)
            server = PrefectServer(prefect_db, tmp / "prefect-server")
            server.start()
            from launch_core.store import QueueStore

            store = QueueStore(store_url)
            env = {**_faults.agent_env(_common.prefect_env(tmp / "prefect-home", server.api),
                                       store_url, tmp), **daemon.env}
            rig = DaemonRig(str(_common.BIN / "relaunch"), env, tmp, store,
                            image=args.image, restart_store=daemon.restart)
            rig.daemon = daemon
            for point in args.points.split(","):
                cell = rig.run("local-container", point, "store-restart")
                cell.fault = "docker-restart"
                cells.append(cell)
                print(f"  local-container/{point}/docker-restart: "
                      f"{'ok' if cell.ok else 'FAIL'} {cell.recovery:.1f} s", flush=True)
            store.dispose()
    finally:
        if server is not None:
            server.stop()
        daemon.remove()
    print(_faults.table(cells))
    passed = sum(c.ok for c in cells)
    print(f"{passed}/{len(cells)} cells: job ended once, finished  "
          f"{_common.verdict(passed == len(cells))}")
    return 0 if passed == len(cells) else 1


if __name__ == "__main__":
    sys.exit(main())
