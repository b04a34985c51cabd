"""An agent's Prometheus metrics, served on ``/metrics`` with ``--metrics-port``.

Each agent keeps its own registry (several agents in one process never mix their
figures) with what it saw itself: its running jobs, the wait and run times of the jobs
it started and ended, their ends, its claim and heartbeat latencies, the leases it
lost and the Prefect API errors of its jobs' flow runs. The queue-wide gauges (queued
jobs by priority, running jobs of every agent) are read from the store when scraped,
at most once per ``QUEUE_CACHE_SECONDS``, so a scrape storm does not hammer the store.
Label values are bounded: entity, queue, priority, state, stage, resource, operation;
never a run id or free text. Metric names, types and labels: docs/operations.md#metrics.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from launch_core.errors import InvalidInput, one_line
from launch_core.spec.models import PRIORITY_NAME
from launch_core.store import QueueItem, QueueRecord, QueueStore
from launch_core.store.gauges import open_counts
from launch_core.store.states import ACTIVE, QUEUED

T = TypeVar("T")

QUEUE_CACHE_SECONDS = 5.0  # the queue gauges are read from the store at most this often
# Seconds. Waits and runs go from seconds to a day; claims and heartbeats are store
# round trips, milliseconds unless the store struggles.
WAIT_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
RUN_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# What relaunch_prefect_api_errors_total counts, by operation: the flow run of a job
# could not be created or started (the job is given back), or its end not recorded.
PREFECT_OPERATIONS = ("flow_run_start", "flow_run_end")
SERVE_POLL = 0.2  # seconds the server takes to notice a stop


class AgentMetrics:
    """The metrics of one agent, in a registry of its own (``registry``)."""

    def __init__(self, store: QueueStore, entity: str, queues: Sequence[QueueRecord], *,
                 log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
                 cache_seconds: float = QUEUE_CACHE_SECONDS) -> None:
        self.entity, self.clock = entity, store.clock
        self.queues = {queue.id: queue for queue in queues}
        self.registry = CollectorRegistry()
        r = self.registry
        self.running = Gauge(
            "relaunch_agent_running_jobs", "Jobs this agent runs now (claimed to running)",
            ["entity", "queue"], registry=r)
        self.wait_seconds = Histogram(
            "relaunch_job_wait_seconds", "From a job's enqueue to this agent's claim of it",
            ["entity", "queue", "priority"], buckets=WAIT_BUCKETS, registry=r)
        self.run_seconds = Histogram(
            "relaunch_job_run_seconds", "From a job's start running to its end, observed "
            "by the agent that ended it", ["entity", "queue"], buckets=RUN_BUCKETS, registry=r)
        self.ends = Counter(
            "relaunch_job_ends", "Jobs that ended under this agent's claim",
            ["entity", "queue", "state", "stage", "resource"], registry=r)
        self.claim_seconds = Histogram(
            "relaunch_claim_duration_seconds", "The store's claim call in each poll",
            buckets=LATENCY_BUCKETS, registry=r)
        self.heartbeat_seconds = Histogram(
            "relaunch_heartbeat_duration_seconds", "The store's lease renewal in each "
            "heartbeat", buckets=LATENCY_BUCKETS, registry=r)
        self.leases_lost = Counter(
            "relaunch_lease_renewals_lost", "Jobs a lease renewal found lost (swept, or "
            "claimed by another agent)", registry=r)
        self.prefect_errors = Counter(
            "relaunch_prefect_api_errors", "Prefect API errors (after its client's retries) "
            "creating, starting or ending a job's flow run", ["operation"], registry=r)
        for queue in queues:  # the series exist from the start, at 0
            self.running.labels(entity, queue.name)
        for operation in PREFECT_OPERATIONS:
            self.prefect_errors.labels(operation)
        r.register(QueueGauges(store, entity, queues, log=log, cache_seconds=cache_seconds))
        self._running: dict[int, str] = {}  # item id -> queue name, of running jobs

    def job_started(self, item: QueueItem, *, resume: bool) -> None:
        """This agent starts (or, ``resume``, re-adopts) a job."""
        queue = self.queues[item.queue_id].name
        if item.id not in self._running:
            self._running[item.id] = queue
            self.running.labels(self.entity, queue).inc()
        if not resume:
            self.wait_seconds.labels(self.entity, queue, PRIORITY_NAME[item.priority]).observe(
                max(0.0, self.clock() - item.enqueued_at))

    def job_stopped(self, item_id: int) -> None:
        """This agent no longer runs the job (ended, released or lost)."""
        queue = self._running.pop(item_id, None)
        if queue is not None:
            self.running.labels(self.entity, queue).dec()

    def job_ended(self, item: QueueItem) -> None:
        """The job ended (``item`` as the store holds it, in a final state)."""
        queue = self.queues[item.queue_id]
        self.ends.labels(self.entity, queue.name, item.state, item.stage or "",
                         queue.definition.resource).inc()
        if item.started_at is not None and item.finished_at is not None:
            self.run_seconds.labels(self.entity, queue.name).observe(
                max(0.0, item.finished_at - item.started_at))

    def prefect_api_error(self, operation: str) -> None:
        """Count a Prefect API error of a job's flow run (see PREFECT_OPERATIONS)."""
        self.prefect_errors.labels(operation).inc()

    @staticmethod
    def timed(histogram: Histogram, call: Callable[..., T], /, *args: Any, **kwargs: Any
              ) -> T:
        """``call(*args, **kwargs)``, its duration observed in ``histogram``."""
        with histogram.time():
            return call(*args, **kwargs)

    @contextlib.contextmanager
    def serving(self, host: str, port: int | None) -> Iterator[None]:
        """Serve ``/metrics`` on ``host:port`` meanwhile (nothing when ``port`` is
        None). Raises InvalidInput when it cannot listen there (a port in use...)."""
        if port is None:
            yield
            return
        server = bind_metrics(host, port, make_wsgi_app(self.registry))
        thread = threading.Thread(target=server.serve_forever, args=(SERVE_POLL,),
                                  name="relaunch-metrics", daemon=True)
        thread.start()
        try:
            yield
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5.0)


