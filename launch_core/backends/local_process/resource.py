"""``local-process``: run the job as a process on the agent's machine (never a shell)."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from launch_core.backends.demand import as_count
from launch_core.backends.logfile import read_log_file
from launch_core.backends.resource import (
    JobContext,
    Options,
    Resource,
    RunRef,
    RunStatus,
)
from launch_core.errors import InvalidInput, LaunchError
from launch_core.private_files import open_private, private_dir
from launch_core.spec.guardrails import KEPT, Finding, Guard, at_paths

_RUNNER = Path(__file__).with_name("_runner.py")
_ALREADY_STARTED = 75  # the runner's exit code when the run was started before
_CLAIM_WAIT = 30.0  # seconds a fresh runner gets to claim its run


class LocalProcessOptions(Options):
    """What a local-process queue may set."""

    env: dict[str, Any] = {}
    # GPUs one run takes: what quotas and an agent's GPU slots count. On an agent that
    # shares out GPUs the run sees the devices it was given (CUDA_VISIBLE_DEVICES).
    gpus: int = Field(default=0, ge=0)


_find_guarded = at_paths({("gpus",): "gpus"})


class LocalProcessResource(Resource):
    """Each run is a runner process in its own session, writing an exit-code file.

    The runner claims the run by creating ``<run dir>/<run name>.json`` exclusively,
    so a run is started once even if two agents (or one agent twice) ask.
    """

    name = "local-process"
    options = LocalProcessOptions
    needs_image = False
    runs_on_agent_host = True
    poll_interval = 0.5  # how often the output is passed on; the end wakes wait()
    waits_for_end = True

    def __init__(self) -> None:
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    # The GPU count is the admin's (a {{ var }} there gives a job the variable's
    # bounds): resource args may not lower what quotas and GPU slots count.
    guards = {"gpus": Guard("the GPUs a run takes", KEPT)}

    def guard_findings(self, config: Any) -> list[Finding]:
        return list(_find_guarded(config))

    def demand(self, config: dict[str, Any]) -> dict[str, int]:
        """The ``gpus`` option."""
        return {"gpus": as_count(config.get("gpus"))}

    def submit(self, job: JobContext) -> dict[str, Any]:
        if not job.argv:
            raise InvalidInput("local-process: the job has no entry point (-E)")
        existing = self.find(job.ref)
        if existing is not None:
            return existing
        claim, exit_path = _files(job.ref)
        private_dir(job.run_dir)
        with open_private(job.run_dir / "output.log") as log:
            proc = subprocess.Popen(
                # -I -S: the runner is stdlib only; skipping site-packages saves a start-up.
                [sys.executable, "-I", "-S", str(_RUNNER), str(claim), str(exit_path), "--",
                 *job.argv],
                cwd=job.workdir, env=_process_env(job), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        self._children[proc.pid] = proc
        return self._claimed_by(proc, job.ref)

    def _claimed_by(self, proc: subprocess.Popen[bytes], ref: RunRef) -> dict[str, Any]:
        """Wait for the runner to claim the run; the handle of whichever runner did."""
        deadline = time.monotonic() + _CLAIM_WAIT
        while time.monotonic() < deadline:
            # Whether it exited, asked before looking for its claim: a quick job's
            # runner may claim, run and exit between the two.
            exited = proc.poll() is not None
            handle = self.find(ref)
            if handle is not None:
                if handle["pid"] != proc.pid:  # another runner had it: ours ran nothing
                    self._reap(proc.pid)
                return handle
            if exited and proc.returncode != _ALREADY_STARTED:
                raise LaunchError(f"local-process: the runner of {ref.name} exited "
                                  f"({proc.returncode}) before starting the job")
            time.sleep(0.005)
        raise LaunchError(f"local-process: the runner of {ref.name} did not start")

    def find(self, ref: RunRef) -> dict[str, Any] | None:
        claim, exit_path = _files(ref)
        try:
            runner = json.loads(claim.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return {"pid": runner["pid"], "started": runner["started"],
                "log": str(ref.run_dir / "output.log"), "exit_file": str(exit_path)}

    def status(self, handle: dict[str, Any]) -> RunStatus:
        exit_file = Path(handle["exit_file"])
        if exit_file.exists():
            self._reap(handle["pid"])
            code = int(exit_file.read_text().strip() or "1")
            state = "finished" if code == 0 else "failed"
            return RunStatus(state, code, "" if code == 0 else f"exit code {code}")
        if self._alive(handle):
            return RunStatus("running")
        if exit_file.exists():  # finished between the two checks
            return self.status(handle)
        return RunStatus("failed", None, "process ended without recording an exit code")

    def wait(self, handle: dict[str, Any], timeout: float) -> None:
        """Until the runner exits (a pidfd: no reaping, works for a re-adopted run
        that is not our child) or ``timeout`` s."""
        try:
            fd = os.pidfd_open(handle["pid"])
        except (ProcessLookupError, OSError):
            return  # gone already
        try:
            if self._alive(handle):  # the pid is still our runner, not a reused one
                select.select([fd], [], [], timeout)
        finally:
            os.close(fd)

    def read_logs(self, handle: dict[str, Any], offset: int) -> tuple[str, int]:
        return read_log_file(handle["log"], offset)

    def cancel(self, handle: dict[str, Any], timeout: float) -> None:
        if not self._alive(handle):
            return
        # Only the runner: it passes SIGTERM on to the job once (a group-wide signal
        # would reach the job twice). SIGKILL goes to the whole group.
        with contextlib.suppress(ProcessLookupError):
            os.kill(handle["pid"], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._alive(handle):
            time.sleep(0.1)
        if self._alive(handle):
            _signal_group(handle["pid"], signal.SIGKILL)
        self._reap(handle["pid"])

    def _alive(self, handle: dict[str, Any]) -> bool:
        pid = handle["pid"]
        child = self._children.get(pid)
        if child is not None:
            return child.poll() is None
        started = _start_time(pid)
        return started is not None and started == handle.get("started")

    def _reap(self, pid: int) -> None:
        child = self._children.pop(pid, None)
        if child is not None:
            child.wait()


def _process_env(job: JobContext) -> dict[str, str]:
    """The job's environment; on an agent that shares out GPUs, CUDA_VISIBLE_DEVICES
    names the devices it gave the run (empty: none), whatever the queue's env says."""
    if job.gpu_devices is None:
        return job.env
    return {**job.env, "CUDA_VISIBLE_DEVICES": ",".join(job.gpu_devices)}


def _files(ref: RunRef) -> tuple[Path, Path]:
    """The run's claim file (the runner's pid) and its exit-code file."""
    return ref.run_dir / f"{ref.name}.json", ref.run_dir / f"{ref.name}.exit"


def _start_time(pid: int) -> int | None:
    """The process start time (clock ticks since boot); None when gone or a zombie.

    Comparing it with the handle's guards against a recycled pid.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass
