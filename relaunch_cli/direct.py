"""``relaunch launch`` without ``-q``: run the job here, through the same pipeline,
on a resource of this host (local-process by default, or ``-r local-container``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from launch_core import api
from launch_core.backends.table import load_class
from launch_core.errors import Conflict, InvalidInput, LaunchError, NotFound
from launch_core.private_files import open_private, private_dir
from launch_core.spec.launch_request import LaunchRequest
from launch_core.store import QueueItem, QueueStore
from launch_core.store.engine import private_data_dir
from relaunch_cli.status_line import StatusLine, job_status

DEFAULT_RESOURCE = "local-process"


def direct_queue(resource: str) -> str:
    """The name of the entity's queue for jobs run directly on ``resource``."""
    return f"relaunch-direct-{resource}"


def run_direct(store: QueueStore, request: LaunchRequest) -> tuple[QueueItem, str]:
    """Enqueue into the entity's direct queue for the resource, claim the job here
    and run the launch-job flow in this process until the job ends. Returns (final
    item, queue name). Raises LaunchError (exit 1) when the job fails."""
    from launch_core.spec.agent_config import load_agent_config

    url = store.engine.url.render_as_string(hide_password=False)
    config, _ = load_agent_config(flags={"database": url})  # a bad config: before enqueue
    item, queue = _enqueue(store, request)
    actor = f"cli-{os.getpid()}"
    item = store.claim_item(item.id, actor, lease_seconds=24 * 3600)
    from flows.launch_job import launch_job
    from flows.runtime import register_config

    register_config(actor, config)
    job_id = item.id
    # On a terminal, a status line under the flow's log lines (stderr) while it runs.
    with StatusLine() as status, status.around_stderr(), \
            status.ticking(lambda: job_status(store.get_item(job_id), store.clock())):
        try:
            asyncio.run(launch_job(item_id=item.id, queue_name=queue, actor=actor,
                                   claim_token=item.claim_token))
        except Exception as exc:
            raise LaunchError(f"job {item.id} failed: {exc}") from None
    return store.get_item(item.id), queue


def start_direct(store: QueueStore, request: LaunchRequest) -> tuple[QueueItem, str, Path]:
    """Enqueue into the direct queue and start, detached, an agent that runs it
    (``launch-agent --until-idle`` on that queue). Returns (item, queue name, the
    agent's log file) at once."""
    from launch_core.spec.agent_config import load_agent_config

    load_agent_config()  # a bad config: exit 2 before anything is enqueued
    item, queue = _enqueue(store, request)
    log = private_dir(private_data_dir() / "logs") / f"direct-job-{item.id}.log"
    env = {**os.environ,
           "RELAUNCH_DATABASE_URL": store.engine.url.render_as_string(hide_password=False)}
    command = [sys.executable, "-m", "relaunch_cli.main", "launch-agent", "-q", queue,
               "-e", _entity(request), "--until-idle"]
    with open_private(log) as out:
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
                         start_new_session=True)  # outlives this command and its terminal
    return item, queue, log


def _enqueue(store: QueueStore, request: LaunchRequest) -> tuple[QueueItem, str]:
    resource = request.resource or DEFAULT_RESOURCE
    if not load_class("resource", resource).runs_on_agent_host:
        raise InvalidInput(f"-r/--resource: {resource} does not run on this host; "
                           "enqueue into a queue on it with -q QUEUE")
    queue, entity = direct_queue(resource), _entity(request)
    try:
        store.get_queue(entity, queue)
    except NotFound:
        with contextlib.suppress(Conflict):  # another direct launch created it first
            api.create_queue(store, queue, resource, entity=entity,
                             description=f"jobs run directly on {resource} by `relaunch "
                                         "launch` without -q")
    request = dataclasses.replace(request, fields={**request.fields, "resource": resource},
                                  entity=entity)
    return api.enqueue(store, queue, request), queue


def _entity(request: LaunchRequest) -> str:
    return request.entity or api.default_entity()