class QueueGauges(Collector):
    """Queue-wide gauges read from the store at scrape time (cached for a moment):
    queued jobs by priority, and running (claimed to running) jobs of every agent."""

    def __init__(self, store: QueueStore, entity: str, queues: Sequence[QueueRecord], *,
                 log: logging.Logger | logging.LoggerAdapter[Any] | None,
                 cache_seconds: float) -> None:
        self.store, self.entity = store, entity
        self.names = {queue.id: queue.name for queue in queues}
        self.log = log or logging.getLogger(__name__)
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._read_at = -float("inf")
        self._counts: dict[tuple[int, str, int], int] | None = None

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        queued, running = self._families()
        counts = self._read()
        if counts is not None:  # the store unreachable: no queue gauges this scrape
            for queue_id, name in self.names.items():
                for rank, priority in PRIORITY_NAME.items():
                    queued.add_metric([self.entity, name, priority],
                                      counts.get((queue_id, QUEUED, rank), 0))
                running.add_metric([self.entity, name], sum(
                    n for (q, state, _), n in counts.items() if q == queue_id and state in ACTIVE))
        return [queued, running]

    def _families(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily("relaunch_queue_queued_jobs", "Jobs queued in the queue, "
                                  "by priority (from the store)",
                                  labels=["entity", "queue", "priority"]),
                GaugeMetricFamily("relaunch_queue_running_jobs", "Jobs claimed to running "
                                  "in the queue, by every agent (from the store)",
                                  labels=["entity", "queue"])]

    def _read(self) -> dict[tuple[int, str, int], int] | None:
        with self._lock:
            if time.monotonic() - self._read_at >= self.cache_seconds:
                try:
                    self._counts = open_counts(self.store, list(self.names))
                except Exception as exc:
                    self.log.warning("metrics: could not read the queue gauges: %s",
                                     one_line(exc))
                    self._counts = None
                self._read_at = time.monotonic()
            return self._counts


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """No line per scrape."""


def bind_metrics(host: str, port: int, app: Any) -> WSGIServer:
    """A server listening on ``host:port`` (not serving yet). Raises InvalidInput
    naming the flag and key when it cannot: the port in use, a host not of this
    machine, a port below 1024 without the right to it."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                    flags=socket.AI_PASSIVE)[0][0]
        server_class = type("MetricsServer", (ThreadingWSGIServer,),
                            {"address_family": family})
        return make_server(host, port, app, server_class, handler_class=_QuietHandler)
    except OSError as exc:
        raise InvalidInput(f"--metrics-port/metrics_port: cannot serve /metrics on "
                           f"{host}:{port}: {exc.strerror or one_line(exc)}") from None


def check_metrics_address(host: str, port: int) -> None:
    """Raise InvalidInput (as ``bind_metrics``) unless ``host:port`` can be listened on
    now: the CLI's check before Prefect starts, so a port in use is a quick exit 2."""
    bind_metrics(host, port, make_wsgi_app(CollectorRegistry())).server_close()
