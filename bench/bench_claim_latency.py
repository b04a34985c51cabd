"""Single-claim latency with 1,000 vs 1,000,000 queued items (budget: p50 ratio <= 1.3,
p99 <= 10 ms). ``--sizes 1000,100000`` measures other backlogs.

One process, one QueueStore; the backlog is bulk-inserted directly (rows shaped
like QueueStore.enqueue writes them). 5 untimed warm-up claims, then 200 timed
claims of one item each. No ANALYZE is run: the store never runs one either.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

CLAIMS, WARMUP = 200, 5
SIZES = (1_000, 1_000_000)
TIME_LIMIT = 60.0  # seconds of timed claims per case, hard bound


def measure(url: str, backlog: int) -> tuple[float, float, float]:
    from launch_core.store import QueueStore

    store = QueueStore(url)
    queue = _common.make_queue(store)
    t = time.monotonic()
    _common.bulk_insert_items(store, queue, backlog)
    setup = time.monotonic() - t
    for _ in range(WARMUP):
        store.claim("bench-agent", [queue.id])
    samples: list[float] = []
    deadline = time.monotonic() + TIME_LIMIT
    while len(samples) < CLAIMS and time.monotonic() < deadline:
        t = time.perf_counter()
        got = store.claim("bench-agent", [queue.id])
        samples.append(time.perf_counter() - t)
        assert len(got) == 1, "queue ran dry"
    store.dispose()
    return statistics.median(samples), _common.percentile(samples, 99), setup


def run(label: str, make_db) -> None:  # type: ignore[no-untyped-def]
    results = {}
    for size in SIZES:
        with make_db() as url:
            results[size] = measure(url, size)
        med, p99, setup = results[size]
        print(f"[{label}] {size:>9,} queued: median {med * 1e3:6.2f} ms  p99 {p99 * 1e3:6.2f} ms"
              f"  ({CLAIMS} claims; setup {setup:.1f} s)")
    small, big = results[SIZES[0]], results[SIZES[-1]]
    ratio_med, ratio_p99 = big[0] / small[0], big[1] / small[1]
    print(f"[{label}] ratio {SIZES[-1]:,}/{SIZES[0]:,}: median x{ratio_med:.2f} "
          f"(budget <= 1.3) {_common.verdict(ratio_med <= 1.3)}  p99 x{ratio_p99:.2f}; "
          f"p99 at {SIZES[-1]:,}: {big[1] * 1e3:.2f} ms (budget <= 10 ms) "
          f"{_common.verdict(big[1] <= 0.010)}")


def main() -> int:
    global SIZES
    if "--sizes" in sys.argv:
        SIZES = tuple(int(n) for n in sys.argv[sys.argv.index("--sizes") + 1].split(","))
    print(f"bench_claim_latency  ({_common.machine()})")
    run("sqlite", _common.temp_sqlite)
    run("postgresql", _common.temp_pg_database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
