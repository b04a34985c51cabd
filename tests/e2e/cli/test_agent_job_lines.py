"""`relaunch launch-agent` prints one line when it starts a job and one when the job
ends, at the default verbosity: `started job 12 (run abc123) from cpu`,
`job 12 finished in 3.4 s`, `job 12 failed at run: exit code 3`."""

from __future__ import annotations

import re
from collections import Counter

START = re.compile(r" - started job (\d+) \(run (\w+)\) from cpu$")
END = re.compile(r" - job (\d+) (finished in \d+\.\d s|failed at run: exit code 3)$")


def test_the_agent_prints_one_start_and_one_end_line_per_job(relaunch, tmp_path):
    assert relaunch("queue", "create", "cpu", "-r", "local-process").code == 0
    code = tmp_path / "code"
    code.mkdir()
    (code / "README").write_text("the jobs' code: their commands say it all\n")
    runs = {}
    for command in ("python3 -c \"print('hello')\"", "python3 -c \"print('hello')\"",
                    "python3 -c \"import sys; sys.exit(3)\""):
        job = relaunch("launch", "-q", "cpu", "--code", str(code), "-E", command,
                       "--json").json()
        runs[job["id"]] = job["run_id"]

    agent = relaunch("launch-agent", "-q", "cpu", "--until-idle", timeout=180)
    assert agent.code == 0, agent.err[-3000:]
    lines = (agent.out + agent.err).splitlines()
    starts = [m.groups() for line in lines if (m := START.search(line))]
    ends = [m.groups() for line in lines if (m := END.search(line))]
    assert sorted(starts) == sorted((str(job), run) for job, run in runs.items())
    assert Counter(job for job, _ in ends) == Counter(str(job) for job in runs)
    failed = max(runs)
    assert [what for job, what in ends if job == str(failed)] == ["failed at run: exit code 3"]
    assert not [line for line in lines if " - launching job " in line or " ended: " in line]
