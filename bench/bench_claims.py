"""Claim throughput without duplicates (docs/contributing.md, "Benchmarks").

SQLite: 4 claimer processes over 4,000 items; PostgreSQL: 8 claimers over 8,000.
Each process opens its own QueueStore and claims one item per call until the
queue is empty. Throughput = items / (barrier release -> last claimer done).

Two cases per backend, each on its own fresh database: "plain" (a queue without a
policy: the one-statement claim) and "policies" (issue 18: fair share by user and a
cap on the queue, running quotas for the entity, 20 projects and 1,000 users, none
of them binding, items spread over those users and projects: the scheduled claim).
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

TIME_LIMIT = 120.0  # seconds per run, hard bound
# Claims/s budgets per backend: (plain, policies). Policies: issue 18.
BUDGETS = {"sqlite": (500, 1000), "postgresql": (2000, 2000)}


class Result(NamedTuple):
    rate: float
    no_dupes: bool


def claimer(url: str, queue_id: int, agent_id: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    from launch_core.store import QueueStore

    store = QueueStore(url)
    store.get_queue_by_id(queue_id)  # warm the connection before the race
    ids: list[int] = []
    barrier.wait(timeout=60)
    start = time.monotonic()
    while time.monotonic() - start < TIME_LIMIT:
        got = store.claim(agent_id, [queue_id], limit=1)
        if not got:
            break
        ids.extend(item.id for item in got)
    results.put((agent_id, start, time.monotonic(), ids))
    store.dispose()


def run(label: str, url: str, procs: int, n: int, budget: float, policies: bool) -> Result:
    from sqlalchemy import func, select

    from launch_core.store import QueueStore
    from launch_core.store.schema import events, items

    store = QueueStore(url)
    t = time.monotonic()
    if policies:
        queue = _common.make_queue(store, policy=_common.POLICY)
        _common.set_policies(store, queue)
        _common.bulk_insert_items(store, queue, n, users=_common.POLICY_USERS,
                                  projects=_common.POLICY_PROJECTS)
    else:
        queue = _common.make_queue(store)
        _common.bulk_insert_items(store, queue, n)
    setup = time.monotonic() - t

    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(procs), ctx.Queue()
    workers = [ctx.Process(target=claimer, args=(url, queue.id, f"agent-{i}", barrier, results))
               for i in range(procs)]
    for w in workers:
        w.start()
    out = []
    try:
        for _ in workers:
            out.append(results.get(timeout=TIME_LIMIT + 90))
    finally:
        for w in workers:
            w.join(timeout=10)
            if w.is_alive():
                w.terminate()
                w.join(timeout=5)
    start = min(o[1] for o in out)
    wall = max(o[2] for o in out) - start
    all_ids = [i for o in out for i in o[3]]
    per_proc = sorted(len(o[3]) for o in out)
    with store.engine.connect() as conn:
        claimed_rows = conn.execute(select(func.count()).select_from(items)
                                    .where(items.c.state == "claimed")).scalar_one()
        twice = conn.execute(select(func.count()).select_from(
            select(events.c.item_id).where(events.c.to_state == "claimed")
            .group_by(events.c.item_id).having(func.count() > 1).subquery())).scalar_one()
        owners_ok = all(conn.execute(select(func.count()).select_from(items).where(
            items.c.agent_id == o[0], items.c.state == "claimed")).scalar_one() == len(o[3])
            for o in out)
        users = conn.execute(select(func.count(items.c.submitter.distinct())).where(
            items.c.state == "claimed")).scalar_one()
    store.dispose()
    rate = len(all_ids) / wall if wall > 0 else float("inf")
    # Stopped by TIME_LIMIT, fewer than n are claimed: that is slow, not a duplicate.
    no_dupes = (len(all_ids) == len(set(all_ids)) == claimed_rows and twice == 0
                and owners_ok)
    finished = len(all_ids) == n
    case = "policies" if policies else "plain"
    tag = f"[{label} {case}]"
    print(f"{tag} {procs} claimer processes, {n} items (setup {setup:.1f} s"
          + (f"; {_common.POLICY_USERS:,} users, {_common.POLICY_PROJECTS} projects, "
             f"policy {_common.POLICY}, {1 + _common.POLICY_PROJECTS + _common.POLICY_USERS:,}"
             " quotas)" if policies else ")"))
    print(f"{tag}   claimed {len(all_ids)} in {wall:.2f} s -> {rate:,.0f} claims/s "
          f"(budget >= {budget:,.0f}) {_common.verdict(rate >= budget)}"
          + ("" if finished else f"; stopped by the {TIME_LIMIT:.0f} s time limit with "
             f"{n - len(all_ids)} still queued"))
    print(f"{tag}   per process: min {per_proc[0]} / max {per_proc[-1]}; "
          f"distinct submitters claimed {users}")
    print(f"{tag}   duplicates: returned ids {len(all_ids)} / distinct {len(set(all_ids))}; "
          f"rows in 'claimed' {claimed_rows}; items with >1 claim event {twice}; "
          f"agent_id matches claimer {owners_ok} -> {'no duplicates' if no_dupes else 'FAIL'}",
          flush=True)
    return Result(rate, no_dupes)


def table(rows: list[tuple[str, Result, Result, tuple[int, int]]]) -> None:
    print(f"{'case':<42} | {'plain':>10} | {'policies':>10} | {'budget':>13} | verdict")
    for case, plain, policies, (b_plain, b_policies) in rows:
        budget = (f">= {b_plain:,}" if b_plain == b_policies
                  else f">= {b_plain:,} / {b_policies:,}")
        print(f"{case:<42} | {plain.rate:>10,.0f} | {policies.rate:>10,.0f} | {budget:>13} | "
              f"{_common.verdict(plain.rate >= b_plain)} / "
              f"{_common.verdict(policies.rate >= b_policies)}")


def main() -> int:
    print(f"bench_claims  ({_common.machine()})")
    cases = [("sqlite", _common.temp_sqlite, 4, 4000),
             ("postgresql", _common.temp_pg_database, 8, 8000)]
    rows = []
    for label, make_db, procs, n in cases:
        budgets = BUDGETS[label]
        found = []
        for policies in (False, True):
            with make_db() as url:
                found.append(run(label, url, procs, n, budgets[policies], policies))
        rows.append((f"{label} claims/s, {procs} procs, {n:,} items", found[0], found[1],
                     budgets))
    print(f"\nbench_claims: plain vs policies  ({_common.machine()})")
    table(rows)
    return 0 if all(plain.no_dupes and policies.no_dupes
                    for _, plain, policies, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
