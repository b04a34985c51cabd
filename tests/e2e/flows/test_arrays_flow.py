"""End to end on SQLite and PostgreSQL: ``relaunch launch --array`` enqueues one
local-process job per index, and each run sees its RELAUNCH_ARRAY_INDEX; ``--after``
holds a job until the jobs it names have finished, and a failure cancels the chain
waiting for it. A real agent (``launch-agent`` on the session's Prefect server) runs
them all; ``job list/status --group`` and ``job status`` say what happened."""

from __future__ import annotations

from pathlib import Path

# Writes the run's group into a file named after its array index.
WRITE = """import os, pathlib, sys
pathlib.Path(sys.argv[1], os.environ["RELAUNCH_ARRAY_INDEX"]).write_text(
    os.environ["RELAUNCH_GROUP"])
"""
# Runs only once every index of the array has written its file (exit 5 otherwise).
CHECK = """import pathlib, sys
out = pathlib.Path(sys.argv[1])
sys.exit(0 if sorted(p.name for p in out.iterdir()) == ["0", "2", "4"] else 5)
"""


def test_an_array_runs_every_index_and_after_waits_or_cancels_the_chain(
        relaunch, store_url: str, tmp_path: Path):
    env = {"RELAUNCH_DATABASE_URL": store_url}
    code, out = tmp_path / "code", tmp_path / "out"
    code.mkdir()
    out.mkdir()
    (code / "write.py").write_text(WRITE)
    (code / "check.py").write_text(CHECK)
    (code / "fail.py").write_text("import sys\nsys.exit(1)\n")
    assert relaunch("queue", "create", "arr", "-r", "local-process", env=env).code == 0

    def launch(*args: str) -> dict:
        result = relaunch("launch", "-q", "arr", "--code", str(code), *args, "--json",
                          env=env)
        assert result.code == 0, result.err
        return result.json()

    array = launch("-E", f"python3 write.py {out}", "--array", "0-4:2")
    group = array["group"]
    jobs = [item["id"] for item in array["items"]]
    assert [item["array_index"] for item in array["items"]] == [0, 2, 4]
    after_all = launch("-E", f"python3 check.py {out}", "--after", ",".join(map(str, jobs)))
    bad = launch("-E", "python3 fail.py")["id"]
    chained = launch("-E", "python3 fail.py", "--after", str(bad))
    second = launch("-E", "python3 fail.py", "--after", str(chained["id"]))
    assert (chained["state"], chained["held"], chained["position"]) == ("queued", True, None)
    waiting = relaunch("job", "status", str(chained["id"]), env=env)
    assert f"  waiting: waiting for {bad} (queued)\n" in waiting.out, waiting.out

    agent = relaunch("launch-agent", "-q", "arr", "-j", "4", "--until-idle", timeout=300,
                     env=env)
    assert agent.code == 0, agent.err[-3000:]

    assert {p.name: p.read_text() for p in out.iterdir()} == dict.fromkeys(
        ["0", "2", "4"], group)
    listed = relaunch("job", "list", "--group", group, "--json", env=env).json()
    assert sorted((j["id"], j["state"]) for j in listed) == [(j, "finished") for j in jobs]

    def status(job: int) -> dict:
        return relaunch("job", "status", str(job), "--json", env=env).json()

    assert status(after_all["id"])["state"] == "finished"  # ran after the whole array
    assert status(bad)["state"] == "failed"
    for job, reason in ((chained["id"], f"dependency {bad} failed"),
                        (second["id"], f"dependency {chained['id']} cancelled")):
        shown = status(job)
        assert (shown["state"], shown["reason"], shown["handle"]) == ("cancelled", reason, None)
    text = relaunch("job", "status", str(jobs[1]), env=env).out
    assert f"  group: {group}, array index 2\n" in text, text
