"""`relaunch queue stats` at 1,000,000 items in one queue (issue 20: under 1 s), on
SQLite and PostgreSQL, with the indexes of migration 0006 and without them.

The queue (fair share by user) gets 1,000,000 items bulk-inserted (as
QueueStore.enqueue writes them, over 50 users and 10 projects), then spread by SQL
over 30 days of enqueue times: the newest 1% still queued (four priorities), the
next 0.2% active, the rest finished (85%), failed (10%: three stages, seven kinds of
reason with ids and numbers in them) or cancelled (5%, half of them before they ran);
waits of 5 s to 15 min, runs of 30 s to 2 h. The events an agent writes go with them
(queued, claimed, submitted, running, the end; 5% of the items have an earlier,
retried run), about 4.8 million rows. The 24-hour window then holds about 22,700
ended items and 20,000 first starts.

Then, several rounds each: the store call (``QueueStore.queue_stats``) and the CLI
end to end (``relaunch queue stats bench -e bench --json``, a new process each
time, interpreter start included), on the database as migrated and on a copy of it
without the indexes of migration 0006 (dropped in the copy), side by side; and the
CLI on an empty queue of the same database, its fixed cost (interpreter start,
imports, opening the store). The store call's figures (at one fixed now) must agree
on both databases; the CLI's, whose window moves with the clock, in what the queue
holds now. Exit 1 otherwise, or when the store call's median misses the budget.
SQLite gets no ANALYZE (the store never runs one);
PostgreSQL gets VACUUM ANALYZE after the load, as its autovacuum would do.
``--items N`` and ``--rounds N`` change the sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

ITEMS, ROUNDS, BUDGET = 1_000_000, 5, 1.0
DAY = 86_400.0
USERS, PROJECTS = 50, 10
QUEUE, EMPTY, ENTITY = "bench", "empty", "bench"
INDEXES = ("ix_items_ended", "ix_events_start_at", "ix_events_start_item")  # 0006's
RELAUNCH = _common.BIN / "relaunch"

# Item positions r = 0 (oldest) .. 1 (newest) over 30 days; the newest QUEUED_SHARE
# are still queued and the ACTIVE_SHARE before them active. SQL shared by both
# databases (|| and CAST are standard; % of integers too).
QUEUED_SHARE, ACTIVE_SHARE = 0.01, 0.002
_SPREAD = """
UPDATE items SET
  enqueued_at = :now - 30 * 86400.0 * (1.0 - (id - :lo) * 1.0 / :n),
  priority = id % 4,
  state = CASE
    WHEN id - :lo >= :n * (1 - :queued) THEN 'queued'
    WHEN id - :lo >= :n * (1 - :queued - :active) THEN
      CASE id % 4 WHEN 0 THEN 'claimed' WHEN 1 THEN 'building' WHEN 2 THEN 'submitted'
                  ELSE 'running' END
    WHEN (id * 7919) % 100 < 85 THEN 'finished'
    WHEN (id * 7919) % 100 < 95 THEN 'failed'
    ELSE 'cancelled' END
"""
_TIMES = """
UPDATE items SET
  started_at = CASE
    WHEN state IN ('queued', 'claimed', 'building', 'submitted') THEN NULL
    WHEN state = 'cancelled' AND id % 2 = 0 THEN NULL
    WHEN state = 'failed' AND id % 3 <> 0 THEN NULL
    ELSE enqueued_at + 5 + (id * 31) % 900 END,
  agent_id = CASE WHEN state IN ('claimed', 'building', 'submitted', 'running')
                  THEN 'agent-bench' END,
  stage = CASE WHEN state = 'failed' THEN
    CASE id % 3 WHEN 0 THEN 'run' WHEN 1 THEN 'agent' ELSE 'build' END END,
  reason = CASE WHEN state = 'failed' THEN CASE (id / 3) % 7
    WHEN 0 THEN 'exit code 1'
    WHEN 1 THEN 'exit code 137'
    WHEN 2 THEN 'OOMKilled (exit code 137)'
    WHEN 3 THEN 'not launched after 3 attempts; last: lease of agent agent-b'
                || CAST(id * 7 AS TEXT) || 'f expired'
    WHEN 4 THEN 'waited longer than 30m'
    WHEN 5 THEN 'image pull failed: manifest unknown for registry:' || CAST(5000 + id % 9 AS TEXT)
                || '/img:' || CAST(id AS TEXT) || 'a'
    ELSE 'build step ' || CAST(id % 9 AS TEXT) || ' failed after '
         || CAST(id % 600 AS TEXT) || '.5s' END END
