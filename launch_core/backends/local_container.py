"""``local-container``: ``docker run`` on the agent's Docker daemon (Docker SDK)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from launch_core.backends.container_gpus import device_request, parse_gpus, quota_gpus
from launch_core.backends.logfile import read_log_file
from launch_core.backends.resource import (
    JobContext,
    Options,
    Resource,
    RunRef,
    RunStatus,
)
from launch_core.errors import InvalidInput
from launch_core.private_files import open_private, private_dir
from launch_core.spec.failure_class import OOM
from launch_core.spec.guardrails import ADMIN, KEPT, Finding, Guard, at_paths


class LocalContainerOptions(Options):
    """The ``docker run`` options a queue may set (dashes or underscores, as in W&B's
    queue configs; W&B's short forms ``e``, ``m`` and ``w`` too)."""

    cpus: float | None = Field(default=None, gt=0)
    cpu_shares: int | None = Field(default=None, gt=0)
    cpu_period: int | None = Field(default=None, gt=0)
    cpu_quota: int | None = Field(default=None, gt=0)
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    memory: str | int | None = None
    memory_reservation: str | int | None = None
    memory_swap: str | int | None = None
    # docker run's --gpus: a count (-1: all), "all", "count=N" or "device=ID[,ID...]"
    gpus: int | str | None = None
    shm_size: str | int | None = None
    pids_limit: int | None = Field(default=None, ge=-1)  # -1: unlimited
    env: dict[str, Any] | list[str] = {}  # a mapping, or W&B's list of KEY=VALUE
    workdir: str | None = None
    ulimits: dict[str, int] = {}  # name: limit (soft and hard)
    ulimit: str | list[str] = []  # docker run's (and W&B's) form: "nofile=1024[:2048]"
    # No network unless the queue asks: "host", or "bridge" (docker's and W&B's default).
    network: Literal["none", "host", "bridge"] = "none"
    # W&B's docs pass docker run's --rm: relaunch removes every run's container once its
    # output is saved (cleanup), so only that value is accepted.
    rm: Literal[True] = True
    labels: dict[str, Any] = {}
    user: str | None = None

    @field_validator("env")
    @classmethod
    def _check_env(cls, value: dict[str, Any] | list[str]) -> dict[str, Any] | list[str]:
        for entry in value if isinstance(value, list) else []:
            if not _ENV_ENTRY.match(entry):
                raise _refused(f"{entry[:40]!r} is not KEY=VALUE (a container gets "
                               "nothing from the agent's environment)")
        return value

    @field_validator("gpus")
    @classmethod
    def _check_gpus(cls, value: int | str | None) -> int | str | None:
        try:
            parse_gpus(value)
        except ValueError as exc:
            raise _refused(str(exc)) from None
        return value

    @field_validator("ulimit")
    @classmethod
    def _check_ulimit(cls, value: str | list[str]) -> str | list[str]:
        for entry in [value] if isinstance(value, str) else value:
            try:
                parse_ulimit(entry)
            except ValueError as exc:
                raise _refused(str(exc)) from None
        return value

    def all_ulimits(self) -> dict[str, tuple[int, int]]:
        """Every ulimit asked for, by name: (soft, hard); ``ulimit`` wins over ``ulimits``."""
        limits = {name: (limit, limit) for name, limit in self.ulimits.items()}
        entries = [self.ulimit] if isinstance(self.ulimit, str) else self.ulimit
        limits.update(parse_ulimit(entry) for entry in entries)
        return limits


_ENV_ENTRY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*=.*", re.DOTALL)
_ULIMIT = re.compile(r"([a-z]+)=(-?[0-9]+)(?::(-?[0-9]+))?")
_SHORT_NAMES = {"e": "env", "m": "memory", "w": "workdir"}
# Options passed to the Docker SDK unchanged but for their name.
_SDK_NAMES = {
    "cpu_shares": "cpu_shares", "cpu_period": "cpu_period", "cpu_quota": "cpu_quota",
    "cpuset_cpus": "cpuset_cpus", "cpuset_mems": "cpuset_mems", "memory": "mem_limit",
    "memory_reservation": "mem_reservation", "memory_swap": "memswap_limit",
    "shm_size": "shm_size", "pids_limit": "pids_limit", "workdir": "working_dir",
    "user": "user",
}


def _refused(reason: str) -> PydanticCustomError:
    """A validation error whose message is ``reason`` alone (no "Value error, ")."""
    return PydanticCustomError("option_value", "{reason}", {"reason": reason})


def parse_ulimit(entry: str) -> tuple[str, tuple[int, int]]:
    """``name=soft[:hard]`` as (name, (soft, hard)). Raises ValueError."""
    match = _ULIMIT.fullmatch(entry.strip())
    if match is None:
        raise ValueError(f"{entry[:40]!r} is not name=soft[:hard] (e.g. nofile=1024:2048)")
    soft = int(match.group(2))
    return match.group(1), (soft, int(match.group(3) or soft))


def _normalise(config: dict[str, Any]) -> dict[str, Any]:
    named = {str(k).strip().lstrip("-").replace("-", "_"): v for k, v in config.items()}
    return {_SHORT_NAMES.get(k, k): v for k, v in named.items()}


# Guarded options (launch_core.spec.guardrails). Where the container reaches and as whom,
# and what it gets beyond a plain container, are the admin's; a limit the admin set
# stays (a job may add one where there is none). Privileged mode, devices, volumes and
# capabilities are no options at all.
_GUARDS = {
    "network": Guard("the container's network", ADMIN, narrows=lambda v: v == "none"),
    "user": Guard("the user the container runs as"),
    **{name: Guard(what, KEPT) for name, what in (
        ("gpus", "the host's GPUs"), ("shm_size", "the shared-memory size"),
        ("cpu_shares", "the CPU weight"), ("memory_swap", "the swap limit"),
        ("ulimits", "resource limits (ulimits)"), ("ulimit", "resource limits (ulimit)"))},
    **{name: Guard(f"the {name.replace('_', ' ')} limit", KEPT, may_add=True) for name in (
        "cpus", "cpu_period", "cpu_quota", "cpuset_cpus", "cpuset_mems", "memory",
        "memory_reservation", "pids_limit")},
}
_find_guarded = at_paths({(name,): name for name in _GUARDS})


class LocalContainerResource(Resource):
    """Each run is a detached container named after the run (``relaunch-<run id>``),
    labelled with its item and run ids. Created, then started: a second submit of
    the same run finds the container and starts nothing new."""

    name = "local-container"
    options = LocalContainerOptions
    runs_on_agent_host = True

    def __init__(self, client: Any = None) -> None:
        self._client = client

    guards = _GUARDS

    def parse_options(self, config: dict[str, Any]) -> Any:
        return super().parse_options(_normalise(config))

    def guard_view(self, config: dict[str, Any]) -> dict[str, Any]:
        return _normalise(config)

    def guard_findings(self, config: Any) -> list[Finding]:
        return list(_find_guarded(config))

    def demand(self, config: dict[str, Any]) -> dict[str, int]:
        """The ``gpus`` option's count: ``n``, the devices named, 1 for ``all``
        (``container_gpus``)."""
        return {"gpus": quota_gpus(_normalise(config).get("gpus"))}

    def submit(self, job: JobContext) -> dict[str, Any]:
        import docker

        if not job.image:
            raise InvalidInput("local-container: the job has no image")
        existing = self.find(job.ref)
        if existing is not None:
            return existing
        run = self._run_options(job)  # refused before anything is pulled
        self._ensure_image(job.image, job.pull_auth)
        try:
            self._docker().containers.create(job.image, **run)
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: the name exists, another submit was first
                raise
        handle = self.find(job.ref)
        if handle is None:
            raise InvalidInput(f"local-container: container {job.ref.name} vanished")
        return handle

    def find(self, ref: RunRef) -> dict[str, Any] | None:
        """The run's container, started if an earlier submit only created it."""
        import docker

        try:
            container = self._docker().containers.get(ref.name)
        except docker.errors.NotFound:
            return None
        if container.status == "created":
            container.start()
        return {"container_id": container.id, "name": ref.name,
                "image": container.attrs["Config"]["Image"],
                "log": str(ref.run_dir / "output.log")}

    def _run_options(self, job: JobContext) -> dict[str, Any]:
        import docker

        options = self.parse_options(job.config)
        private_dir(job.run_dir)
        run: dict[str, Any] = {
            # job.env holds the queue's env option already (launch_core.pipeline.workspace.job_env)
            "name": job.ref.name, "command": job.args or None, "environment": job.env,
            "network_mode": options.network,
            "labels": {**{str(k): str(v) for k, v in options.labels.items()},
                       "relaunch.item": str(job.item_id), "relaunch.run": job.run_id},
        }
        run.update({sdk: getattr(options, name) for name, sdk in _SDK_NAMES.items()
                    if getattr(options, name) is not None})
        if job.entry_point:
            run["entrypoint"] = job.entry_point
        if options.cpus is not None:
            run["nano_cpus"] = int(options.cpus * 1e9)
        try:  # the agent's devices for the run, when it shares out GPUs
            gpus = device_request(options.gpus, job.gpu_devices)
        except ValueError as exc:
            raise InvalidInput(f"local-container: option 'gpus': {exc}") from None
        if gpus is not None:
            run["device_requests"] = [docker.types.DeviceRequest(**gpus)]
        if ulimits := options.all_ulimits():
            run["ulimits"] = [docker.types.Ulimit(name=name, soft=soft, hard=hard)
                              for name, (soft, hard) in ulimits.items()]
        return run

    def _ensure_image(self, image: str, auth: dict[str, str] | None) -> None:
        import docker

        client = self._docker()
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            repository, _, tag = image.rpartition(":")
            client.images.pull(repository, tag=tag or "latest", auth_config=auth)

    def status(self, handle: dict[str, Any]) -> RunStatus:
        """The container's state; while the Docker daemon does not answer (restarting,
        say), still running: a daemon restart does not fail the runs it watches."""
        import docker

        try:
            container = self._docker().containers.get(handle["container_id"])
        except docker.errors.NotFound:
            return RunStatus("failed", None, "container disappeared before its result "
                             "was recorded")
        except Exception as exc:  # noqa: BLE001 - sorted by _unreachable
            return RunStatus("running", None, _unreachable(exc))
        state = container.attrs["State"]
        if state.get("Status") in ("created", "running", "restarting", "paused"):
            return RunStatus("running")
        code = int(state.get("ExitCode", 1))
        if code == 0:
            return RunStatus("finished", 0)
        if state.get("OOMKilled"):
            return RunStatus("failed", code, "out of memory", cause=OOM)
        return RunStatus("failed", code, f"exit code {code}")

    def read_logs(self, handle: dict[str, Any], offset: int) -> tuple[str, int]:
        import docker

        try:
            data = self._docker().containers.get(handle["container_id"]).logs(
                stdout=True, stderr=True)
        except docker.errors.NotFound:  # removed: its output was saved by cleanup()
            return read_log_file(handle["log"], offset) if "log" in handle else ("", offset)
        except Exception as exc:  # noqa: BLE001 - daemon away: read on at the next poll
            _unreachable(exc)
            return "", offset
        return data[offset:].decode("utf-8", errors="replace"), len(data)

    def cancel(self, handle: dict[str, Any], timeout: float) -> None:
        import docker

        with contextlib.suppress(docker.errors.NotFound):
            self._docker().containers.get(handle["container_id"]).stop(timeout=int(timeout))

    def cleanup(self, handle: dict[str, Any]) -> None:
        """Save the container's output to the run's log file, then remove it."""
        import docker
        import requests

        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError,
                                 requests.exceptions.ConnectionError):
            container = self._docker().containers.get(handle["container_id"])
            if "log" in handle:
                with open_private(Path(handle["log"]), append=False) as log:
                    log.write(container.logs(stdout=True, stderr=True))
            container.remove(force=True)

    def _docker(self) -> Any:
        if self._client is None:
            import docker

            self._client = docker.from_env()
        return self._client


def _unreachable(exc: Exception) -> str:
    """What to tell users while the Docker daemon does not answer; anything else is
    raised again."""
    import docker
    import requests

    if isinstance(exc, requests.exceptions.ConnectionError) or (
            isinstance(exc, docker.errors.APIError) and exc.is_server_error()):
        return f"docker daemon unreachable: {type(exc).__name__}"
    raise exc
