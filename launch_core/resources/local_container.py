"""``local-container``: ``docker run`` on the agent's Docker daemon (Docker SDK)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from launch_core.errors import InvalidInput
from launch_core.resources.base import (
    JobContext,
    Options,
    Resource,
    RunRef,
    RunStatus,
)
from launch_core.resources.logfile import read_log_file


class LocalContainerOptions(Options):
    """The ``docker run`` options a queue may set (dashes or underscores)."""

    cpus: float | None = Field(default=None, gt=0)
    memory: str | int | None = None
    gpus: int | Literal["all"] | None = None
    shm_size: str | int | None = None
    env: dict[str, Any] = {}
    workdir: str | None = None
    ulimits: dict[str, int] = {}
    network: Literal["none", "host"] = "none"
    labels: dict[str, Any] = {}
    user: str | None = None


def _normalise(config: dict[str, Any]) -> dict[str, Any]:
    return {str(k).replace("-", "_"): v for k, v in config.items()}


class LocalContainerResource(Resource):
    """Each run is a detached container named after the run (``relaunch-<run id>``),
    labelled with its item and run ids. Created, then started: a second submit of
    the same run finds the container and starts nothing new."""

    name = "local-container"
    options = LocalContainerOptions
    runs_on_agent_host = True

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def parse_options(self, config: dict[str, Any]) -> Any:
        return super().parse_options(_normalise(config))

    def submit(self, job: JobContext) -> dict[str, Any]:
        import docker

        if not job.image:
            raise InvalidInput("local-container: the job has no image")
        existing = self.find(job.ref)
        if existing is not None:
            return existing
        self._ensure_image(job.image, job.pull_auth)
        try:
            self._docker().containers.create(job.image, **self._run_options(job))
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
        env = {**{str(k): str(v) for k, v in options.env.items()}, **job.env}
        job.run_dir.mkdir(parents=True, exist_ok=True)
        run: dict[str, Any] = {
            "name": job.ref.name, "command": job.args or None, "environment": env,
            "network_mode": options.network,
            "labels": {**{str(k): str(v) for k, v in options.labels.items()},
                       "relaunch.item": str(job.item_id), "relaunch.run": job.run_id},
        }
        if job.entry_point:
            run["entrypoint"] = job.entry_point
        if options.cpus is not None:
            run["nano_cpus"] = int(options.cpus * 1e9)
        if options.memory is not None:
            run["mem_limit"] = options.memory
        if options.shm_size is not None:
            run["shm_size"] = options.shm_size
        if options.workdir is not None:
            run["working_dir"] = options.workdir
        if options.user is not None:
            run["user"] = options.user
        if options.gpus is not None:
            count = -1 if options.gpus in ("all", -1) else int(options.gpus)
            run["device_requests"] = [docker.types.DeviceRequest(count=count,
                                                                 capabilities=[["gpu"]])]
        if options.ulimits:
            run["ulimits"] = [docker.types.Ulimit(name=n, soft=v, hard=v)
                              for n, v in options.ulimits.items()]
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
        import docker

        try:
            container = self._docker().containers.get(handle["container_id"])
        except docker.errors.NotFound:
            return RunStatus("failed", None, "container disappeared before its result "
                             "was recorded")
        state = container.attrs["State"]
        if state.get("Status") in ("created", "running", "restarting", "paused"):
            return RunStatus("running")
        code = int(state.get("ExitCode", 1))
        if code == 0:
            return RunStatus("finished", 0)
        reason = "out of memory" if state.get("OOMKilled") else f"exit code {code}"
        return RunStatus("failed", code, reason)

    def read_logs(self, handle: dict[str, Any], offset: int) -> tuple[str, int]:
        import docker

        try:
            data = self._docker().containers.get(handle["container_id"]).logs(
                stdout=True, stderr=True)
        except docker.errors.NotFound:  # removed: its output was saved by cleanup()
            return read_log_file(handle["log"], offset) if "log" in handle else ("", offset)
        return data[offset:].decode("utf-8", errors="replace"), len(data)

    def cancel(self, handle: dict[str, Any], timeout: float) -> None:
        import docker

        with contextlib.suppress(docker.errors.NotFound):
            self._docker().containers.get(handle["container_id"]).stop(timeout=int(timeout))

    def cleanup(self, handle: dict[str, Any]) -> None:
        """Save the container's output to the run's log file, then remove it."""
        import docker

        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container = self._docker().containers.get(handle["container_id"])
            if "log" in handle:
                Path(handle["log"]).write_bytes(container.logs(stdout=True, stderr=True))
            container.remove(force=True)

    def _docker(self) -> Any:
        if self._client is None:
            import docker

            self._client = docker.from_env()
        return self._client
