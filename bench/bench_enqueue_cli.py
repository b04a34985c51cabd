"""Enqueue wall time through the real CLI on SQLite, interpreter start included, per
resource: `relaunch launch -q Q -d img` (budget < 0.5 s) into a local-process, a
kubernetes, a sagemaker (CamelCase and snake_case configs) and a vertex queue, each
with the checks a real config gets at enqueue. Next to them two baselines: a bare
`python -c pass` and `python -c "import relaunch_cli.main"`; and where each
enqueue's import time goes (`python -X importtime`, cumulative per package).

`--baseline REF` runs the same measures against the code of git commit REF too
(`git archive` of launch_core into a temporary folder first on PYTHONPATH), the runs
of both interleaved so a change of the machine's load hits both alike, and prints
them side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import _importtime  # noqa: E402

from tests.support.sample_configs import (  # noqa: E402
    ECR_IMAGE,
    KUBERNETES,
    SAGEMAKER,
    VERTEX,
    snake_case,
)

RUNS = 20
BUDGET = 0.5
BIN = Path(sys.executable).parent
RELAUNCH = BIN / "relaunch"
PYTHON = BIN / "python"
# label -> (queue name, resource, queue config, image)
QUEUES = {
    "local-process": ("lp", "local-process", {}, "img"),
    "kubernetes": ("kube", "kubernetes", KUBERNETES, "img"),
    "sagemaker (CamelCase)": ("smcamel", "sagemaker", SAGEMAKER, ECR_IMAGE),
    "sagemaker (snake_case)": ("smsnake", "sagemaker", snake_case(SAGEMAKER), ECR_IMAGE),
    "vertex": ("vx", "vertex", VERTEX, "img"),
}


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, timeout=60)
    return time.perf_counter() - t


def launch_cmd(label: str) -> list[str]:
    queue, _, _, image = QUEUES[label]
    return [str(RELAUNCH), "launch", "-q", queue, "-d", image]


def version_env(data_dir: Path, code: Path | None) -> dict[str, str]:
    """The CLI's environment: its own SQLite store; ``code`` first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAUNCH_")}
    env.update(RELAUNCH_DATA_DIR=str(data_dir), RELAUNCH_ENTITY="bench", DO_NOT_TRACK="1")
    if code is not None:
        env["PYTHONPATH"] = str(code)
    for queue, resource, config, _ in QUEUES.values():
        subprocess.run([str(RELAUNCH), "queue", "create", queue, "-r", resource,
                        "--config", json.dumps(config)],
                       env=env, check=True, stdout=subprocess.DEVNULL, timeout=120)
    return env


def export(ref: str, into: Path) -> Path:
    """launch_core (and flows) at git commit ``ref``, in ``into``."""
    archive = subprocess.run(["git", "-C", str(_common.ROOT), "archive", ref, "launch_core",
                              "flows", "blocks"], check=True, capture_output=True).stdout
    into.mkdir()
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def describe(values: list[float], budget: float | None = None) -> str:
    text = f"median {statistics.median(values):.3f} p90 {_common.percentile(values, 90):.3f}"
    if budget is not None:
        text += f" {_common.verdict(statistics.median(values) < budget)}"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git commit to measure side by side")
    parser.add_argument("--runs", type=int, default=RUNS)
    opts = parser.parse_args()
    with _common.bench_run("relaunch-bench-enqueue-", 1800) as tmp:
        (tmp / "now").mkdir()
        versions = {"now": version_env(tmp / "now", None)}
        if opts.baseline:
            (tmp / "base").mkdir()
            code = export(opts.baseline, tmp / "code")
            versions = {opts.baseline: version_env(tmp / "base", code), **versions}
        measures = {**{label: launch_cmd(label) for label in QUEUES},
                    "python -c pass": [str(PYTHON), "-c", "pass"],
                    "python -c 'import relaunch_cli.main'":
                        [str(PYTHON), "-c", "import relaunch_cli.main"]}
        times: dict[tuple[str, str], list[float]] = {}
        for cmd in measures.values():  # warm-up (page cache, .pyc)
            for env in versions.values():
                timed(cmd, env)
        for _ in range(opts.runs):  # interleaved: load changes hit every series alike
            for cmd_label, cmd in measures.items():
                for version, env in versions.items():
                    times.setdefault((cmd_label, version), []).append(timed(cmd, env))
        imports = {(label, version): _importtime.measure(launch_cmd(label), env)
                   for label in QUEUES for version, env in versions.items()}
    print(f"bench_enqueue_cli  (SQLite, {opts.runs} runs each after 1 warm-up, interleaved; "
          f"seconds; {_common.machine()})")
    header = "".join(f"{version:<34}" for version in versions)
    print(f"{'':<42}{header}")
    for cmd_label in measures:
        budget = BUDGET if cmd_label in QUEUES else None
        row = "".join(f"{describe(times[cmd_label, v], budget):<34}" for v in versions)
        print(f"{cmd_label:<42}{row}")
    if opts.baseline:
        print("ratio now/baseline of the medians: " + ", ".join(
            f"{label} {_ratio(times, label, opts.baseline):.2f}" for label in QUEUES))
    print("import time per package (python -X importtime, cumulative, median of 3):")
    for label in QUEUES:
        for version in versions:
            print(f"  {label:<24} {version:<10} {_importtime.top(imports[label, version])}")
    return 0


def _ratio(times: dict[tuple[str, str], list[float]], label: str, base: str) -> float:
    return statistics.median(times[label, "now"]) / statistics.median(times[label, base])


if __name__ == "__main__":
    sys.exit(main())
