"""The fault matrix's per-resource table (tests/support/faults/matrix.py): for each resource, the
queue's config, the job's fields, the agents' extra environment, how the job's runs
are counted from its own side effect, and, for a test double whose jobs do not run
by themselves, how a run is moved to running and then to its end. Adding a resource
to the matrix is one ``Target``; the cloud ones (and their doubles) are in
tests/support/faults/doubles.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOB_SECONDS = 4.0
# The job: one line per run appended to <dir>/<item id>.log (unless dir is "-"), then
# a few seconds' work.
JOB = ("import os,sys,time\n"
       "d=sys.argv[1]\n"
       "if d!='-':\n"
       "  fd=os.open(os.path.join(d,os.environ['RELAUNCH_ITEM_ID']+'.log'),"
       "os.O_WRONLY|os.O_CREAT|os.O_APPEND)\n"
       "  os.write(fd,(os.environ['RELAUNCH_RUN_ID']+'\\n').encode())\n"
       "  os.close(fd)\n"
       "print('run',os.environ['RELAUNCH_RUN_ID'],flush=True)\n"
       "time.sleep(float(sys.argv[2]))\n")


@dataclass
class Target:
    """One resource of the matrix. ``runs(item, out, since)`` counts the item's runs
    from what reached the resource (``out``: the cell's marker folder; ``since``: when
    the fault was injected). ``move(run name, state)`` (a double whose jobs do not run
    by themselves) sets the run's state at the double to ``running`` or ``finished``
    and says whether the run exists there."""

    resource: str
    fields: Callable[[Path], dict[str, Any]]
    runs: Callable[[Any, Path, float], int]
    config: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    move: Callable[[str, str], bool] | None = None


def local_process() -> Target:
    """A process on the agent's host appends a marker line per run."""
    return Target("local-process", lambda out: {
        "image": "faults/none:latest", "entry_point": [sys.executable, "-c", JOB],
        "args": [str(out), str(JOB_SECONDS)]},
        lambda item, out, since: marker_lines(out / f"{item.id}.log"))


def local_container(image: str | None, starts: Callable[[str, float], int]) -> Target:
    """A container's starts, by ``starts(run id, since)`` (the Rig's, from the Docker
    daemon's events)."""
    return Target("local-container", lambda out: {
        "image": image, "entry_point": ["python3", "-c", JOB], "args": ["-", str(JOB_SECONDS)]},
        lambda item, out, since: starts(item.run_id, since - 600))


def marker_lines(path: Path) -> int:
    try:
        return len(path.read_text().splitlines())
    except FileNotFoundError:
        return 0


def container_starts(name: str, since: float) -> int:
    """Starts of the container ``name``, from the Docker daemon's event log."""
    found = subprocess.run(
        ["docker", "events", "--since", str(int(since)), "--until", str(int(time.time())),
         "--filter", "type=container", "--filter", "event=start",
         "--filter", f"container={name}", "--format", "{{json .}}"],
        capture_output=True, text=True, timeout=60, check=True)
    return sum(1 for line in found.stdout.splitlines()
               if json.loads(line).get("Actor", {}).get("Attributes", {}).get("name") == name)


class Driver:
    """Moves one run at a double whose jobs do not run by themselves: running once it
    was created, finished ``JOB_SECONDS`` later; with ``hold`` (a fault at
    ``running``), finished only 2 s after ``release`` (the fault's start), so the
    fault finds the run running."""

    def __init__(self, move: Callable[[str, str], bool], name: str, hold: bool) -> None:
        self.move, self.name, self.hold = move, name, hold
        self.released: float | None = None
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fault-driver", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self.released = time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        created: float | None = None
        while not self._stop.wait(0.1):
            try:
                now = time.monotonic()
                if created is None:
                    created = now if self.move(self.name, "running") else None
                    continue
                due = (self.released + 2.0 if self.released is not None else None) \
                    if self.hold else created + JOB_SECONDS
                if due is not None and now >= due:
                    self.move(self.name, "finished")
                    return
            except Exception as exc:  # noqa: BLE001 - kept for the cell's note
                self.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.5)
