"""An agent on Prefect's temporary server (no PREFECT_API_URL) warns when it starts
with more concurrent jobs than that server carries (flows/launch_agent.py,
TEMPORARY_SERVER_MAX_JOBS, measured by bench/bench_burst.py). Each run starts the
agent's own temporary Prefect server (a few seconds) on an empty queue, --until-idle."""

from __future__ import annotations

from pathlib import Path

from flows.launch_agent import TEMPORARY_SERVER_MAX_JOBS

WARNING = "Prefect's temporary server (no PREFECT_API_URL) fails under more than"


def _agent(relaunch, cli_env: dict[str, str], tmp_path: Path, max_jobs: int) -> str:
    env = {k: v for k, v in cli_env.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / f"prefect-home-{max_jobs}"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false",
               # its default, 20 s, is too short on a loaded test machine
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")
    result = relaunch("launch-agent", "-q", "q", "--max-jobs", str(max_jobs),
                      "--until-idle", env=env, timeout=240)
    assert result.code == 0, result.out + result.err
    assert "agent stopped after launching 0 job(s)" in result.out
    return result.out + result.err


def test_agent_on_the_temporary_server_warns_above_its_limit_only(
        relaunch, cli_env, tmp_path):
    for key in [k for k in cli_env if k.startswith("PREFECT_")]:
        del cli_env[key]  # the relaunch fixture merges cli_env with our env
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0

    over = _agent(relaunch, cli_env, tmp_path, 16)
    assert f"{WARNING} {TEMPORARY_SERVER_MAX_JOBS} concurrent jobs" in over
    assert "max_jobs 16:" in over
    assert "docs/operations.md#sizing-the-prefect-server" in over

    within = _agent(relaunch, cli_env, tmp_path, TEMPORARY_SERVER_MAX_JOBS)
    assert WARNING not in within
