"""Shared fixtures: real SQLite files and real PostgreSQL databases, one per test.

PostgreSQL comes from RELAUNCH_TEST_POSTGRES_URL (`.ci/run` and `make test` start a
server with scripts/start-postgres.sh). Without it, PostgreSQL tests skip locally
and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from launch_core.store import QueueStore  # noqa: E402
from tests.support import RELAUNCH, fresh_postgres_database, require_service  # noqa: E402
from tests.support.cli_fork import ForkedCLI  # noqa: E402

# The shared fixtures (tests/support): services, doubles and stores, for every folder.
pytest_plugins = ["tests.support.docker", "tests.support.marker_jobs",
                  "tests.support.fixtures.prefect", "tests.support.fixtures.builders",
                  "tests.support.fixtures.kubernetes", "tests.support.fixtures.sagemaker",
                  "tests.support.fixtures.vertex", "tests.support.fixtures.store",
                  "tests.support.fixtures.core", "tests.support.fixtures.browser"]


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get("RELAUNCH_TEST_POSTGRES_URL")
    if not url:
        require_service("PostgreSQL", "RELAUNCH_TEST_POSTGRES_URL is not set")
    return url  # type: ignore[return-value]


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    admin = request.getfixturevalue("postgres_admin_url")
    yield from fresh_postgres_database(admin)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on a fresh SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from fresh_postgres_database(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[QueueStore]:
    opened = QueueStore(store_url)
    yield opened
    opened.dispose()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for running the console script against a private SQLite store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAUNCH_")}
    env.update(RELAUNCH_DATA_DIR=str(tmp_path / "data"), RELAUNCH_ENTITY="team",
               DO_NOT_TRACK="1", HOME=str(tmp_path / "home"))
    return env


@dataclass
class Result:
    """What a console-script run printed and returned."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(scope="session")
def forked_cli() -> Iterator[ForkedCLI | None]:
    """With RELAUNCH_TEST_CLI=fork (``make unit``, ``make test``), CLI calls fork from one process
    that imported the CLI once; otherwise None: the real console script runs."""
    if os.environ.get("RELAUNCH_TEST_CLI") != "fork":
        yield None
        return
    cli = ForkedCLI()
    yield cli
    cli.close()


@pytest.fixture
def relaunch(cli_env: dict[str, str], tmp_path: Path, forked_cli: ForkedCLI | None,
             request: pytest.FixtureRequest):
    """Call ``relaunch(*args)`` -> Result: the console script in a subprocess (or a
    forked child running the same ``main``, see tests/support/cli_fork.py). A test
    marked ``real_cli`` (the console script itself under test) always gets the script."""
    forked = None if request.node.get_closest_marker("real_cli") else forked_cli

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        full_env = {**cli_env, **(env or {})}
        if forked is not None:
            return Result(*forked.run(list(args), full_env, tmp_path, timeout))
        proc = subprocess.run([RELAUNCH, *args], capture_output=True, text=True,
                              timeout=timeout, env=full_env, cwd=tmp_path)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="session")
def prefect_api(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[str]:
    """URL of the one Prefect server of this test session (stopped at the end)."""
    from tests.support.prefect_server import run_prefect_server

    yield from run_prefect_server(postgres_admin_url, tmp_path_factory.mktemp("prefect-home"))


# --- Which tests need an external service, and what a run skipped for lack of one ----
#
# A test needs a service when it uses, directly or through other fixtures, one of the
# fixtures in SERVICE_FIXTURES (or a parametrization in SERVICE_PARAMS). Collection marks
# it `service` plus one marker per service; `make unit` runs `-m "not service"`. A new
# fixture that reaches a service goes in SERVICE_FIXTURES; tests built on the existing
# fixtures need nothing. An unmarked test that still skips (or, under CI, fails) for a
# missing service is named in the summary below.

SERVICE_FIXTURES: dict[str, tuple[str, ...]] = {
    "postgres_admin_url": ("postgres",),
    "postgres_url": ("postgres",),  # reaches postgres_admin_url via getfixturevalue
    "private_postgres": ("postgres",),  # tests/support/fixtures/prefect.py
    "prefect_api": ("prefect_server", "postgres"),
    "prefect_ui_api": ("prefect_server", "postgres"),  # tests/support/fixtures/prefect.py
    "chromium": ("browser",),  # tests/support/fixtures/browser.py (Chromium, Playwright)
    "browser": ("browser",),  # the same file: a Playwright browser on that Chromium
    "docker_env": ("docker",),  # tests/support/docker.py (daemon and registries)
    "moto_server": ("moto",),  # tests/support/docker.py
    "gcs_emulator": ("gcs",),  # tests/support/fixtures/builders.py (gcp-storage-emulator)
    "kube_double": ("kubernetes", "docker"),  # tests/support/fixtures/kubernetes.py
    "vertex_fake": ("vertex_fake",),  # tests/support/fixtures/vertex.py (a fake Vertex API)
    "sagemaker_moto": ("moto",),  # tests/support/fixtures/sagemaker.py (moto in process)
}
# (fixture, param) -> services, for fixtures parametrized over backends.
SERVICE_PARAMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("store_url", "postgres"): ("postgres",),
}

