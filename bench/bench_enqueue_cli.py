"""Enqueue wall time through the real CLI on SQLite, interpreter start included.

`relaunch launch -q Q -d img` (budget < 0.5 s), next to two baselines: a bare
`python -c pass` and `python -c "import launch_core.cli.main"` (import cost).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

RUNS = 15
BUDGET = 0.5
BIN = Path(sys.executable).parent
RELAUNCH = BIN / "relaunch"
PYTHON = BIN / "python"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, timeout=30)
    return time.perf_counter() - t


def series(cmd: list[str], env: dict[str, str]) -> list[float]:
    timed(cmd, env)  # warm-up (page cache, .pyc)
    return [timed(cmd, env) for _ in range(RUNS)]


def line(label: str, values: list[float], budget: float | None = None) -> str:
    text = (f"{label:<40} median {statistics.median(values):.3f} s  min {min(values):.3f} s  "
            f"p90 {_common.percentile(values, 90):.3f} s")
    if budget is not None:
        ok = statistics.median(values) < budget
        text += f"  (budget < {budget} s) {_common.verdict(ok)}"
    return text


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="relaunch-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELAUNCH_")}
        env.update(RELAUNCH_DATA_DIR=tmp, RELAUNCH_ENTITY="bench", DO_NOT_TRACK="1")
        subprocess.run([str(RELAUNCH), "queue", "create", "benchq", "-r", "local-process"],
                       env=env, check=True, stdout=subprocess.DEVNULL, timeout=60)
        enqueue = series([str(RELAUNCH), "launch", "-q", "benchq", "-d", "img"], env)
        bare = series([str(PYTHON), "-c", "pass"], env)
        imports = series([str(PYTHON), "-c", "import launch_core.cli.main"], env)
    print(f"bench_enqueue_cli  (SQLite, {RUNS} runs each after 1 warm-up; {_common.machine()})")
    print(line("relaunch launch -q benchq -d img", enqueue, BUDGET))
    print(line("python -c pass", bare))
    print(line("python -c 'import launch_core.cli.main'", imports))
    med = statistics.median
    print(f"import share of enqueue median: {med(imports) / med(enqueue):.0%}; "
          f"enqueue median minus import median: {med(enqueue) - med(imports):+.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
