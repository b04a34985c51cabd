"""Fixtures for the agent tests (defined in marker_jobs, shared with tests/pipeline)."""

from tests.pipeline.marker_jobs import agent_config, jobs, sqlite_store  # noqa: F401
