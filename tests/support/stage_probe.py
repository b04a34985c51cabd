"""Runs one pipeline stage through ``flows.tasks.prefect_step`` inside a real
``launch-job``-like flow run, for the Prefect API fault tests.

Usage: python stage_probe.py MARKER TAG [fail]

The stage's work appends a line to MARKER (so a test counts how often it ran) and
returns "done" (with ``fail``: raises ValueError). The stage runs under the Prefect
tag TAG, so its task run takes a slot of that tag's concurrency limit: the task
engine then calls the Prefect API around the work (acquire before, release after),
which is where a fault proxy can make Prefect's bookkeeping fail. Prints one JSON
line: {"result": ..., "error": ...}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path


async def work(marker: Path, fail: bool) -> str:
    with marker.open("a") as out:
        out.write("ran\n")
    if fail:
        raise ValueError("the stage's own failure")
    return "done"


def main() -> None:
    from prefect import flow, tags

    from flows.tasks import prefect_step

    marker, tag = Path(sys.argv[1]), sys.argv[2]
    fail = sys.argv[3:] == ["fail"]

    @flow(name="stage-probe", flow_run_name=f"stage-probe-{tag}")
    async def probe() -> str:
        with tags(tag):
            return str(await prefect_step("build-image", work, marker, fail))

    try:
        print(json.dumps({"result": asyncio.run(probe()), "error": None}))
    except Exception as exc:
        print(json.dumps({"result": None, "error": f"{type(exc).__name__}: {exc}"}))


if __name__ == "__main__":
    main()
