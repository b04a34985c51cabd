"""The local-container tests run agents against the session's Prefect server."""

from tests.flows.conftest import api, cli_env  # noqa: F401  (agents here use Prefect)
from tests.pipeline.marker_jobs import sqlite_store  # noqa: F401  (a SQLite store)
