"""Single-claim latency with 1,000 vs 1,000,000 queued items (budget: p50 ratio <= 1.3,
p99 <= 10 ms). ``--sizes 1000,100000`` measures other backlogs.

One process, one QueueStore; the backlog is bulk-inserted directly (rows shaped
like QueueStore.enqueue writes them), spread over 1,000 users and 20 projects. Per
backlog, two cases over the same rows: "plain" first (no policy: the one-statement
claim), then "policies" (issue 18: the claimed items are marked finished, the queue
gets fair share by user and a cap, quotas are set for the entity, 20 projects and
1,000 users, none binding: the scheduled claim). Each case: 5 untimed warm-up
claims, then 200 timed claims of one item each. No ANALYZE is run: the store never
runs one either.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

CLAIMS, WARMUP = 200, 5
SIZES = (1_000, 1_000_000)
TIME_LIMIT = 60.0  # seconds of timed claims per case, hard bound
CASES = ("plain", "policies")


class Case(NamedTuple):
    median: float
    p99: float
    claims: int  # timed claims done (fewer than CLAIMS when TIME_LIMIT stopped them)
    statements: float  # SQL statements per timed claim
    users: int  # distinct submitters among the items claimed in this case
    setup: float  # seconds: the backlog (plain), the policy and quotas (policies)


def timed_claims(store, queue, setup: float) -> Case:  # type: ignore[no-untyped-def]
    from sqlalchemy import event, func, select

    from launch_core.store.schema import items

    for _ in range(WARMUP):
        store.claim("bench-agent", [queue.id])
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    samples: list[float] = []
    event.listen(store.engine, "before_cursor_execute", count)
    deadline = time.monotonic() + TIME_LIMIT
    while len(samples) < CLAIMS and time.monotonic() < deadline:
        t = time.perf_counter()
        got = store.claim("bench-agent", [queue.id])
        samples.append(time.perf_counter() - t)
        assert len(got) == 1, "queue ran dry"
    event.remove(store.engine, "before_cursor_execute", count)
    with store.engine.connect() as conn:
        users = conn.execute(select(func.count(items.c.submitter.distinct())).where(
            items.c.queue_id == queue.id, items.c.state == "claimed")).scalar_one()
    return Case(statistics.median(samples), _common.percentile(samples, 99), len(samples),
                statements[0] / len(samples), users, setup)


def finish_claimed(store, queue) -> None:  # type: ignore[no-untyped-def]
    """Mark the items claimed so far finished, so the next case starts with none running."""
    from sqlalchemy import update

    from launch_core.store.schema import items

    with store.engine.begin() as conn:
        conn.execute(update(items).where(items.c.queue_id == queue.id,
                                         items.c.state == "claimed")
                     .values(state="finished", finished_at=time.time()))


def measure(url: str, backlog: int) -> dict[str, Case]:
    from launch_core.store import QueueStore

    store = QueueStore(url)
    queue = _common.make_queue(store)
    t = time.monotonic()
    _common.bulk_insert_items(store, queue, backlog, users=_common.POLICY_USERS,
                              projects=_common.POLICY_PROJECTS)
    found = {"plain": timed_claims(store, queue, time.monotonic() - t)}
    finish_claimed(store, queue)
    t = time.monotonic()
    _common.set_policies(store, queue)
    found["policies"] = timed_claims(store, queue, time.monotonic() - t)
    store.dispose()
    return found


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def run(label: str, make_db) -> None:  # type: ignore[no-untyped-def]
    results: dict[int, dict[str, Case]] = {}
    for size in SIZES:
        with make_db() as url:
            results[size] = measure(url, size)
        for case in CASES:
            r = results[size][case]
            print(f"[{label} {case:>8}] {size:>9,} queued: median {r.median * 1e3:6.2f} ms  "
                  f"p99 {r.p99 * 1e3:6.2f} ms  ({r.claims} claims, {r.statements:.1f} SQL "
                  f"statements each, {r.users} distinct submitters; setup {r.setup:.1f} s)",
                  flush=True)
    small, big = results[SIZES[0]], results[SIZES[-1]]
    ratio = {case: big[case].median / small[case].median for case in CASES}
    rows = [(f"median at {size:,} queued", *(ms(results[size][c].median) for c in CASES),
             "", "") for size in SIZES]
    rows += [(f"p99 at {size:,} queued", *(ms(results[size][c].p99) for c in CASES), "", "")
             for size in SIZES[:-1]]
    rows.append((f"median ratio {SIZES[-1]:,}/{SIZES[0]:,}",
                 *(f"x{ratio[c]:.2f}" for c in CASES), "<= 1.3",
                 " / ".join(_common.verdict(ratio[c] <= 1.3) for c in CASES)))
    rows.append((f"p99 at {SIZES[-1]:,} queued", *(ms(big[c].p99) for c in CASES), "<= 10 ms",
                 " / ".join(_common.verdict(big[c].p99 <= 0.010) for c in CASES)))
    rows.append(("SQL statements per claim", *(f"{big[c].statements:.1f}" for c in CASES),
                 "", ""))
    print(f"[{label}] {'case':<28} | {'plain':>9} | {'policies':>9} | {'budget':>8} | verdict")
    for case, plain, policies, budget, verdict in rows:
        print(f"[{label}] {case:<28} | {plain:>9} | {policies:>9} | {budget:>8} | {verdict}")


def main() -> int:
    global SIZES
    if "--sizes" in sys.argv:
        SIZES = tuple(int(n) for n in sys.argv[sys.argv.index("--sizes") + 1].split(","))
    print(f"bench_claim_latency  ({_common.machine()})")
    run("sqlite", _common.temp_sqlite)
    run("postgresql", _common.temp_pg_database)
    print(f"(at the end: {_common.machine()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
