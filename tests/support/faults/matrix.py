"""The fault matrix (issue 12): one job per cell, a fault injected while the job is at
a given point of its launch, then recovery; the job must end once, ``finished``.
Used by bench/bench_fault_matrix.py (the whole table) and tests/e2e/flows/test_fault_matrix.py.

Points: ``claimed``, ``building``, ``pushing``, ``submitted`` (the run started, not yet
recorded), ``running``, ``ending`` (the run ended, its end not yet recorded); the agent
pauses there (tests/support/faults/fault_cli.py), except at ``running`` (the job runs for a while).
Faults: ``kill-9`` and ``sigterm`` (then a new agent), ``store-restart`` (the same
agent goes on), ``prefect-down`` (the Prefect server stopped for a while, then
restarted; the same agent goes on). "Once" is counted from the job's own side effect,
per resource (tests/support/faults/targets.py): a local process appends a line per run to a
marker file; a local container's starts are counted by the Docker daemon's events;
the cloud resources' runs are counted at their test doubles (tests/support/faults/doubles.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.faults.targets import (
    Driver,
    Target,
    container_starts,
    local_container,
    local_process,
)

POINTS = ("claimed", "building", "pushing", "submitted", "running", "ending")
FAULT_CLI = Path(__file__).with_name("fault_cli.py")
ENTITY = "faults"


@dataclass
class Cell:
    resource: str
    point: str
    fault: str
    state: str = ""
    runs: int = -1  # the job's runs, from its own side effect
    problems: int = -1  # events audit of the item's history
    recovery: float = 0.0  # fault recovered -> job's end recorded
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "finished" and self.runs == 1 and self.problems == 0


@dataclass
class Rig:
    """Where cells run: a store, an environment for agents (Prefect server, data dir,
    entity), a work directory, the resources' targets (local-process and
    local-container unless given) and the fault actions this rig can perform."""

    relaunch: str  # the relaunch console script
    env: dict[str, str]
    work: Path
    store: Any  # QueueStore
    image: str | None = None  # for local-container jobs
    restart_store: Callable[[], None] | None = None
    prefect_down: Callable[[float], None] | None = None  # stop for N s, then start
    lease: float = 5.0
    agents: list[subprocess.Popen[bytes]] | None = None
    targets: dict[str, Target] = field(default_factory=dict)
    last_log: Path = Path("/dev/null")  # the last agent's output

    def target(self, resource: str) -> Target:
        if resource not in self.targets:
            if resource == "local-process":
                self.targets[resource] = local_process()
            elif resource == "local-container":
                self.targets[resource] = local_container(self.image, self._container_starts)
            else:
                raise ValueError(f"no target for {resource!r} in this rig")
        return self.targets[resource]

    def run(self, resource: str, point: str, fault: str, timeout: float = 180) -> Cell:
        cell, target = Cell(resource, point, fault), self.target(resource)
        cell_dir = self.work / f"{resource}-{point}-{fault}"
        (cell_dir / "pause").mkdir(parents=True)
        out = cell_dir / "out"
        out.mkdir()
        queue = self._queue(target)
        config = cell_dir / "launch-config.yaml"
        config.write_text(f"queues: [{queue}]\nlease_seconds: {self.lease}\nmax_jobs: 2\n")
        item = self._enqueue(queue, target, out)
        driver = None if target.move is None else \
            Driver(target.move, f"relaunch-{item.run_id}", hold=point == "running")
        pause = cell_dir / "pause"
        env = {**self.env, **target.env}
        try:
            first = self._agent(cell_dir, config, point if point != "running" else "none",
                                pause, env)
            since = self._reach(item.id, point, pause, first, timeout)
            if driver is not None:
                driver.release()
            since = self._inject(fault, first, cell_dir, config, pause, since, env)
            final = self._wait_end(item.id, timeout)
        finally:
            self._stop_agents()
            if driver is not None:
                driver.stop()
        cell.state, cell.recovery = final.state, max(0.0, float(final.finished_at or 0) - since)
        cell.runs = target.runs(item, out, since)
        from launch_core.store.audit import audit_store

        cell.problems = sum(1 for p in audit_store(self.store).problems
                            if p.startswith(f"item {item.id}:"))
        if not cell.ok:
            cell.note = f"{final.state}: {final.reason or ''}"[:120]
            if driver is not None and driver.errors:
                cell.note += f"; driver: {driver.errors[-1]}"[:120]
        return cell

    # --- steps --------------------------------------------------------------------

    def _queue(self, target: Target) -> str:
        from launch_core.api import create_queue
        from launch_core.errors import Conflict

        name = f"f-{target.resource}"
        try:
            create_queue(self.store, name, target.resource, entity=ENTITY, config=target.config)
        except Conflict:
            pass
        return name

    def _enqueue(self, queue: str, target: Target, out: Path) -> Any:
        from launch_core.api import launch

        return launch(self.store, queue, target.fields(out), entity=ENTITY)

    def _agent(self, cell_dir: Path, config: Path, point: str, pause: Path,
               env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.last_log = cell_dir / f"agent-{len(self.agents or [])}.log"
        log = open(self.last_log, "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, str(FAULT_CLI), point, str(pause), "launch-agent", "-c",
             str(config)], env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, cwd=cell_dir)
        self.agents = [*(self.agents or []), proc]
        return proc

    def _reach(self, item_id: int, point: str, pause: Path, agent: subprocess.Popen[bytes],
               timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while True:
            if point == "running":
                if self.store.get_item(item_id).state == "running":
                    return time.time()
            elif (pause / "reached").exists():
                return time.time()
            if agent.poll() is not None or time.monotonic() > deadline:
                said = self.last_log.read_text(errors="replace").strip().splitlines()
                raise RuntimeError(f"the job did not reach {point!r} (agent exit "
                                   f"{agent.poll()}: {said[-1] if said else ''})")
            time.sleep(0.1)

    def _inject(self, fault: str, agent: subprocess.Popen[bytes], cell_dir: Path,
                config: Path, pause: Path, since: float, env: dict[str, str]) -> float:
        """Apply ``fault``; returns when recovery began (the time the new agent
        started, or the fault ended)."""
        if fault in ("kill-9", "sigterm"):
            agent.send_signal(signal.SIGKILL if fault == "kill-9" else signal.SIGTERM)
            agent.wait(timeout=60)
            self._agent(cell_dir, config, "none", pause, env)
            return time.time()
        if fault == "store-restart":
            assert self.restart_store is not None
            self.restart_store()
        elif fault == "prefect-down":
            assert self.prefect_down is not None
            (pause / "go").touch()  # the agent goes on while Prefect is away
            self.prefect_down(30.0)
            return time.time()
        else:
            raise ValueError(f"unknown fault {fault!r}")
        (pause / "go").touch()
        return time.time()

    def _wait_end(self, item_id: int, timeout: float) -> Any:
        from launch_core.store.states import TERMINAL

        deadline = time.monotonic() + timeout
        while True:
            try:
                item = self.store.get_item(item_id)
                if item.state in TERMINAL:
                    return item
            except Exception:  # noqa: BLE001 - the store may be restarting
                pass
            if time.monotonic() > deadline:
                return self.store.get_item(item_id)
            time.sleep(0.2)

    def _stop_agents(self) -> None:
        for proc in self.agents or []:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.agents or []:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.agents = []

    def _container_starts(self, run_id: str, since: float) -> int:
        """Starts of the run's container (a rig on another daemon counts its own)."""
        return container_starts(f"relaunch-{run_id}", since)


