"""The Python API: what the CLI does, importable. No Prefect import here."""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launch_core.backends.checks import check_job_config, check_queue_config
from launch_core.backends.demand import counting_resource, gpus_of
from launch_core.errors import CodeTooLarge, InvalidInput
from launch_core.pipeline.workspace import check_job_uri
from launch_core.spec.agent_config import env_setting
from launch_core.spec.inputs import parse_model
from launch_core.spec.launch_request import LaunchRequest
from launch_core.spec.launch_spec import resource_args_for
from launch_core.spec.macros import enqueue_macros, fill_macros
from launch_core.spec.models import LaunchSpec, QueueDefinition
from launch_core.spec.resolve import check_resource_args_allowed, resolve_both
from launch_core.spec.templating import check_filled_values, resolve_values
from launch_core.store import QueueItem, QueueRecord, QueueStore
from launch_core.store.blobs import DEFAULT_MAX_CODE_BYTES, blob_digest, pack_directory


def default_entity() -> str:
    """RELAUNCH_ENTITY, else W&B's WANDB_ENTITY, else the user name."""
    named = env_setting("entity")
    return named[1] if named else getpass.getuser()


def open_store(url: str | None = None) -> QueueStore:
    """The queue store at ``url`` (else RELAUNCH_DATABASE_URL, else the SQLite file)."""
    return QueueStore(url)


def create_queue(store: QueueStore, name: str, resource: str, *, entity: str | None = None,
                 source: str = "queue", **fields: Any) -> QueueRecord:
    """Validate and store a new queue. Raises InvalidInput (naming ``source``) or Conflict."""
    data = {"entity": entity or default_entity(), "name": name, "resource": resource, **fields}
    definition = parse_model(QueueDefinition, data, source)
    _checked(check_queue_config, definition, source)
    return store.create_queue(definition)


def update_queue(store: QueueStore, name: str, *, entity: str | None = None,
                 source: str = "queue", **changes: Any) -> QueueRecord:
    """Change a queue; the result is re-validated (templates, variables) as a whole.

    Raises NotFound, or InvalidInput naming the field (nothing is written then).
    """
    try:
        return store.update_queue(entity or default_entity(), name, check=check_queue_config,
                                  **changes)
    except InvalidInput as exc:
        raise InvalidInput(str(exc).replace("queue update", source, 1)) from None


def check_launch(queue: QueueDefinition, spec: LaunchSpec) -> dict[str, Any]:
    """Validate a spec against a queue's guardrails; return the rendered config.

    Checks the priority, the template values (type, bounds, enum, pattern; again with
    the macros known now filled in, see macros.enqueue_macros), the resource_args rule
    and the resource's own checks (options, guardrails). Macros stay unfilled in the
    config returned (the agent fills them). Raises InvalidInput / TemplateError naming
    the variable or flag.
    """
    return _check_launch(queue, spec)[0]


