"""``vertex``: each run is a Vertex AI CustomJob (google-cloud-aiplatform's JobService
client over REST). Where the jobs go (project, location, API endpoint, credentials) is
the agent's: ``find`` knows only the run, so it comes from the agent's environment."""

from __future__ import annotations

import ipaddress
import os
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launch_core.backends.resource import JobContext, Resource, RunRef, RunStatus
from launch_core.backends.vertex.demand import custom_job_gpus
from launch_core.backends.vertex.request import (
    VertexOptions,
    check_pools,
    custom_job_body,
    label_value,
    to_proto,
)
from launch_core.backends.vertex.schema import check_custom_job
from launch_core.errors import ConfigError, InvalidInput
from launch_core.spec.guardrails import Finding, Guard, at_paths

# The agent's settings, relaunch's variable first (the first one set wins).
ENDPOINT_ENV = "RELAUNCH_VERTEX_ENDPOINT"  # e.g. http://127.0.0.1:8089 for a local fake
BLOCK_ENV = "RELAUNCH_VERTEX_CREDENTIALS_BLOCK"  # a prefect-gcp GcpCredentials block
POLL_ENV = "RELAUNCH_VERTEX_POLL_SECONDS"  # seconds between two status checks
PROJECT_ENV = ("RELAUNCH_VERTEX_PROJECT", "GOOGLE_CLOUD_PROJECT")
LOCATION_ENV = ("RELAUNCH_VERTEX_LOCATION", "GOOGLE_CLOUD_REGION", "CLOUD_ML_REGION")
DEFAULT_LOCATION = "us-central1"  # google-cloud-aiplatform's default
CONSOLE = "https://console.cloud.google.com"
_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
_RUNNING = {"JOB_STATE_QUEUED": "queued", "JOB_STATE_PENDING": "pending",
            "JOB_STATE_RUNNING": "running", "JOB_STATE_UPDATING": "updating",
            "JOB_STATE_PAUSED": "paused", "JOB_STATE_UNSPECIFIED": "state not reported yet"}
_FAILED = {"JOB_STATE_CANCELLING": "cancelled", "JOB_STATE_CANCELLED": "cancelled",
           "JOB_STATE_EXPIRED": "expired: not started within run.max_wait_duration",
           "JOB_STATE_PARTIALLY_SUCCEEDED": "partially succeeded"}


@dataclass(frozen=True)
class VertexSettings:
    """Where the agent's CustomJobs go."""

    project: str | None
    location: str
    endpoint: str
    block: str | None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> VertexSettings:
        env = dict(os.environ if environ is None else environ)
        location = _first(env, LOCATION_ENV) or DEFAULT_LOCATION
        endpoint = env.get(ENDPOINT_ENV) or f"https://{location}-aiplatform.googleapis.com"
        return cls(_first(env, PROJECT_ENV), location, endpoint, env.get(BLOCK_ENV) or None)

    @property
    def plain_http(self) -> bool:
        """An ``http://`` endpoint; allowed on loopback only (a local fake or proxy)."""
        if not self.endpoint.startswith("http://"):
            return False
        host = urllib.parse.urlsplit(self.endpoint).hostname or ""
        if host != "localhost" and not _loopback(host):
            raise ConfigError(f"{ENDPOINT_ENV}: plain http is for loopback hosts only, "
                              f"not {host!r}")
        return True


# Guarded fields (launch_core.spec.guardrails): as whom and on which network a CustomJob
# runs, and the admin's reserved resources and keys, are the admin's.
_GUARDS = {
    "service_account": Guard("the service account the CustomJob runs as"),
    "network": Guard("the VPC network the CustomJob joins"),
    "persistent_resource_id": Guard("a persistent resource"),
    "encryption_spec_key_name": Guard("the encryption key"),
}
_find_guarded = at_paths({
    ("run", "service_account"): "service_account", ("run", "network"): "network",
    ("spec", "persistent_resource_id"): "persistent_resource_id",
    ("spec", "encryption_spec_key_name"): "encryption_spec_key_name"})


