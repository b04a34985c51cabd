"""``noop`` builder: no build. Prebuilt images pass through; code and git jobs run
directly on local-process."""

from __future__ import annotations

from launch_core.backends.builder import Builder, BuildRequest, BuildResult
from launch_core.errors import InvalidInput


class NoopBuilder(Builder):
    """Passes a prebuilt image through; builds nothing."""

    name = "noop"

    def build(self, request: BuildRequest) -> BuildResult:
        image = request.item.spec.image
        if image is None and request.needs_image:
            raise InvalidInput(f"builder noop cannot run a code or git job on "
                               f"{request.resource}; use an image (-d) or the docker builder")
        return BuildResult(image, built=False)
