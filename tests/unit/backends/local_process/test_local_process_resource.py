"""The ``local-process`` resource, driven directly: real processes, real signals.

Jobs are small Python programs (this interpreter, absolute path) that coordinate with
the test through files in tmp dirs. Waits are bounded by deadlines; nothing asserts
on how long anything took.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from launch_core.backends.local_process.resource import LocalProcessResource
from launch_core.backends.resource import JobContext, RunStatus, get_resource
from launch_core.errors import InvalidInput
from tests.support import wait_for as _wait_for

DEADLINE = 60.0  # seconds any wait may take before the test fails


def wait_for(predicate: Callable[[], Any], what: str) -> Any:
    return _wait_for(predicate, what, timeout=DEADLINE, interval=0.05)
# A job that waits for this file never runs longer than this, even if the test dies.
JOB_GIVE_UP = 300


def py(code: str, *args: str) -> list[str]:
    """argv running ``code`` with this interpreter (no shell anywhere)."""
    return [sys.executable, "-c", textwrap.dedent(code), *args]


def wait_done(resource: LocalProcessResource, handle: dict[str, Any]) -> RunStatus:
    def check() -> RunStatus | None:
        status = resource.status(handle)
        return status if status.done else None

    return wait_for(check, f"run {handle['pid']} to end")  # type: ignore[no-any-return]


def wait_log(resource: LocalProcessResource, handle: dict[str, Any], text: str) -> str:
    def check() -> str | None:
        log, _ = resource.read_logs(handle, 0)
        return log if text in log else None

    return wait_for(check, f"{text!r} in the log")  # type: ignore[no-any-return]


def process_running(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def base_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


@pytest.fixture
def started() -> Iterator[list[int]]:
    """Process-group ids of runs a test started; killed at teardown if still there."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture
def make_job(tmp_path: Path) -> Callable[..., JobContext]:
    counter = iter(range(1, 1_000_000))

    def build(argv: list[str], env: dict[str, str] | None = None,
              run_dir: Path | None = None, config: dict[str, Any] | None = None) -> JobContext:
        n = next(counter)
        workdir = tmp_path / f"work{n}"
        workdir.mkdir()
        return JobContext(run_id=f"run{n:08d}", item_id=n, entry_point=argv[:1], args=argv[1:],
                          env=base_env() if env is None else env, config=config or {},
                          run_dir=run_dir or tmp_path / f"runs/run{n:08d}", workdir=workdir)

    return build


@pytest.fixture
def resource() -> LocalProcessResource:
    return LocalProcessResource()


def submit(resource: LocalProcessResource, job: JobContext, started: list[int]
           ) -> dict[str, Any]:
    handle = resource.submit(job)
    started.append(handle["pid"])
    # The handle is stored as JSON in the queue item: it must survive the round trip.
    return json.loads(json.dumps(handle))  # type: ignore[no-any-return]


def gated_job(gate: Path, before: str, after: str, code: int = 0) -> list[str]:
    """A job printing ``before``, waiting for ``gate`` to exist, printing ``after``."""
    return py(f"""
        import os, sys, time
        print({before!r}, flush=True)
        end = time.monotonic() + {JOB_GIVE_UP}
        while not os.path.exists({str(gate)!r}) and time.monotonic() < end:
            time.sleep(0.02)
        print({after!r}, flush=True)
        sys.exit({code})
    """)


# --- registry -----------------------------------------------------------------------


def test_get_resource_returns_local_process() -> None:
    assert isinstance(get_resource("local-process"), LocalProcessResource)


def test_get_resource_unknown_name_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="no-such-resource"):
        get_resource("no-such-resource")


# --- logs and exit codes ------------------------------------------------------------


