"""Job state changes as Prefect events ``relaunch.job.<name>``, for Prefect Automations
(docs/operations.md#events-and-automations).

A relay thread in the agent's process tails the store's event log for the agent's
queues (launch_core/store/event_feed.py: every writer's transitions, the CLI's
enqueues and cancels, agents' and sweeps' moves) and posts what it reads to Prefect's
events API in batches. It has its own store connection and its own Prefect client: it
never delays a claim or a job, and its failures never stop the agent. A batch Prefect
refused is sent again from the same place; the first failure of an outage is logged,
and the recovery.

Each event's id is derived from the job's run id and the store's event id (uuid5), so
two agents relaying one queue send the same event twice under one id: Prefect's server
stores it once (an insert that ignores a known id) and its triggers act on it once
(they skip an id seen in the last 30 minutes).

Where a relay starts: after the newest of these queues' events Prefect already holds
from this store, if it holds one from the last CATCH_UP_SECONDS (an agent restarted
after a crash picks up what happened meanwhile), at most CATCH_UP_ROWS store events
back; otherwise at the store's newest event when the agent started. An agent started
on an old store sends nothing of its past.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from launch_core.errors import LostClaim, one_line
from launch_core.store import Claim, QueueStore
from launch_core.store.event_feed import (
    FLOW_RUN_NOTE,
    EventFeed,
    JobEvent,
    head,
    published_last,
)

EVENT_PREFIX = "relaunch.job."
RELAY_INTERVAL = 1.0  # seconds between two reads of the store's event log
POST_BATCH = 200  # events per POST /events
CATCH_UP_SECONDS = 15 * 60.0
CATCH_UP_ROWS = 5000
STOP_TIMEOUT = 10.0  # seconds a stopping agent gives the relay to send its last events
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/relaunch/job-events")

Log = logging.Logger | logging.LoggerAdapter[Any]


def event_uuid(run_id: str, store_event_id: int) -> uuid.UUID:
    """The Prefect event id of a store event: the same for every relay that sends it
    (run ids are random, so two stores' events never share one)."""
    return uuid.uuid5(_NAMESPACE, f"{run_id}/{store_event_id}")


def prefect_event(event: JobEvent) -> dict[str, Any]:
    """The Prefect event (the JSON POST /events takes) of a job's state change."""
    resource = {
        "prefect.resource.id": f"{EVENT_PREFIX}{event.run_id}",
        "prefect.resource.name": event.run_id,
        "relaunch.run-id": event.run_id, "relaunch.item-id": str(event.item_id),
        "relaunch.queue": event.queue, "relaunch.entity": event.entity,
        "relaunch.project": event.project, "relaunch.user": event.user,
        "relaunch.resource": event.resource,
    }
    related = [] if event.flow_run is None else [{
        "prefect.resource.id": f"prefect.flow-run.{event.flow_run}",
        "prefect.resource.role": "flow-run"}]
    return {
        "id": str(event_uuid(event.run_id, event.event_id)),
        "occurred": datetime.fromtimestamp(event.at, UTC).isoformat(),
        "event": f"{EVENT_PREFIX}{event.name}",
        "resource": resource, "related": related,
        "payload": {"from_state": event.from_state, "to_state": event.to_state,
                    "stage": event.stage, "reason": event.reason,
                    "exit_code": event.exit_code, "message": event.message,
                    "actor": event.actor, "store_event_id": event.event_id},
    }


class JobEventRelay:
    """Sends the state changes of an agent's queues (``queues``: id -> name, of
    ``entity``) in the store at ``url`` to Prefect, from a thread of its own."""

    def __init__(self, url: str, entity: str, queues: dict[int, str], log: Log, *,
                 interval: float = RELAY_INTERVAL) -> None:
        self.url, self.entity, self.queues, self.log = url, entity, dict(queues), log
        self.interval = interval
        self.store: QueueStore | None = None
        self.head: int | None = None  # the store's newest event id at start()
        self.sent = 0  # events Prefect accepted
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: list[JobEvent] = []
        self._feed: EventFeed | None = None
        self._failing = False

    def start(self) -> None:
        """Note where the store's log ends now (so nothing the agent then does is
        missed), and start relaying. Never raises: a relay that cannot start logs why."""
        try:
            self.store = QueueStore(self.url)  # its own connection pool
            self.head = head(self.store)
        except Exception as exc:  # the agent reports a store that is down itself
            self.log.warning("job events: not sent to Prefect, the store is unreachable "
                             "(%s)", one_line(exc))
            return
        context = contextvars.copy_context()  # the agent's Prefect settings
        self._thread = threading.Thread(target=context.run, args=(self._work,),
                                        name="relaunch-job-events", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Send what is logged by now, within ``timeout`` seconds, and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self.log.warning("job events: %s not sent to Prefect before the agent "
                                 "stopped", len(self._pending) or "the last ones")
            self.log.info("job events: sent %s to Prefect", self.sent)
        if self.store is not None and (self._thread is None or not self._thread.is_alive()):
            self.store.dispose()

    def _work(self) -> None:
        from prefect.client.orchestration import get_client

        try:
            with get_client(sync_client=True) as client:
                while True:
                    stopping = self._stop.is_set()
                    busy = self._tick(client)
                    if stopping:
                        return
                    if not busy:
                        self._stop.wait(self.interval)
        except Exception as exc:  # no Prefect client at all: the agent goes on
            self.log.warning("job events: the relay to Prefect stopped (%s)", one_line(exc))

    def _tick(self, client: Any) -> bool:
        """Read what the store logged, send it; True when more is waiting."""
        try:
            if self._feed is None:
                self._feed = self._open_feed(client)
            if not self._pending:
                self._pending = self._feed.read()
            while self._pending:
                batch = self._pending[:POST_BATCH]
                response = client.request("POST", "/events",
                                          json=[prefect_event(e) for e in batch])
                response.raise_for_status()
                del self._pending[:len(batch)]
                self.sent += len(batch)
            if self._failing:
                self._failing = False
                self.log.info("job events: sent to Prefect again")
            return self._feed.full
        except Exception as exc:  # Prefect or the store away: the same batch next time
            if not self._failing:
                self._failing = True
                self.log.warning("job events: could not send to Prefect (%s); trying "
                                 "again every %ss from the same event", one_line(exc),
                                 self.interval)
            return False

    def _open_feed(self, client: Any) -> EventFeed:
        assert self.store is not None and self.head is not None
        after = self.head
        last = self._last_sent(client)
        if last is not None and last < self.head:
            after = max(last, self.head - CATCH_UP_ROWS)
            self.log.info("job events: catching up from store event %s (the last one "
                          "Prefect holds of queues %s)", after, ",".join(self.queues.values()))
        return EventFeed(self.store, list(self.queues), after=after)

    def _last_sent(self, client: Any) -> int | None:
        """The newest store event of these queues Prefect holds, from the last
        CATCH_UP_SECONDS; None when none (or on an error: then start at the head)."""
        since = datetime.now(UTC) - timedelta(seconds=CATCH_UP_SECONDS)
        query = {"filter": {
            "occurred": {"since": since.isoformat(), "until": _far_future()},
            "event": {"prefix": [EVENT_PREFIX]},
            "resource": {"labels": {"relaunch.entity": [self.entity],
                                    "relaunch.queue": sorted(self.queues.values())}},
            "order": "DESC"}, "limit": 50}
        try:
            response = client.request("POST", "/events/filter", json=query)
            response.raise_for_status()
            found = response.json().get("events") or []
        except Exception as exc:  # Prefect away: relay from the head, when it is back
            self.log.info("job events: could not ask Prefect for the last events sent "
                          "(%s); starting at the store's newest", one_line(exc))
            return None
        candidates = set()
        for event in found:
            run_id = (event.get("resource") or {}).get("relaunch.run-id")
            store_id = (event.get("payload") or {}).get("store_event_id")
            if isinstance(run_id, str) and isinstance(store_id, int):
                candidates.add((run_id, store_id))
        assert self.store is not None
        return published_last(self.store, candidates)


def _far_future() -> str:
    # The filter's default end is "now" on the server: an agent's clock ahead of the
    # server's must not hide its own last events.
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


async def note_flow_run(store: QueueStore, item_id: int, actor: str,
                        claim_token: int | None, log: Log) -> None:
    """Log "flow run <id>" in the item's events (fenced by the claim): the relay's
    events of this try relate to the launch-job flow run running it now. Nothing is
    noted outside a flow run; a failure is logged, never raised (the pipeline's own
    first read meets a lost claim or a store that is down)."""
    import asyncio

    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    claim = Claim(actor, claim_token) if claim_token is not None else None
    try:
        await asyncio.to_thread(store.note, item_id, f"{FLOW_RUN_NOTE}{context.flow_run.id}",
                                actor=actor, claim=claim)
    except LostClaim:
        return
    except Exception as exc:  # never fails the job
        log.warning("job %s: could not note its flow run (%s)", item_id, one_line(exc))