def _check_launch(queue: QueueDefinition, spec: LaunchSpec
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``check_launch``'s config, and the typed template values it resolved once."""
    if spec.priority != "medium" and not queue.prioritization:
        raise InvalidInput(f"-P/--priority: queue {queue.name!r} has no prioritization; "
                           "only the default priority (medium) is allowed")
    check_resource_args_allowed(queue, spec)  # refused before the values, as always
    values = resolve_values(queue.template_variables, spec.template_values)
    config, reference = resolve_both(queue, spec, values=values)
    check_filled_values(queue.template_variables, fill_macros(values, enqueue_macros(queue, spec)))
    check_job_config(queue, config, reference=reference)
    return config, values


def _checked(check: Any, definition: QueueDefinition, source: str) -> None:
    try:
        check(definition)
    except InvalidInput as exc:
        raise InvalidInput(f"{source}: config: {exc}") from None


@dataclass(frozen=True)
class PreparedLaunch:
    """A validated launch, not yet stored: what ``--dry-run`` shows."""

    queue: QueueRecord
    spec: LaunchSpec
    resource_config: dict[str, Any]
    code_blob: bytes | None
    # Every template variable's typed value (given or default), resolved once.
    template_values: dict[str, Any] | None = None


def prepare_launch(store: QueueStore, queue_name: str, fields: Mapping[str, Any], *,
                   entity: str | None = None, code_dir: Path | None = None,
                   max_code_bytes: int = DEFAULT_MAX_CODE_BYTES,
                   upload: bool = False,
                   git_schemes: Sequence[str] | None = None) -> PreparedLaunch:
    """``prepare_request`` for a LaunchRequest of ``fields``, ``entity``, ``code_dir``."""
    return prepare_request(store, queue_name, LaunchRequest(fields, entity, code_dir),
                           max_code_bytes=max_code_bytes, upload=upload,
                           git_schemes=git_schemes)


def prepare_request(store: QueueStore, queue_name: str, request: LaunchRequest, *,
                    max_code_bytes: int = DEFAULT_MAX_CODE_BYTES, upload: bool = False,
                    git_schemes: Sequence[str] | None = None) -> PreparedLaunch:
    """Validate a launch request against its queue without writing anything.

    The request's ``code_dir`` is packed into a content-addressed tarball; past
    ``max_code_bytes``, into the code store RELAUNCH_CODE_STORE names (sent there only
    with ``upload``, see code_store.py). A git ``uri`` is checked as the agent checks
    it, with ``git_schemes`` as its ``allow_git_schemes`` (default: the launch config's
    on this host), and must hold no credentials.
    A ``code`` digest given without ``code_dir`` must name a tarball the queue's
    entity uploaded. Raises NotFound, InvalidInput, TemplateError.
    """
    fields = request.given()
    project = env_setting("project")  # RELAUNCH_PROJECT, else WANDB_PROJECT
    if project and not fields.get("project"):
        fields["project"] = project[1]
    queue = store.get_queue(request.entity or default_entity(), queue_name)
    fields = _for_queue(fields, queue.definition)
    blob = None
    if request.code_dir is not None:
        blob, fields["code"] = _pack_code(request.code_dir, max_code_bytes, upload)
    spec = parse_model(LaunchSpec, fields, "launch")
    if spec.uri is not None:  # refused now, as the agent would refuse it
        check_job_uri(spec.uri, _git_schemes() if git_schemes is None else list(git_schemes))
    if blob is None:  # a digest given as is: it must be code this entity uploaded
        store.check_code_owner(queue.entity, spec.code)
    config, typed = _check_launch(queue.definition, spec)
    # Store the values the submitter gave, typed; defaults apply at dequeue time.
    given = {name: typed[name] for name in spec.template_values}
    spec = spec.model_copy(update={"template_values": given})
    return PreparedLaunch(queue, spec, config, blob, typed)


def _git_schemes() -> list[str]:
    """The git URL schemes an agent with this host's launch config allows besides
    https, ssh and scp-style (``allow_git_schemes``)."""
    from launch_core.spec.agent_config import load_agent_config

    return load_agent_config()[0].allow_git_schemes


def _pack_code(code_dir: Path, max_bytes: int, upload: bool) -> tuple[bytes | None, str]:
    """(tarball for the blob table, its digest), or (None, the code store object's URI)
    for code past ``max_bytes`` when RELAUNCH_CODE_STORE names a store."""
    from launch_core.storage.code_store import CODE_STORE_ENV, code_store, store_code

    try:
        blob = pack_directory(code_dir, max_bytes)
    except CodeTooLarge as exc:
        target = code_store()
        if target is None:
            raise CodeTooLarge(f"{exc}; set {CODE_STORE_ENV} to an s3:// or gs:// "
                               "store to keep larger code there") from None
        return None, store_code(code_dir, target, upload=upload)
    return blob, blob_digest(blob)


def _for_queue(fields: dict[str, Any], queue: QueueDefinition) -> dict[str, Any]:
    """``fields`` with the resource checked and resource_args for the queue's resource."""
    fields = dict(fields)
    resource = fields.pop("resource", None)
    if resource is not None and resource != queue.resource:
        raise InvalidInput(f"resource: queue {queue.name!r} runs on {queue.resource}, "
                           f"not {resource}")
    if "resource_args" in fields:
        if not isinstance(fields["resource_args"], dict):
            raise InvalidInput("resource_args: expected a mapping keyed by resource")
        fields["resource_args"] = resource_args_for(fields["resource_args"],
                                                    queue.resource, queue.name)
    return fields


def launch_gpus(prepared: PreparedLaunch) -> int:
    """The GPUs one run of ``prepared`` takes, as its queue's resource counts them in
    the rendered config (macros not yet filled count 0)."""
    resource = counting_resource(prepared.queue.definition.resource)
    return gpus_of(resource, prepared.resource_config)


def launch(store: QueueStore, queue_name: str, fields: Mapping[str, Any], *,
           entity: str | None = None, code_dir: Path | None = None,
           max_code_bytes: int = DEFAULT_MAX_CODE_BYTES) -> QueueItem:
    """Validate and enqueue a job (see ``prepare_launch``); one transaction."""
    return enqueue(store, queue_name, LaunchRequest(fields, entity, code_dir),
                   max_code_bytes=max_code_bytes)


def enqueue(store: QueueStore, queue_name: str, request: LaunchRequest, *,
            max_code_bytes: int = DEFAULT_MAX_CODE_BYTES, after: Sequence[int] = ()
            ) -> QueueItem:
    """Validate and enqueue a launch request (see ``prepare_request``); one
    transaction. The item records the GPUs its resource counts in the job's config
    (``Resource.demand``), which quotas and agents' GPU slots count. ``after``: jobs
    it waits for (``launch --after``, see ``QueueStore.enqueue``)."""
    return enqueue_array(store, queue_name, request, None, max_code_bytes=max_code_bytes,
                         after=after)[0]


def enqueue_array(store: QueueStore, queue_name: str, request: LaunchRequest,
                  indices: Sequence[int] | None, *,
                  max_code_bytes: int = DEFAULT_MAX_CODE_BYTES, after: Sequence[int] = ()
                  ) -> list[QueueItem]:
    """``enqueue``, one job per array index of ``indices`` (``launch --array``), all in
    one new group and one transaction; None: one job in no array."""
    prepared = prepare_request(store, queue_name, request, max_code_bytes=max_code_bytes,
                               upload=True)
    gpus = launch_gpus(prepared)
    try:
        if indices is None:
            return [store.enqueue(prepared.queue, prepared.spec, code_blob=prepared.code_blob,
                                  gpus=gpus, after=after)]
        return store.enqueue_array(prepared.queue, prepared.spec, indices,
                                   code_blob=prepared.code_blob, gpus=gpus, after=after)
    except BaseException:
        from launch_core.storage.code_store import delete_code, is_stored_code

        if request.code_dir is not None and is_stored_code(prepared.spec.code):
            delete_code(str(prepared.spec.code))  # nothing half-written
        raise