"""
_ENDS = """
UPDATE items SET finished_at = COALESCE(started_at, enqueued_at + 5 + (id * 31) % 900)
                               + CASE WHEN started_at IS NULL THEN 0
                                      ELSE 30 + (id * 17) % 7200 END,
                 updated_at = enqueued_at
WHERE state IN ('finished', 'failed', 'cancelled')
"""
# The events an agent writes, in time order per item (ids follow it): enqueue, claim,
# a first run that was retried (5%), submission, the run's start, the end.
_EVENTS = [
    "SELECT id, NULL, 'queued', 'user', enqueued_at FROM items",
    "SELECT id, 'queued', 'claimed', 'agent-bench', started_at - 2 FROM items "
    "WHERE started_at IS NOT NULL",
    "SELECT id, 'submitted', 'running', 'agent-bench', (enqueued_at + started_at) / 2 - 1 "
    "FROM items WHERE started_at IS NOT NULL AND id % 20 = 0",
    "SELECT id, 'running', 'queued', 'agent-bench', (enqueued_at + started_at) / 2 "
    "FROM items WHERE started_at IS NOT NULL AND id % 20 = 0",
    "SELECT id, 'claimed', 'submitted', 'agent-bench', started_at - 1 FROM items "
    "WHERE started_at IS NOT NULL",
    "SELECT id, 'submitted', 'running', 'agent-bench', started_at FROM items "
    "WHERE started_at IS NOT NULL",
    "SELECT id, CASE WHEN started_at IS NULL THEN 'queued' ELSE 'running' END, state, "
    "'agent-bench', finished_at FROM items WHERE finished_at IS NOT NULL",
]


def seed(url: str, n: int) -> tuple[float, int]:
    """The queue and its ``n`` items and their events; (seconds taken, events)."""
    from sqlalchemy import func, select, text

    from launch_core.store import QueueStore
    from launch_core.store.schema import events, items

    began = time.monotonic()
    store = QueueStore(url)
    queue = _common.make_queue(store, QUEUE, ENTITY, policy={"fair_share": "user"})
    _common.make_queue(store, EMPTY, ENTITY)
    _common.bulk_insert_items(store, queue, n, users=USERS, projects=PROJECTS)
    with store.engine.begin() as conn:
        lo = conn.execute(select(func.min(items.c.id))).scalar_one()
        params = {"now": time.time(), "lo": lo, "n": n, "queued": QUEUED_SHARE,
                  "active": ACTIVE_SHARE}
        conn.execute(text(_SPREAD), params)
        conn.execute(text(_TIMES))
        conn.execute(text(_ENDS))
        for query in _EVENTS:
            conn.execute(text("INSERT INTO events (item_id, from_state, to_state, actor, at) "
                              + query))
        total = conn.execute(select(func.count()).select_from(events)).scalar_one()
    store.dispose()
    if url.startswith("postgresql"):
        vacuum_analyze(url)
    return time.monotonic() - began, int(total)


def vacuum_analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


@contextlib.contextmanager
def without_indexes(url: str, tmp: Path) -> Iterator[str]:
    """A copy of the database at ``url`` without migration 0006's indexes."""
    if url.startswith("sqlite"):
        source = url.removeprefix("sqlite:///")
        target = tmp / "no-indexes.db"
        with contextlib.closing(sqlite3.connect(source)) as src, \
                contextlib.closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
            for name in INDEXES:
                dst.execute(f"DROP INDEX {name}")
            dst.commit()
        yield f"sqlite:///{target}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin = _common.pg_admin_url()
    name = f"relaunch_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"')
    copy = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        with psycopg.connect(copy, autocommit=True) as conn:
            for index in INDEXES:
                conn.execute(f"DROP INDEX {index}")
        vacuum_analyze(copy)
        yield copy
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def store_call(url: str, now: float) -> Callable[[], dict[str, Any]]:
    from launch_core.store import QueueStore

    store = QueueStore(url, clock=lambda: now)  # the same window on both databases
    queue = store.get_queue(ENTITY, QUEUE)

    def call() -> dict[str, Any]:
        [stats] = store.queue_stats([queue], DAY)
        return {"queued": sum(stats.queued.values()), "running": stats.running,
                **stats.ended, "waits": stats.wait.count, "runs": stats.run.count,
                "wait_p95": stats.wait.p95, "run_p95": stats.run.p95,
                "reasons": [(r.stage, r.reason, r.count) for r in stats.failure_reasons],
                "running_by": len(stats.running_by)}

    return call