# The names tests/support.require_service reports -> how to provide that service.
_START = {
    "PostgreSQL": "export RELAUNCH_TEST_POSTGRES_URL=$(bash scripts/start-postgres.sh)",
    "PostgreSQL server binaries": "bash scripts/start-postgres.sh (installs postgresql-15)"
                                  " or set PGBIN",
    "a private PostgreSQL server": "bash scripts/start-postgres.sh (see its error above)",
    "Docker": 'eval "$(bash scripts/start-docker.sh)"',
    "OCI registry": 'eval "$(bash scripts/start-docker.sh)"',
    "Chromium": "bash scripts/install-browser.sh (root), and make venv for playwright",
}
_MISSING = re.compile(r"(?:Skipped|Failed): (?P<name>.+?)"
                      r" (?:not available|is required in CI): (?P<why>[^\n]*)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        services: set[str] = set()
        for name in getattr(item, "fixturenames", ()):
            services.update(SERVICE_FIXTURES.get(name, ()))
        callspec = getattr(item, "callspec", None)
        for key, value in (callspec.params.items() if callspec else ()):
            if isinstance(value, str):
                services.update(SERVICE_PARAMS.get((key, value), ()))
        for service in sorted(services):
            item.add_marker(service)
        if services:
            item.add_marker("service")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Per missing service: what it is, how to start it, how many tests it cost."""
    missing: dict[str, dict[str, Any]] = {}
    unmarked: list[str] = []
    for outcome in ("skipped", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            longrepr = getattr(report, "longrepr", None)
            text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr or "")
            match = _MISSING.search(text)
            if not match:
                continue
            entry = missing.setdefault(match["name"], {"why": match["why"], "tests": 0,
                                                       "where": Counter(), "prefect": 0})
            entry["tests"] += 1
            entry["prefect"] += "prefect_server" in report.keywords
            entry["where"][report.nodeid.split("::")[0].rsplit("/", 1)[0]] += 1
            if "service" not in report.keywords:
                unmarked.append(report.nodeid)
    if not missing:
        return
    write = terminalreporter.write_line
    verb = "failed (CI=true)" if _in_ci() else "skipped"
    terminalreporter.section("missing services", sep="=", yellow=True, bold=True)
    for name, entry in sorted(missing.items(), key=lambda kv: -kv[1]["tests"]):
        where = ", ".join(f"{path} {count}" for path, count in entry["where"].most_common())
        write(f"{name}: {entry['tests']} tests {verb} ({where})")
        if entry["prefect"]:
            write(f"    incl.  {entry['prefect']} tests on the session's Prefect server, "
                  "which runs on PostgreSQL (tests/support/prefect_server.py)")
        write(f"    why:   {entry['why']}")
        write(f"    start: {_START.get(name, 'see tests/support/__init__.py require_service')}")
    if unmarked:
        write(f"{len(unmarked)} tests not marked `service` reached a missing service; add "
              "the fixture they use to SERVICE_FIXTURES in tests/conftest.py:", red=True)
        for nodeid in unmarked[:10]:
            write(f"    {nodeid}")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
