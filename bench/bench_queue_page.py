"""What the queue page (flows/queue_artifact.py) costs the store: the time of one
``QueueStore.queue_view`` read (the page's look at a queue: its active items, its
first 100 queued ones and why each waits), and single-claim latency with no page,
with a page read every second (five times the default ``queue_page_interval``), and
with page reads back to back (the worst case).

Per backend (SQLite, PostgreSQL): one queue of 10,000 queued items over 1,000 users
and 20 projects, with the bench's policies (fair share by user, a cap, quotas; none
binding), so every reason is worked out; 8 items are claimed first, so fair share has
running users to compare. The page reads on a store (connection pool) and a thread of
its own, in the claims' interpreter, as in the agent. The three cases take turns, 20
claims at a time for 10 rounds, so a change of the machine's load falls on all three;
after each turn the items it claimed are marked finished (and, on PostgreSQL, the
table vacuumed), so each turn starts alike. Budgets: a read p50 <= 0.25 s (5% of the
default interval); claim p50 with a read every second <= 1.3 x without. Back to back
is printed, not budgeted.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

BACKLOG, USERS, PROJECTS = 10_000, 1_000, 20
READS, ROUNDS, TURN, WARMUP = 20, 10, 20, 5
READ_BUDGET, CLAIM_RATIO_BUDGET = 0.25, 1.3
CASES: dict[str, float | None] = {"alone": None, "every 1 s": 1.0, "back to back": 0.0}


class Reader(threading.Thread):
    """Reads the page of ``queue`` every ``every`` seconds (0: back to back; None:
    not at all), as set between turns."""

    def __init__(self, store: Any, queue: Any) -> None:
        super().__init__(daemon=True)
        self.store, self.queue = store, queue
        self.every: float | None = None
        self.stop = threading.Event()
        self.reads = 0
        self.reading = threading.Lock()  # held during a read

    def set(self, every: float | None) -> None:
        """Read every ``every`` seconds from now on, once any read under way ended."""
        with self.reading:
            self.every = every

    def run(self) -> None:
        next_at = 0.0
        while not self.stop.is_set():
            every = self.every
            if every is None or time.monotonic() < next_at:
                self.stop.wait(0.005)
                continue
            with self.reading:
                if self.every is not every:  # changed while we waited for the lock
                    continue
                self.store.queue_view(self.queue)
                self.reads += 1
            next_at = time.monotonic() + every


def turn(store: Any, queue: Any, claims: int) -> list[float]:
    """``claims`` single-claim latencies; the items claimed are then marked finished,
    so every turn starts from the same running set (fair share's levels grow with it)."""
    from sqlalchemy import update

    from launch_core.store.schema import items

    samples, taken = [], []
    for _ in range(claims):
        t = time.perf_counter()
        got = store.claim("bench-agent", [queue.id])
        samples.append(time.perf_counter() - t)
        assert len(got) == 1, "queue ran dry"
        taken.append(got[0].id)
    with store.engine.begin() as conn:
        conn.execute(update(items).where(items.c.id.in_(taken)).values(
            state="finished", finished_at=time.time(), lease_expires_at=None))
    if store.is_postgres:  # as autovacuum would: no dead rows at the next turn's head
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM items")
    return samples


def run(url: str) -> dict[str, float]:
    from launch_core.store import QueueStore

    store, page_store = QueueStore(url), QueueStore(url)
    try:
        queue = _common.make_queue(store)
        _common.bulk_insert_items(store, queue, BACKLOG, users=USERS, projects=PROJECTS)
        _common.set_policies(store, queue)
        queue = store.get_queue("bench", "bench")
        store.claim("bench-agent", [queue.id], limit=8)
        reads = []
        for _ in range(READS):
            t = time.perf_counter()
            view = page_store.queue_view(queue)
            reads.append(time.perf_counter() - t)
        assert len(view.queued) == 100 and view.queued_total > BACKLOG - 20
        found = {"read p50": statistics.median(reads), "read p99": _common.percentile(reads, 99)}
        turn(store, queue, WARMUP)
        reader = Reader(page_store, queue)
        reader.start()
        samples: dict[str, list[float]] = {case: [] for case in CASES}
        during = dict.fromkeys(CASES, 0)
        try:
            for _ in range(ROUNDS):
                for case, every in CASES.items():
                    reader.set(every)
                    before = reader.reads
                    samples[case] += turn(store, queue, TURN)
                    during[case] += reader.reads - before
        finally:
            reader.stop.set()
            reader.join()
        for case, values in samples.items():
            found[f"{case} p50"] = statistics.median(values)
            found[f"{case} p99"] = _common.percentile(values, 99)
            found[f"{case} reads"] = during[case]
        return found
    finally:
        store.dispose()
        page_store.dispose()


def main() -> int:
    print(f"queue page: {BACKLOG:,} queued, {USERS:,} users, fair share + cap + quotas; "
          f"{ROUNDS * TURN} claims per case ({_common.machine()})")
    ok = True
    for name, database in (("SQLite", _common.temp_sqlite),
                           ("PostgreSQL", _common.temp_pg_database)):
        with database() as url:
            f = run(url)
        ms = {k: v * 1000 for k, v in f.items() if not k.endswith(" reads")}
        ratio = f["every 1 s p50"] / f["alone p50"]
        read_ok, claim_ok = f["read p50"] <= READ_BUDGET, ratio <= CLAIM_RATIO_BUDGET
        ok = ok and read_ok and claim_ok
        print(f"{name:>10}: page read p50 {ms['read p50']:7.1f} ms, p99 {ms['read p99']:7.1f} ms"
              f" (budget p50 <= {READ_BUDGET * 1000:.0f} ms) {_common.verdict(read_ok)}")
        cases = " | ".join(f"{case} {ms[case + ' p50']:6.2f} / {ms[case + ' p99']:6.2f} "
                           f"({f[case + ' reads']:.0f} reads)" for case in CASES)
        print(f"{'':>10}  claim p50 / p99 ms: {cases}")
        print(f"{'':>10}  p50 with a read every 1 s / alone: {ratio:.2f} (budget <= "
              f"{CLAIM_RATIO_BUDGET}) {_common.verdict(claim_ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
