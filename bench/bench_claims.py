"""Claim throughput without duplicates (docs/contributing.md, "Benchmarks").

SQLite: 4 claimer processes over 4,000 items; PostgreSQL: 8 claimers over 8,000.
Each process opens its own QueueStore and claims one item per call until the
queue is empty. Throughput = items / (barrier release -> last claimer done).
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

TIME_LIMIT = 120.0  # seconds per run, hard bound


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


def run(label: str, url: str, procs: int, n: int, budget: float) -> bool:
    from sqlalchemy import func, select

    from launch_core.store import QueueStore
    from launch_core.store.schema import events, items

    store = QueueStore(url)
    queue = _common.make_queue(store)
    t = time.monotonic()
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
    store.dispose()
    rate = len(all_ids) / wall if wall > 0 else float("inf")
    no_dupes = (len(all_ids) == len(set(all_ids)) == n == claimed_rows and twice == 0
                and owners_ok)
    print(f"[{label}] {procs} claimer processes, {n} items (setup {setup:.1f} s)")
    print(f"[{label}]   claimed {len(all_ids)} in {wall:.2f} s -> {rate:,.0f} claims/s "
          f"(budget >= {budget:,.0f}) {_common.verdict(rate >= budget)}")
    print(f"[{label}]   per process: min {per_proc[0]} / max {per_proc[-1]}")
    print(f"[{label}]   duplicates: returned ids {len(all_ids)} / distinct {len(set(all_ids))}; "
          f"rows in 'claimed' {claimed_rows}; items with >1 claim event {twice}; "
          f"agent_id matches claimer {owners_ok} -> {'no duplicates' if no_dupes else 'FAIL'}")
    return no_dupes


def main() -> int:
    print(f"bench_claims  ({_common.machine()})")
    ok = True
    with _common.temp_sqlite() as url:
        ok &= run("sqlite", url, procs=4, n=4000, budget=500)
    with _common.temp_pg_database() as url:
        ok &= run("postgresql", url, procs=8, n=8000, budget=2000)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
