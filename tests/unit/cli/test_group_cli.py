"""``relaunch launch --array/--after`` and ``job list/cancel --group`` through the
console script (SQLite): what they print, what ``job status`` says of a held job, and
bad input (exit 2, one line naming the flag, nothing written)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from launch_core.store import QueueStore


@pytest.fixture
def cli_store(relaunch, cli_env: dict[str, str]) -> Iterator[QueueStore]:
    """The store the CLI opens, with a local-process queue ``q`` in entity team."""
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    store = QueueStore(f"sqlite:///{Path(cli_env['RELAUNCH_DATA_DIR']) / 'relaunch.db'}")
    yield store
    store.dispose()


def launch(relaunch, *args: str):
    return relaunch("launch", "-q", "q", "-d", "img", *args)


def one_line(result) -> str:
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 1, (result.code, result.err)
    return lines[0]


def test_an_array_prints_its_group_and_job_ids(relaunch, cli_store: QueueStore):
    shown = launch(relaunch, "--array", "0-9:3")
    assert shown.code == 0, shown.err
    [item] = cli_store.list_items(limit=1)
    assert shown.out == (f"enqueued 4 jobs (array 0-9:3) in queue q, group {item.group_id}: "
                         "jobs 1-4\n")
    data = launch(relaunch, "--array", "5", "--json").json()
    assert [(i["id"], i["array_index"], i["state"]) for i in data["items"]] == [
        (5, 5, "queued")]
    assert (data["queue"], data["after"]) == ("q", [])
    assert data["group"] != item.group_id


@pytest.mark.parametrize("args, error", [
    (["--array", "x"], "--array: expected A-B[:STEP] or N (0-9, 0-99:10, 7), not 'x'"),
    (["--array", "-1"], "--array: expected A-B[:STEP] or N (0-9, 0-99:10, 7), not '-1'"),
    (["--array", "9-0"], "--array: 9-0 ends before it starts"),
    (["--array", "0-9:0"], "--array: the step must be 1 or more, not 0"),
    (["--array", "0-10000"], "--array: 0-10000 makes 10,001 jobs; at most 10,000"),
    (["--array", "0-2000000:1000"], "--array: indices go from 0 to 1,000,000, not 2,000,000"),
    (["--after", "abc"], "--after: 'abc' is not a job id"),
    (["--after", "1,,2"], "--after: '' is not a job id"),
    (["--after", "0"], "--after: '0' is not a job id"),
    (["--after", "999"], "--after: job 999 not found"),
    (["--array", "0-3", "--after", "999"], "--after: job 999 not found"),
])
def test_bad_array_or_after_is_exit_2_naming_the_flag_and_writes_nothing(
        relaunch, cli_store: QueueStore, args: list[str], error: str):
    assert one_line(launch(relaunch, *args)) == f"error: {error}"
    assert cli_store.list_items() == []


@pytest.mark.parametrize("flag, value", [("--array", "0-1"), ("--after", "1")])
def test_array_and_after_need_a_queue(relaunch, cli_store: QueueStore, flag: str, value: str):
    result = relaunch("launch", "-d", "img", flag, value)
    assert one_line(result) == (f"error: {flag}: needs -q/--queue (a direct launch runs one "
                                "job here)")
    assert cli_store.list_items() == []


def test_waiting_for_another_entitys_job_is_exit_2(relaunch, cli_store: QueueStore):
    assert relaunch("queue", "create", "q", "-r", "local-process", "-e", "other").code == 0
    foreign = relaunch("launch", "-q", "q", "-e", "other", "-d", "img", "--json").json()["id"]
    result = launch(relaunch, "--after", str(foreign))
    assert one_line(result) == f"error: --after: job {foreign} is not a job of entity 'team'"


def test_a_held_job_says_what_it_waits_for(relaunch, cli_store: QueueStore):
    first = launch(relaunch, "--json").json()["id"]
    held = launch(relaunch, "--after", str(first))
    assert held.code == 0, held.err
    assert held.out == (f"enqueued job {first + 1} (run {cli_store.get_item(first + 1).run_id})"
                        f" in queue q; waiting for {first} (queued)\n")
    text = relaunch("job", "status", str(first + 1)).out
    assert f"  after: {first} (queued)\n" in text
    assert f"  waiting: waiting for {first} (queued)\n" in text
    data = relaunch("job", "status", str(first + 1), "--json").json()
    assert (data["held"], data["position"], data["after"]) == (
        True, None, [{"id": first, "state": "queued"}])
    assert data["waiting"]["after"] == [{"id": first, "state": "queued"}]
    assert relaunch("job", "cancel", str(first)).code == 0
    ended = relaunch("job", "status", str(first + 1), "--json").json()
    assert (ended["state"], ended["reason"]) == ("cancelled", f"dependency {first} cancelled")


def test_waiting_for_a_failed_job_is_cancelled_at_once(relaunch, cli_store: QueueStore):
    first = launch(relaunch, "--json").json()["id"]
    claimed = cli_store.claim_item(first, "agent-1")
    cli_store.fail(first, "agent", "broken", actor="agent-1", claim=claimed.claim)
    shown = launch(relaunch, "--after", str(first), "--array", "0-1")
    assert shown.code == 0, shown.err
    assert shown.out.endswith(f"; cancelled: dependency {first} failed\n"), shown.out


def test_job_list_and_cancel_by_group(relaunch, cli_store: QueueStore):
    data = launch(relaunch, "--array", "0-2", "--json").json()
    group, ids = data["group"], [i["id"] for i in data["items"]]
    launch(relaunch)  # not in the group
    cli_store.claim_item(ids[0], "agent-1")
    listed = relaunch("job", "list", "--group", group, "--json").json()
    assert sorted((j["id"], j["array_index"], j["group"]) for j in listed) == [
        (job, index, group) for index, job in enumerate(ids)]
    table = relaunch("job", "list", "--group", group).out
    assert "index" in table.splitlines()[1]
    cancelled = relaunch("job", "cancel", "--group", group)
    assert cancelled.out == (f"group {group}: cancelled 2 queued job(s); cancel requested for "
                             "1 active job(s), their agents stop them\n")
    states = {i.id: (i.state, i.cancel_requested) for i in cli_store.list_items()}
    assert states == {ids[0]: ("claimed", True), ids[1]: ("cancelled", False),
                      ids[2]: ("cancelled", False), ids[2] + 1: ("queued", False)}
    again = relaunch("job", "cancel", "--group", group)
    assert again.out == f"group {group}: no unfinished jobs to cancel\n"


@pytest.mark.parametrize("args, error", [
    (["job", "list", "--group", "nope"], "--group: no jobs in group 'nope' of entity 'team'"),
    (["job", "cancel", "--group", "nope"], "--group: no jobs in group 'nope' of entity 'team'"),
    (["job", "cancel"], "job cancel: give a job ID, or --group GROUP"),
    (["job", "cancel", "1", "--group", "g"], "--group: give a job ID or --group GROUP, not both"),
])
def test_bad_group_commands_are_exit_2_in_one_line(relaunch, cli_store: QueueStore,
                                                   args: list[str], error: str):
    launch(relaunch)
    assert one_line(relaunch(*args)) == f"error: {error}"
    assert {i.state for i in cli_store.list_items()} == {"queued"}
