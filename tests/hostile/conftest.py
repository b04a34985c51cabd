"""Fixtures of the hostile-source tests: the pipeline tests' SQLite store, marker
jobs queue and agent config (no Prefect)."""

from tests.pipeline.marker_jobs import agent_config, jobs, sqlite_store  # noqa: F401
