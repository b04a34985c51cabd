"""An agent's guard: a small process that sweeps the agent's jobs at once when the
agent's process ends without a clean stop.

A stopped Prefect worker kills its flow-run processes with SIGKILL, so a deployed
agent gets no chance to release its jobs; without the guard they would wait for
their leases to lapse. The guard runs in its own session (a signal to the agent's
process group does not reach it) and reads a pipe only the agent's process holds:
first a line naming the store and the agent, then, at a clean stop, ``DISARM``.
End of file without it means the agent's process is gone: the guard sweeps its
items as the lease expiry would (``QueueStore.expire_agent``) and marks it stopped.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Callable
from typing import IO, Any

DISARM = b"done\n"
After = Callable[[dict[str, Any]], str]  # more to do once swept -> what it did


class AgentGuard:
    """The agent's side of the guard: start it, name the agent, disarm it."""

    def __init__(self, database: str, *, module: str = "launch_core.agent.guard",
                 **facts: str) -> None:
        """Start the guard (``python -m module``); ``facts`` go with the agent's id
        to the module's ``after`` step (flows/agent_guard.py: the flow run's id)."""
        self._database, self._facts = database, facts
        self._proc = subprocess.Popen(
            [sys.executable, "-m", module], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, start_new_session=True)
        self._pipe: IO[bytes] | None = self._proc.stdin

    def watch(self, agent_id: str) -> None:
        """Guard ``agent_id`` (once registered) until disarmed."""
        # The URL (it may hold a password) goes through the pipe, never argv or env.
        named = {**self._facts, "database": self._database, "agent": agent_id}
        self._send(json.dumps(named).encode() + b"\n")

    def disarm(self) -> None:
        """The agent stopped cleanly (its jobs are released): the guard exits."""
        self._send(DISARM)
        self.close()

    def close(self) -> None:
        """Close the pipe (the guard acts unless disarmed) and reap the guard."""
        if self._pipe is not None:
            with contextlib.suppress(OSError):
                self._pipe.close()
            self._pipe = None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=30)

    def _send(self, data: bytes) -> None:
        if self._pipe is not None:
            with contextlib.suppress(OSError):  # the guard is gone: nothing to tell
                self._pipe.write(data)
                self._pipe.flush()


def guard(pipe: IO[bytes], after: After | None = None) -> str:
    """Wait for the end of ``pipe``; sweep the named agent's items unless disarmed,
    then run ``after``. Returns what it did (one line)."""
    header = pipe.readline()
    if not header.endswith(b"\n"):
        return "no agent registered"
    rest = pipe.read()  # until every write end is closed: the agent's process ended
    named = json.loads(header)
    if rest.endswith(DISARM):
        return f"agent {named['agent']} stopped cleanly"
    from launch_core.store import QueueStore

    store = QueueStore(named["database"])
    try:
        swept = store.expire_agent(named["agent"])
        store.stop_agent(named["agent"])
    finally:
        store.dispose()
    said = (f"agent {named['agent']} ended without stopping: swept its jobs at once "
            f"(requeued {swept.requeued}, re-adoptable {swept.orphaned}, "
            f"failed {swept.failed}, cancelled {swept.cancelled})")
    return said + (after(named) if after else "")


def main(after: After | None = None) -> None:
    """``python -m launch_core.agent.guard``, the pipe on stdin."""
    from launch_core.errors import one_line
    from launch_core.masking import mask

    try:
        said = guard(sys.stdin.buffer, after)
    except Exception as exc:  # the store is down: the lease expiry will do it
        said = f"could not sweep: {one_line(exc)}"
    with contextlib.suppress(OSError):  # a stopped worker no longer reads our stderr
        print(f"relaunch agent guard: {mask(said)}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
