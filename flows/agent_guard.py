"""The deployed agent's guard (launch_core/agent/guard.py), which also ends the agent's
flow run ``Crashed`` once it has swept the jobs: a worker that SIGKILLs the agent
leaves the run ``Running``, holding the deployment's concurrency slot (limit 1,
CANCEL_NEW), so every later agent run would be cancelled."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from launch_core.agent.guard import main
from launch_core.errors import one_line


def crash_flow_run(named: dict[str, Any]) -> str:
    """Set the agent's flow run (``named["flow_run"]``) ``Crashed`` unless it ended;
    returns what it did, to add to the guard's line."""
    from prefect import get_client
    from prefect.states import Crashed

    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(named["flow_run"]))
            if run.state is not None and run.state.is_final():
                return ""
            client.set_flow_run_state(run.id, Crashed(
                message="the agent's process was killed; its jobs were released"))
    except Exception as exc:  # Prefect unreachable: the jobs are released all the same
        return f"; could not mark its flow run Crashed: {one_line(exc)}"
    return f"; flow run {run.id} marked Crashed"


if __name__ == "__main__":
    main(after=crash_flow_run)
