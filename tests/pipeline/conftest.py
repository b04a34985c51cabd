"""Fixtures for the pipeline tests (defined in marker_jobs, shared with tests/agent)."""

from tests.pipeline.marker_jobs import agent_config, jobs, sqlite_store  # noqa: F401
