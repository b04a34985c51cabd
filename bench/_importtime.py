"""Where a command's import time goes: ``python -X importtime`` parsed, cumulative
time per top-level package (the imports done at the command's top level and inside
its functions, e.g. a resource's lazily imported client)."""

from __future__ import annotations

import re
import statistics
import subprocess
from collections import defaultdict

_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)")


def by_package(stderr: str) -> dict[str, float]:
    """Seconds per top-level package, counting only outermost imports (their
    cumulative time includes what they import)."""
    totals: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match and len(match.group(3)) == 1:  # outermost: one space before the name
            totals[match.group(4).split(".")[0]] += int(match.group(2)) / 1e6
    return dict(totals)


def measure(cmd: list[str], env: dict[str, str], runs: int = 3) -> dict[str, float]:
    """Median seconds per top-level package over ``runs`` runs of ``python -X
    importtime`` + ``cmd`` (``cmd`` starts with the script or ``-c``)."""
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        done = subprocess.run(cmd, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, check=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              timeout=60)
        samples.append(by_package(done.stderr))
    names = {name for sample in samples for name in sample}
    return {name: statistics.median(s.get(name, 0.0) for s in samples) for name in names}


def top(packages: dict[str, float], n: int = 4) -> str:
    """``total 0.310 s: launch_core 0.120, pydantic 0.060...`` (the ``n`` largest)."""
    ranked = sorted(packages.items(), key=lambda item: -item[1])[:n]
    parts = ", ".join(f"{name} {seconds:.3f}" for name, seconds in ranked)
    return f"imports {sum(packages.values()):.3f} s: {parts}"
