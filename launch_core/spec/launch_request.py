"""What a submitter asks to launch, before it meets its queue: the typed request the
CLI builds (flags over a ``-c`` launch spec) and the API validates
(``launch_core.api.prepare_request`` / ``enqueue``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LaunchRequest:
    """A launch request.

    ``fields`` are LaunchSpec fields (None values ignored), with ``resource_args``
    keyed by resource as in W&B (``{"local-process": {...}}``) and an optional
    ``resource`` that must be the queue's. ``entity`` owns the queue (None: the
    default entity). ``code_dir`` is a local directory to pack as the job's code.
    """

    fields: Mapping[str, Any] = field(default_factory=dict)
    entity: str | None = None
    code_dir: Path | None = None

    @property
    def resource(self) -> str | None:
        """The resource the request names, if any."""
        value = self.fields.get("resource")
        return None if value is None else str(value)

    def given(self) -> dict[str, Any]:
        """The fields given (a copy, without None values)."""
        return {k: v for k, v in self.fields.items() if v is not None}
