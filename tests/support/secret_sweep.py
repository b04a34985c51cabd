"""Helpers of the secret sweep (test_secret_sweep.py): a PostgreSQL store reached as a
role with a real password, and collectors of everything relaunch wrote or showed (the
store's rows, Prefect's records since a moment, the files under a directory), each
output named so that a hit says where it was found."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

PAGE = 200


class Sweep:
    """Runs console-script commands in one environment and keeps what each printed:
    ``outputs`` (relaunch's, swept) and ``own`` (a job's own output, not swept)."""

    def __init__(self, relaunch: Any, env: dict[str, str]) -> None:
        self.relaunch, self.env = relaunch, env
        self.outputs: dict[str, str] = {}
        self.own: dict[str, str] = {}

    def cli(self, name: str, *args: str, env: dict[str, str] | None = None,
            timeout: float = 120, own: bool = False) -> str:
        """Run ``relaunch *args`` (it must succeed); keep its stdout and stderr as
        ``<name> stdout|stderr`` (stdout in ``own`` when it is the job's output)."""
        result = self.relaunch(*args, env=env or self.env, timeout=timeout)
        assert result.code == 0, (name, result.err[-3000:])
        (self.own if own else self.outputs)[f"{name} stdout"] = result.out
        self.outputs[f"{name} stderr"] = result.err
        return str(result.out)

    def fail(self, name: str, *args: str, env: dict[str, str] | None = None) -> str:
        """Run ``relaunch *args``, which must fail; keep its outputs; its stderr."""
        result = self.relaunch(*args, env=env or self.env, timeout=120)
        assert result.code != 0, (name, result.out[-3000:])
        self.outputs[f"{name} stdout"], self.outputs[f"{name} stderr"] = result.out, result.err
        return str(result.err)

    def json(self, name: str, *args: str) -> dict[str, Any]:
        """``cli`` with ``--json``; the parsed object."""
        parsed: dict[str, Any] = json.loads(self.cli(f"{name} --json", *args, "--json"))
        return parsed


@contextmanager
def vertex_jobs_succeed(fake: Any) -> Iterator[None]:
    """While inside, every CustomJob the Vertex fake holds in PENDING moves to
    SUCCEEDED (a thread polls the fake's state)."""
    stop = threading.Event()

    def complete() -> None:
        while not stop.wait(0.2):
            for job_id, job in list(fake.jobs.items()):
                if job["state"] == "JOB_STATE_PENDING":
                    fake.set_state(job_id, "SUCCEEDED")

    thread = threading.Thread(target=complete, name="vertex-completer", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


@contextmanager
def password_store(admin_url: str, password: str) -> Iterator[str]:
    """A fresh database owned by a new login role with ``password``; yields the store
    URL as that role (password included). Both are dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    role, database = f"relaunch_sweep_{suffix}", f"relaunch_sweep_{suffix}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(password)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(database), sql.Identifier(role)))
    url = make_url(admin_url).set(username=role, password=password, database=database)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def save_block(cli_env: dict[str, str], target: str, name: str, **fields: Any) -> None:
    """Save a Prefect block (``module:Class`` with ``fields``) as ``name`` in the
    server ``cli_env`` points at; the values travel in the environment, not argv."""
    module, _, cls = target.partition(":")
    script = (f"import json, os\nfrom {module} import {cls}\n"
              f"{cls}(**json.loads(os.environ['FIELDS'])).save(os.environ['NAME'])\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**cli_env, "FIELDS": json.dumps(fields),
                                            "NAME": name})
    assert proc.returncode == 0, proc.stderr[-2000:]


def store_rows(url: str) -> dict[str, str]:
    """Every row of every table of the store's database, as JSON text per table."""
    rows: dict[str, str] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'").fetchall()]
        for table in tables:
            query = sql.SQL("SELECT row_to_json(t)::text FROM {} t").format(
                sql.Identifier(table))
            rows[f"store table {table}"] = "\n".join(
                row for (row,) in conn.execute(query).fetchall())
    return rows


def _pages(client: httpx.Client, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        response = client.post(path, json={**body, "limit": PAGE, "offset": len(found)})
        response.raise_for_status()
        page = response.json()
        found += page
        if len(page) < PAGE:
            return found


def prefect_records(api_url: str, since: str) -> dict[str, str]:
    """What Prefect holds about the flow runs expected to start after ``since`` (ISO
    time): the runs (parameters, state messages), their task runs, artifacts, every
    log line written since then, and the server's events since then."""
    client = httpx.Client(base_url=api_url, timeout=60)
    runs = _pages(client, "/flow_runs/filter",
                  {"flow_runs": {"expected_start_time": {"after_": since}}})
    ids = [run["id"] for run in runs]
    outputs = {"prefect flow runs": json.dumps(runs)}
    if ids:
        outputs["prefect task runs"] = json.dumps(_pages(
            client, "/task_runs/filter", {"flow_runs": {"id": {"any_": ids}}}))
        outputs["prefect artifacts"] = json.dumps(_pages(
            client, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": ids}}}))
    outputs["prefect logs"] = json.dumps(_pages(
        client, "/logs/filter", {"logs": {"timestamp": {"after_": since}}}))
    outputs["prefect events"] = json.dumps(_events(client, since))
    client.close()
    return {name: text for name, text in outputs.items()}


def _events(client: httpx.Client, since: str) -> list[dict[str, Any]]:
    response = client.post("/events/filter", json={
        "filter": {"occurred": {"since": since}}, "limit": 50})
    response.raise_for_status()
    page = response.json()
    events = list(page["events"])
    while page.get("next_page"):
        page = client.get(page["next_page"]).json()
        events += page["events"]
    # Saving a block is the admin's act through Prefect (its event shows the block's
    # plain fields, as the UI does), not an output of relaunch.
    return [e for e in events if not e["event"].startswith("prefect.block-document.")]


def files_under(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """The text of every file under ``root`` (binary files decoded leniently), except
    those whose name is in ``skip``."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.name not in skip:
            found[f"file {path.relative_to(root)}"] = path.read_bytes().decode(
                "utf-8", "replace")
    return found


def hits(outputs: dict[str, str], secrets: dict[str, str]) -> list[str]:
    """``<secret name> in <output>: ...context...`` for every secret found."""
    found = []
    for where, text in outputs.items():
        for name, value in secrets.items():
            at = text.find(value)
            if at >= 0:
                context = text[max(0, at - 80):at + len(value) + 40].replace("\n", "\\n")
                found.append(f"{name} in {where}: ...{context}...")
    return found
