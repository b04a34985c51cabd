"""``local-container``: ``docker run`` on the agent's Docker daemon (Docker SDK)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from launch_core.errors import InvalidInput
from launch_core.resources.base import JobContext, Resource, RunStatus, read_log_file

# docker run options a queue may set (dashes or underscores); anything else is refused.
_OPTIONS = {"cpus", "memory", "gpus", "shm_size", "env", "workdir", "ulimits", "network",
            "name", "labels", "user"}
_NETWORKS = {"none", "host"}


def _normalise(config: dict[str, Any]) -> dict[str, Any]:
    return {str(k).replace("-", "_"): v for k, v in config.items()}


class LocalContainerResource(Resource):
    """Each run is a detached container labelled with its item and run ids."""

    name = "local-container"

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def validate(self, config: dict[str, Any]) -> None:
        options = _normalise(config)
        for key in options:
            if key not in _OPTIONS:
                raise InvalidInput(f"local-container: option {key!r} is not allowed "
                                   f"(allowed: {', '.join(sorted(_OPTIONS))})")
        if "network" in options and options["network"] not in _NETWORKS:
            raise InvalidInput(f"local-container: network {options['network']!r} is not "
                               f"allowed (allowed: {', '.join(sorted(_NETWORKS))})")
        for key in ("env", "labels", "ulimits"):
            if key in options and not isinstance(options[key], dict):
                raise InvalidInput(f"local-container: option {key!r} must be a mapping")

    def submit(self, job: JobContext) -> dict[str, Any]:
        if not job.image:
            raise InvalidInput("local-container: the job has no image")
        self._ensure_image(job.image, job.pull_auth)
        container = self._docker().containers.run(job.image, **self._run_options(job))
        job.run_dir.mkdir(parents=True, exist_ok=True)
        return {"container_id": container.id, "image": job.image,
                "log": str(job.run_dir / "output.log")}

    def _run_options(self, job: JobContext) -> dict[str, Any]:
        import docker

        options = _normalise(job.config)
        env = {**{str(k): str(v) for k, v in (options.get("env") or {}).items()}, **job.env}
        run: dict[str, Any] = {
            "command": job.args or None, "environment": env, "detach": True,
            "network_mode": options.get("network", "none"),
            "labels": {**{str(k): str(v) for k, v in (options.get("labels") or {}).items()},
                       "relaunch.item": str(job.item_id), "relaunch.run": job.run_id},
        }
        if job.entry_point:
            run["entrypoint"] = job.entry_point
        if "cpus" in options:
            run["nano_cpus"] = int(float(options["cpus"]) * 1e9)
        if "memory" in options:
            run["mem_limit"] = options["memory"]
        if "shm_size" in options:
            run["shm_size"] = options["shm_size"]
        if "workdir" in options:
            run["working_dir"] = options["workdir"]
        if "name" in options:
            run["name"] = options["name"]
        if "user" in options:
            run["user"] = options["user"]
        if "gpus" in options:
            count = -1 if options["gpus"] in ("all", -1) else int(options["gpus"])
            run["device_requests"] = [docker.types.DeviceRequest(count=count,
                                                                 capabilities=[["gpu"]])]
        if "ulimits" in options:
            run["ulimits"] = [docker.types.Ulimit(name=n, soft=int(v), hard=int(v))
                              for n, v in options["ulimits"].items()]
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