def table(cells: list[Cell]) -> str:
    """The matrix as text: one row per resource and point, one column per fault."""
    faults = list(dict.fromkeys(c.fault for c in cells))
    rows = list(dict.fromkeys((c.resource, c.point) for c in cells))
    by_key = {(c.resource, c.point, c.fault): c for c in cells}
    lines = [f"{'resource':<16} {'point':<10} " + " ".join(f"{f:<18}" for f in faults)]
    for resource, point in rows:
        parts = []
        for fault in faults:
            c = by_key.get((resource, point, fault))
            parts.append(f"{'-':<18}" if c is None else
                         f"{('ok' if c.ok else 'FAIL') + f' {c.recovery:4.1f}s':<18}")
        lines.append(f"{resource:<16} {point:<10} " + " ".join(parts))
    for c in cells:
        if not c.ok:
            lines.append(f"FAIL {c.resource}/{c.point}/{c.fault}: state {c.state}, runs "
                         f"{c.runs}, audit problems {c.problems}; {c.note}")
    return "\n".join(lines)


def report(cells: list[Cell], verdict: Callable[[bool], str]) -> int:
    """Print the table and the closing line; the exit code (0: every cell ok)."""
    print(table(cells))
    passed = sum(c.ok for c in cells)
    print(f"{passed}/{len(cells)} cells: job ended once, finished  {verdict(passed == len(cells))}")
    return 0 if passed == len(cells) else 1


def agent_env(base: dict[str, str], url: str, work: Path) -> dict[str, str]:
    (work / "home").mkdir(parents=True, exist_ok=True)
    root = str(Path(__file__).resolve().parents[3])  # the repository
    return {**base, "RELAUNCH_DATABASE_URL": url, "RELAUNCH_DATA_DIR": str(work / "data"),
            "RELAUNCH_ENTITY": ENTITY, "HOME": str(work / "home"),
            "PYTHONPATH": root, "PATH": os.environ.get("PATH", "")}