def test_output_goes_to_the_log_and_is_read_incrementally(
        resource, make_job, started, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    job = make_job(gated_job(gate, "first line héllo", "second line"))
    handle = submit(resource, job, started)

    wait_log(resource, handle, "first line héllo\n")
    text, offset = resource.read_logs(handle, 0)
    assert text == "first line héllo\n"
    assert offset == len(text.encode("utf-8"))  # offsets count bytes of the log file
    assert resource.status(handle).state == "running"
    assert resource.read_logs(handle, offset) == ("", offset)  # nothing new yet

    gate.touch()
    assert wait_done(resource, handle).state == "finished"
    more, new_offset = resource.read_logs(handle, offset)
    assert more == "second line\n"
    assert new_offset == offset + len(b"second line\n")
    assert resource.read_logs(handle, new_offset) == ("", new_offset)
    # The log is a file under the run dir, with everything the job wrote.
    assert Path(handle["log"]).parent == job.run_dir
    assert Path(handle["log"]).read_text() == "first line héllo\nsecond line\n"


def test_stderr_goes_to_the_same_log(resource, make_job, started) -> None:
    job = make_job(py("import sys; print('to-out', flush=True); "
                      "print('to-err', file=sys.stderr, flush=True)"))
    handle = submit(resource, job, started)
    wait_done(resource, handle)
    log, _ = resource.read_logs(handle, 0)
    assert "to-out" in log and "to-err" in log


def test_read_logs_before_the_log_exists_returns_nothing(resource, tmp_path: Path) -> None:
    handle = {"pid": 1, "log": str(tmp_path / "missing.log"),
              "exit_file": str(tmp_path / "exit"), "started": None}
    assert resource.read_logs(handle, 0) == ("", 0)
    assert resource.read_logs(handle, 17) == ("", 17)


def test_exit_code_zero_is_finished(resource, make_job, started) -> None:
    handle = submit(resource, make_job(py("print('ok')")), started)
    status = wait_done(resource, handle)
    assert status.state == "finished"
    assert status.exit_code == 0


@pytest.mark.parametrize("code", [1, 3, 42])
def test_non_zero_exit_code_is_failed_with_that_code(resource, make_job, started,
                                                     code: int) -> None:
    handle = submit(resource, make_job(py(f"import sys; sys.exit({code})")), started)
    status = wait_done(resource, handle)
    assert status.state == "failed"
    assert status.exit_code == code
    assert str(code) in status.message


def test_missing_entry_point_fails_with_127_and_says_so(resource, make_job, started,
                                                         tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-program")
    handle = submit(resource, make_job([missing, "--flag"]), started)
    status = wait_done(resource, handle)
    assert status.state == "failed"
    assert status.exit_code == 127
    log, _ = resource.read_logs(handle, 0)
    assert "cannot start" in log
    assert "no-such-program" in log


def test_empty_argv_is_refused(resource, make_job) -> None:
    with pytest.raises(InvalidInput, match="entry point"):
        resource.submit(make_job([]))


def test_stale_exit_file_from_an_earlier_run_is_not_reported(
        resource, make_job, started, tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "resumed"
    run_dir.mkdir(parents=True)
    (run_dir / "exit_code").write_text("0")  # left by the previous run of this job
    gate = tmp_path / "gate"
    handle = submit(resource, make_job(gated_job(gate, "again", "done", code=5),
                                       run_dir=run_dir), started)
    assert resource.status(handle).state == "running"
    gate.touch()
    status = wait_done(resource, handle)
    assert (status.state, status.exit_code) == ("failed", 5)


# --- environment, session, argv -----------------------------------------------------


def test_env_is_passed_as_given_and_nothing_else_leaks(
        resource, make_job, started, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAUNCH_TEST_AGENT_SECRET", "do-not-leak")
    out = tmp_path / "env.json"
    env = {**base_env(), "RELAUNCH_RUN_ID": "abc123", "WITH_SPACES": "a b  c",
           "EMPTY": "", "UNICODE": "ünï"}
    code = f"import json, os; json.dump(dict(os.environ), open({str(out)!r}, 'w'))"
    handle = submit(resource, make_job(py(code), env=env), started)
    assert wait_done(resource, handle).state == "finished"
    seen = json.loads(out.read_text())
    assert "RELAUNCH_TEST_AGENT_SECRET" not in seen
    for key, value in env.items():
        assert seen[key] == value
    # Only what was given; the interpreters themselves may add LC_CTYPE (PEP 538).
    assert set(seen) - set(env) <= {"LC_CTYPE"}


def test_job_runs_in_its_own_session_and_workdir(resource, make_job, started,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "ids.json"
    code = (f"import json, os; json.dump({{'sid': os.getsid(0), 'pgid': os.getpgid(0), "
            f"'cwd': os.getcwd()}}, open({str(out)!r}, 'w'))")
    job = make_job(py(code))
    handle = submit(resource, job, started)
    assert wait_done(resource, handle).state == "finished"
    seen = json.loads(out.read_text())
    assert seen["sid"] != os.getsid(0)
    assert seen["sid"] == handle["pid"]  # the runner leads the job's session
    assert seen["pgid"] == handle["pid"]
    assert Path(seen["cwd"]).resolve() == job.workdir.resolve()


def test_argv_is_never_given_to_a_shell(resource, make_job, started,
                                        tmp_path: Path) -> None:
    out = tmp_path / "argv.json"
    marker = tmp_path / "pwned"
    tricky = [f"x; touch {marker}", "$HOME", "`id`", "$(id)", "*", "a|b", "'quoted'", ""]
    code = "import json, sys; json.dump(sys.argv[2:], open(sys.argv[1], 'w'))"
    handle = submit(resource, make_job(py(code, str(out), *tricky),
                                       env={**base_env(), "HOME": "/should/not/expand"}),
                    started)
    assert wait_done(resource, handle).state == "finished"
    assert json.loads(out.read_text()) == tricky
    assert not marker.exists()


# --- re-adoption by another agent ---------------------------------------------------


@pytest.mark.parametrize("code", [0, 7])
def test_new_instance_reads_status_of_a_run_it_did_not_start(
        resource, make_job, started, tmp_path: Path, code: int) -> None:
    gate = tmp_path / "gate"
    handle = submit(resource, make_job(gated_job(gate, "up", "down", code=code)), started)
    wait_log(resource, handle, "up")

    adopter = LocalProcessResource()  # what a re-adopting agent holds: no child objects
    assert adopter.status(handle).state == "running"
    assert "up" in adopter.read_logs(handle, 0)[0]

    gate.touch()
    status = wait_done(adopter, handle)
    assert status.exit_code == code
    assert status.state == ("finished" if code == 0 else "failed")
    # The exit code comes from the run's exit file, readable by anyone later.
    assert Path(handle["exit_file"]).read_text().strip() == str(code)
    later = LocalProcessResource()
    assert (later.status(handle).state, later.status(handle).exit_code) == (status.state, code)
    # The original instance agrees.
    assert resource.status(handle).exit_code == code


def test_new_instance_after_the_starting_instance_is_gone(make_job, started) -> None:
    first = LocalProcessResource()
    handle = submit(first, make_job(py("import sys; sys.exit(9)")), started)
    wait_done(first, handle)
    del first
    status = LocalProcessResource().status(handle)
    assert (status.state, status.exit_code) == ("failed", 9)


def test_run_killed_without_exit_file_is_failed_for_a_new_instance(
        resource, make_job, started, tmp_path: Path) -> None:
    handle = submit(resource, make_job(gated_job(tmp_path / "never", "up", "down")), started)
    wait_log(resource, handle, "up")
    os.killpg(handle["pid"], signal.SIGKILL)
    wait_for(lambda: resource.status(handle).done, "the killed run to be seen as ended")
    adopter = LocalProcessResource()
    status = adopter.status(handle)
    assert status.state == "failed"
    assert status.exit_code is None
    assert "exit code" in status.message


# --- cancel -------------------------------------------------------------------------

TRAPS_TERM = """
    import os, signal, sys, time
    def stop(signum, frame):
        print("got TERM", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    end = time.monotonic() + {give_up}
    while time.monotonic() < end:
        time.sleep(0.05)
    sys.exit(3)
"""

IGNORES_TERM = """
    import os, signal, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    open({pid_file!r}, "w").write(str(os.getpid()))
    print("ready", flush=True)
    end = time.monotonic() + {give_up}
    while time.monotonic() < end:
        time.sleep(0.05)
    sys.exit(3)
"""


@pytest.mark.parametrize("same_instance", [True, False], ids=["starter", "adopter"])
def test_cancel_sends_sigterm_and_a_trapping_job_ends_cleanly(
        resource, make_job, started, same_instance: bool) -> None:
    handle = submit(resource, make_job(py(TRAPS_TERM.format(give_up=JOB_GIVE_UP))), started)
    wait_log(resource, handle, "ready")
    canceller = resource if same_instance else LocalProcessResource()
    canceller.cancel(handle, timeout=DEADLINE)
    status = wait_done(canceller, handle)
    assert "got TERM" in canceller.read_logs(handle, 0)[0]
    # Ended by its own handler (exit 0 recorded by the runner), not by SIGKILL.
    assert (status.state, status.exit_code) == ("finished", 0)


COUNTS_TERM = """
    import signal, sys, time
    signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGTERM}})
    print("ready", flush=True)
    received = 0
    end = time.monotonic() + {give_up}
    while time.monotonic() < end:
        if signal.sigtimedwait({{signal.SIGTERM}}, 0.05) is not None:
            received += 1
            if received == 1:  # keep listening a little for a duplicate, then stop
                end = time.monotonic() + 2
    print("received", received, flush=True)
"""


@pytest.mark.parametrize("attempt", range(4))
def test_cancel_delivers_sigterm_to_the_job_exactly_once(resource, make_job, started,
                                                          attempt: int) -> None:
    """A graceful-shutdown handler must run once: a second SIGTERM (e.g. arriving
    during the job's cleanup) can kill it. Whether a duplicate is seen depends on
    scheduling, hence several attempts."""
    handle = submit(resource, make_job(py(COUNTS_TERM.format(give_up=JOB_GIVE_UP))), started)
    wait_log(resource, handle, "ready")
    resource.cancel(handle, timeout=DEADLINE)
    status = wait_done(resource, handle)
    log = resource.read_logs(handle, 0)[0]
    assert "received 1\n" in log, log
    assert (status.state, status.exit_code) == ("finished", 0)


@pytest.mark.parametrize("same_instance", [True, False], ids=["starter", "adopter"])
def test_cancel_kills_a_job_ignoring_sigterm_after_the_timeout(
        resource, make_job, started, tmp_path: Path, same_instance: bool) -> None:
    pid_file = tmp_path / "job.pid"
    code = IGNORES_TERM.format(pid_file=str(pid_file), give_up=JOB_GIVE_UP)
    handle = submit(resource, make_job(py(code)), started)
    wait_log(resource, handle, "ready")
    job_pid = int(pid_file.read_text())
    assert process_running(job_pid)

    canceller = resource if same_instance else LocalProcessResource()
    canceller.cancel(handle, timeout=0.5)

    # The job itself (not only the runner) is gone: SIGKILL went to the whole group.
    wait_for(lambda: not process_running(job_pid), "the job process to be killed")
    status = wait_done(canceller, handle)
    # The runner was killed with it, so no exit code was recorded.
    assert status.state == "failed"
    assert status.exit_code is None
    assert not Path(handle["exit_file"]).exists()


def test_cancel_of_a_finished_run_is_a_no_op(resource, make_job, started) -> None:
    handle = submit(resource, make_job(py("print('bye')")), started)
    wait_done(resource, handle)
    resource.cancel(handle, timeout=0)
    LocalProcessResource().cancel(handle, timeout=0)
    status = resource.status(handle)
    assert (status.state, status.exit_code) == ("finished", 0)


# --- validate -----------------------------------------------------------------------


def test_validate_accepts_env_and_empty_config(resource) -> None:
    resource.validate({})
    resource.validate({"env": {"A": "1", "B": 2}})


@pytest.mark.parametrize("option", ["image", "volumes", "privileged", "command", "cwd"])
def test_validate_rejects_other_options_naming_them(resource, option: str) -> None:
    with pytest.raises(InvalidInput) as info:
        resource.validate({"env": {}, option: "x"})
    assert f"'{option}'" in str(info.value)
    assert "local-process" in str(info.value)


@pytest.mark.parametrize("env", [["A=1"], "A=1", 3])
def test_validate_rejects_env_that_is_not_a_mapping(resource, env: object) -> None:
    with pytest.raises(InvalidInput, match="env"):
        resource.validate({"env": env})


# --- recycled pids ------------------------------------------------------------------


def test_pid_with_another_start_time_is_not_alive(tmp_path: Path) -> None:
    """A handle whose pid now belongs to an unrelated process (recycled pid)."""
    stranger = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({JOB_GIVE_UP})"],
                                start_new_session=True)
    try:
        wait_for(lambda: process_running(stranger.pid), "the stranger process to start")
        real_start = int(Path(f"/proc/{stranger.pid}/stat").read_text()
                         .rsplit(")", 1)[1].split()[19])
        handle = {"pid": stranger.pid, "log": str(tmp_path / "output.log"),
                  "exit_file": str(tmp_path / "exit_code"), "started": real_start - 1}
        adopter = LocalProcessResource()
        status = adopter.status(handle)
        assert status.state == "failed"
        assert status.exit_code is None
        # Cancelling the stale handle must not signal the unrelated process.
        adopter.cancel(handle, timeout=0)
        assert stranger.poll() is None
        assert process_running(stranger.pid)
    finally:
        stranger.kill()
        stranger.wait()


def test_recycled_pid_handle_of_a_live_run_is_not_alive(resource, make_job, started,
                                                         tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    handle = submit(resource, make_job(gated_job(gate, "up", "down")), started)
    wait_log(resource, handle, "up")
    forged = {**handle, "started": handle["started"] + 12345}
    assert LocalProcessResource().status(forged).state == "failed"
    assert LocalProcessResource().status(handle).state == "running"  # the true handle
    gate.touch()
    assert wait_done(resource, handle).state == "finished"


def test_a_runner_that_claims_runs_and_exits_between_two_looks_is_its_run(
        resource, make_job, started, monkeypatch: pytest.MonkeyPatch) -> None:
    """submit() looks for the runner's claim, then whether the runner exited. A quick
    job's runner can claim, run and exit between the two (seen under load: a trivial
    job ran and its item was failed "the runner ... exited (0) before starting the
    job"). Here the first look is made to miss the claim until the runner is gone."""
    real_find = LocalProcessResource.find
    looks: list[int] = []

    def slow_first_look(self: LocalProcessResource, ref: Any) -> Any:
        if self._children and not looks:  # its first look after starting the runner
            looks.append(1)
            for child in self._children.values():
                child.wait(timeout=DEADLINE)  # the runner claims, runs the job, exits
            return None
        return real_find(self, ref)

    monkeypatch.setattr(LocalProcessResource, "find", slow_first_look)
    handle = submit(resource, make_job(py("print('quick')")), started)
    monkeypatch.setattr(LocalProcessResource, "find", real_find)
    assert looks == [1]
    assert wait_done(resource, handle).state == "finished"
    assert "quick" in resource.read_logs(handle, 0)[0]