class VertexResource(Resource):
    """CustomJobs named (display name) and labelled after the run; ``find`` lists them
    by that name and label, as Vertex assigns the ids. The staging bucket is the base
    output directory's root; nothing is uploaded (the job is its image)."""

    name = "vertex"
    options = VertexOptions
    # A cloud API: a status check every few seconds is plenty (API quotas).
    poll_interval = float(os.environ.get(POLL_ENV) or 5.0)

    guards = _GUARDS

    def guard_findings(self, config: Any) -> list[Finding]:
        return list(_find_guarded(config))

    def demand(self, config: dict[str, Any]) -> dict[str, int]:
        """Accelerators × replicas over the worker pools (``vertex.demand``)."""
        return {"gpus": custom_job_gpus(config)}

    def __init__(self, settings: VertexSettings | None = None) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._client: tuple[Any, str] | None = None  # (JobServiceClient, project)

    def validate(self, config: dict[str, Any], queue: Any = None) -> None:
        """The options, then the CustomJob they make against the API's schema (an
        unknown or misspelt field is named; from a table of it, without importing the
        client), then the keys each worker pool needs."""
        options: VertexOptions = self.parse_options(config)
        example = JobContext(run_id="example", item_id=0, entry_point=["sh"], args=[],
                             env={}, config=config, run_dir=Path("."), workdir=None,
                             image="example")
        check_custom_job(custom_job_body(options, example))
        check_pools(options.spec)

    def request(self, job: JobContext) -> dict[str, Any]:
        """The CustomJob body ``submit`` creates (``--dry-run`` prints it)."""
        options: VertexOptions = self.parse_options(job.config)
        check_pools(options.spec)
        return custom_job_body(options, job)

    def submit(self, job: JobContext) -> dict[str, Any]:
        """Create the run's CustomJob unless ``find`` finds it; its handle."""
        if not job.image:
            raise InvalidInput("vertex: the job has no image (use -d IMAGE or a builder)")
        existing = self.find(job.ref)
        if existing is not None:
            return existing
        custom_job = to_proto(self.request(job))
        client, project = self._connect()
        parent = f"projects/{project}/locations/{self.settings.location}"
        return self._handle(client.create_custom_job(parent=parent, custom_job=custom_job))

    def find(self, ref: RunRef) -> dict[str, Any] | None:
        """The CustomJob named ``ref.name`` with the run's label, if one was created."""
        client, project = self._connect()
        query = (f'display_name="{ref.name}" AND '
                 f'labels.relaunch-run="{label_value(ref.run_id)}"')
        parent = f"projects/{project}/locations/{self.settings.location}"
        for found in client.list_custom_jobs(request={"parent": parent, "filter": query}):
            return self._handle(found)
        return None

    def status(self, handle: dict[str, Any]) -> RunStatus:
        """The CustomJob's state; the API unreachable or busy for now says running."""
        import requests
        from google.api_core import exceptions

        client, _ = self._connect()
        try:
            found = client.get_custom_job(name=handle["name"])
        except exceptions.NotFound:
            return RunStatus("failed", None, "the CustomJob disappeared before its result "
                             "was recorded")
        except (exceptions.ServerError, exceptions.TooManyRequests,
                requests.ConnectionError) as exc:
            return RunStatus("running", None, f"vertex API: {type(exc).__name__}")
        state = found.state.name
        if state == "JOB_STATE_SUCCEEDED":
            return RunStatus("finished", 0)
        if state == "JOB_STATE_FAILED":
            return RunStatus("failed", None, found.error.message or "the CustomJob failed")
        if state in _FAILED:
            return RunStatus("failed", None, _FAILED[state])
        return RunStatus("running", None, _RUNNING.get(state, state.lower()))

    def read_logs(self, handle: dict[str, Any], offset: int) -> tuple[str, int]:
        """One line with the Cloud Logging link (its output is there, not here)."""
        if offset > 0:
            return "", offset
        return f"vertex: the job's output is in Cloud Logging: {handle['logs_url']}\n", 1

    def cancel(self, handle: dict[str, Any], timeout: float) -> None:
        """CancelCustomJob; Vertex stops it on its side (a job already ended is left)."""
        from google.api_core import exceptions

        client, _ = self._connect()
        try:
            client.cancel_custom_job(name=handle["name"])
        except (exceptions.NotFound, exceptions.FailedPrecondition):
            pass

    @property
    def settings(self) -> VertexSettings:
        return self._settings or VertexSettings.from_env()

    def _handle(self, job: Any) -> dict[str, Any]:
        _, project, _, location, _, job_id = job.name.split("/")
        pools = [p for p in job.job_spec.worker_pool_specs if p.container_spec.image_uri]
        query = urllib.parse.quote(f'resource.type="ml_job" resource.labels.job_id="{job_id}"')
        return {"name": job.name, "display_name": job.display_name,
                "image": pools[0].container_spec.image_uri if pools else None,
                "console_url": f"{CONSOLE}/vertex-ai/locations/{location}/training/"
                               f"{job_id}?project={project}",
                "logs_url": f"{CONSOLE}/logs/query;query={query}?project={project}"}

    def _connect(self) -> tuple[Any, str]:
        """The JobService client and the project (made once per resource)."""
        with self._lock:
            if self._client is None:
                self._client = _make_client(self.settings)
            return self._client


def _make_client(settings: VertexSettings) -> tuple[Any, str]:
    from google.cloud import aiplatform_v1

    credentials, project = _credentials(settings)
    project = settings.project or project
    if not project:
        raise ConfigError(f"vertex: no GCP project: set {PROJECT_ENV[0]} on the agent")
    client = aiplatform_v1.JobServiceClient(
        credentials=credentials, transport="rest",
        client_options={"api_endpoint": settings.endpoint})
    return client, project


def _credentials(settings: VertexSettings) -> tuple[Any, str | None]:
    """A GcpCredentials block's (``RELAUNCH_VERTEX_CREDENTIALS_BLOCK``), else none for
    a plain-http loopback endpoint (a token never travels in clear), else
    application-default credentials."""
    if settings.block:
        from launch_core.backends.credentials import load_block

        block = load_block("prefect_gcp:GcpCredentials", settings.block, setting=BLOCK_ENV,
                           extra="gcp")
        return block.get_credentials_from_service_account(), block.project
    if settings.plain_http:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials(), None  # type: ignore[no-untyped-call]
    import google.auth

    credentials, project = google.auth.default(scopes=_SCOPES)
    return credentials, project


def _first(env: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((env[name] for name in names if env.get(name)), None)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

