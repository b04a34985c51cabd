"""Fixtures for the agent tests: marker jobs on SQLite (shared with tests/pipeline);
the starvation test runs agents against the session's Prefect server."""

from tests.flows.conftest import api, cli_env  # noqa: F401
from tests.pipeline.marker_jobs import agent_config, jobs, sqlite_store  # noqa: F401
