"""Building and pushing a job's image: the pipeline's build-image and
push-to-registry stages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from launch_core.backends.builder import (
    DEFAULT_BASE_IMAGE,
    BuildRequest,
    docker_daemon_answers,
    get_builder,
)
from launch_core.backends.registries import Registry, make_registry, registry_class
from launch_core.backends.resource import Resource
from launch_core.errors import ConfigError
from launch_core.pipeline.records import Built, Launch, Resolved
from launch_core.pipeline.watch import RunWatch
from launch_core.pipeline.workspace import prepare_workdir
from launch_core.store.states import BUILDING


class ImageBuild(RunWatch):
    """Part of JobPipeline: fetches the code, builds and pushes the job's image."""

    load_credentials: Callable[[type[Registry], str], Awaitable[Any]] | None

    async def build(self, launch: Launch, resolved: Resolved) -> Built:
        """Fetch the code, then build (or pass through) the job's image; the item goes
        to ``building``."""
        item, resource = launch.item, launch.resource
        await self.writer.transition(item.id, BUILDING, launch.claim)
        registry = await self._registry(resolved)
        workdir = None  # code to build, or the directory a local process runs in
        if item.spec.image is None or not resource.needs_image:
            workdir = await asyncio.to_thread(prepare_workdir, self.store, item,
                                              self.config.allow_git_schemes)
        builder = get_builder(await asyncio.to_thread(self._builder_type, resource))
        request = BuildRequest(
            item=item, resource=resource.name, context=workdir, registry=registry,
            base_image=(resolved.builder.get("base_image") or self.config.builder.base_image
                        or DEFAULT_BASE_IMAGE),
            platform=self.config.builder.platform, log=self.log,
            needs_image=resource.needs_image, settings=self.config.builder)
        result = await asyncio.to_thread(builder.build, request)
        if result.note == "cached":
            await self._note(launch, f"build skipped: {result.image} already exists")
        elif result.built:
            pushed = " and pushed" if result.pushed else ""
            await self._note(launch, f"built{pushed} image {result.image}")
        # An image its builder pushed (kaniko) skips the push stage.
        return Built(result.image, result.built and not result.pushed, registry, workdir)

    def _builder_type(self, resource: Resource) -> str:
        if not resource.needs_image:
            return "noop"  # code runs directly; an image would not be used
        if self.config.builder.type:
            return self.config.builder.type
        return "docker" if docker_daemon_answers() else "noop"

    async def _registry(self, resolved: Resolved) -> Registry:
        """The registry images go to: the queue's ``builder.destination``, else the
        agent's, else its legacy ``registry.uri``; credentials from the block named
        by ``builder.credentials-block``."""
        legacy = self.config.registry
        destination = (resolved.builder.get("destination") or self.config.builder.destination
                       or (legacy.uri if legacy else None))
        kind = legacy.type if legacy and legacy.type else None
        region = self.config.environment.region if self.config.environment else None
        credentials, block = None, self.config.builder.credentials_block
        if destination and block:
            if self.load_credentials is None:
                raise ConfigError("builder.credentials-block: needs a Prefect server to "
                                  "load the block from")
            credentials = await self.load_credentials(registry_class(destination, kind), block)
        return make_registry(destination, kind, credentials=credentials, region=region)

    async def push(self, launch: Launch, built: Built) -> str | None:
        """Push a freshly built image to its registry (retries on transient errors)."""
        if built.image is None or not built.built or not built.registry.pushes:
            return built.image
        import docker

        client = await asyncio.to_thread(docker.from_env)
        await asyncio.to_thread(built.registry.push, client, built.image, self.log)
        await self._note(launch, f"pushed {built.image}")
        return built.image