def cli_call(url: str, home: Path, queue: str = QUEUE) -> Callable[[], dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAUNCH_")}
    env.update(RELAUNCH_DATABASE_URL=url, RELAUNCH_DATA_DIR=str(home), DO_NOT_TRACK="1")

    def call() -> dict[str, Any]:
        out = subprocess.run([str(RELAUNCH), "queue", "stats", queue, "-e", ENTITY, "--json"],
                             env=env, capture_output=True, text=True, timeout=300)
        if out.returncode:
            raise RuntimeError(f"relaunch queue stats exited {out.returncode}: {out.stderr}")
        data = json.loads(out.stdout)  # its window moves with the clock: what does not
        return {"queued": data["queued"], "running": data["running"]}

    return call


def rounds(call: Callable[[], dict[str, Any]], n: int) -> tuple[list[float], dict[str, Any]]:
    """``n`` timed calls after one untimed warm-up; (seconds, what the last returned)."""
    result = call()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t)
    return times, result


def describe(times: list[float]) -> str:
    return f"median {statistics.median(times):7.3f}  max {max(times):7.3f}"


def backend(label: str, url: str, tmp: Path, n: int, count: int) -> bool:
    took, total = seed(url, n)
    print(f"{label}: seeded {n:,} items and {total:,} events in {took:.0f} s", flush=True)
    now = time.time()
    home = tmp / "home"
    results: dict[tuple[str, str], tuple[list[float], dict[str, Any]]] = {}
    with without_indexes(url, tmp) as bare:
        for version, where in (("with", url), ("without", bare)):
            results["store call", version] = rounds(store_call(where, now), count)
            results["CLI end to end", version] = rounds(cli_call(where, home), count)
            results["CLI, empty queue", version] = rounds(cli_call(where, home, EMPTY), count)
    ok = True
    print(f"  {'':<18}{'with the 0006 indexes (s)':<34}{'without them (s)':<34}budget")
    for what in ("store call", "CLI end to end", "CLI, empty queue"):
        with_times, with_result = results[what, "with"]
        bare_times, bare_result = results[what, "without"]
        if with_result != bare_result:
            print(f"  {what}: the figures differ: {with_result} vs {bare_result}")
            ok = False
        within = statistics.median(with_times) < BUDGET
        budget = f"< {BUDGET:.0f} s {_common.verdict(within)}" if what == "store call" else ""
        ok = ok and (within or what != "store call")
        print(f"  {what:<18}{describe(with_times):<34}{describe(bare_times):<34}{budget}")
    figures = results["store call", "with"][1]
    print(f"  figures: {figures['queued']:,} queued, {figures['running']:,} active, "
          f"{figures['finished']:,} finished, {figures['failed']:,} failed, "
          f"{figures['cancelled']:,} cancelled in 24 h; {figures['waits']:,} waits, "
          f"{figures['runs']:,} runs; {len(figures['reasons'])} reasons", flush=True)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=ITEMS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    opts = parser.parse_args()
    print(f"bench_queue_stats  ({opts.items:,} items in one queue, 24 h window, "
          f"{opts.rounds} rounds after 1 warm-up; {_common.machine()})", flush=True)
    ok = True
    with _common.bench_run("relaunch-bench-stats-", 3600) as tmp:
        with _common.temp_sqlite() as url:
            ok = backend("SQLite", url, tmp, opts.items, opts.rounds) and ok
        with _common.temp_pg_database() as url:
            ok = backend("PostgreSQL", url, tmp, opts.items, opts.rounds) and ok
        shutil.rmtree(tmp / "home", ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
