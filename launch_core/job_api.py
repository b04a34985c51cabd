"""The Python API of launch jobs: create a version (``relaunch job create``), turn a
launch naming a job (``-j``) into the launch of its version's recipe, and launch a
past run's spec again (``relaunch job rerun``). No Prefect import here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from launch_core.api import default_entity
from launch_core.errors import CodeTooLarge, InvalidInput, NotFound
from launch_core.pipeline.workspace import check_job_uri
from launch_core.spec.job_inputs import check_run_config
from launch_core.spec.job_refs import check_name, parse_job_ref
from launch_core.spec.launch_request import LaunchRequest
from launch_core.spec.models import TemplateVariable, stays_inside
from launch_core.store import QueueStore
from launch_core.store.blobs import DEFAULT_MAX_CODE_BYTES, blob_digest, pack_directory
from launch_core.store.jobs import CreatedVersion

JOB_FLAG = "-j/--job"
# A launch's fields that name a source: a job brings its own.
SOURCE_FIELDS = {"image": "-d/--docker-image", "uri": "-u/--uri", "code": "--code",
                 "ref": "-g/--git-version", "build_context": "--build-context"}
# What a launch may set over its job's recipe (flags win, as over a -c spec).
OVERRIDES = ("entry_point", "dockerfile", "base_image")


def create_job(store: QueueStore, kind: str, source: str, *, name: str,
               entity: str | None = None, aliases: Sequence[str] = (),
               entry_point: list[str] | None = None, dockerfile: str | None = None,
               base_image: str | None = None, build_context: str | None = None,
               git_hash: str | None = None,
               inputs: Mapping[str, TemplateVariable] | None = None,
               git_schemes: Sequence[str] | None = None) -> CreatedVersion:
    """A new version of ``entity``'s job ``name`` from ``source``: a code directory
    (packed once into a tarball of the entity's, as ``launch --code`` packs it), a git
    URL (at ``git_hash``) or an image. Same content as a version already there: no
    new version, ``aliases`` move to that one. Raises InvalidInput naming the flag,
    with nothing stored."""
    from launch_core.spec.job_recipe import JOB_KINDS, parse_recipe

    if kind not in JOB_KINDS:
        raise InvalidInput(f"KIND: {kind!r} is not one of {', '.join(JOB_KINDS)}")
    check_name(name, "-n/--name")
    if git_hash is not None and kind != "git":
        raise InvalidInput("-g/--git-hash: applies to a git job")
    if build_context is not None and kind == "image":
        raise InvalidInput("-b/--build-context: applies to a code or git job")
    fields: dict[str, Any] = {"kind": kind, "entry_point": entry_point,
                              "dockerfile": dockerfile, "base_image": base_image,
                              "inputs": {key: var.model_dump(mode="json", exclude_none=True)
                                         for key, var in (inputs or {}).items()}}
    blob = None
    if kind == "code":
        blob = _pack(Path(source).expanduser(), build_context)
        fields["code"] = blob_digest(blob)
    elif kind == "git":
        try:
            check_job_uri(source, _git_schemes() if git_schemes is None else list(git_schemes))
        except InvalidInput as exc:
            raise InvalidInput(str(exc).replace("-u/--uri", "SOURCE", 1)) from None
        fields.update(uri=source, ref=git_hash, build_context=build_context)
    else:
        fields["image"] = source
    recipe = parse_recipe({k: v for k, v in fields.items() if v is not None}, "job create")
    return store.create_job_version(entity or default_entity(), name, recipe,
                                    aliases=list(aliases), code_blob=blob)


def _pack(directory: Path, build_context: str | None) -> bytes:
    """The job's code tarball. It stays in the queue store (50 MiB): a code store
    object (RELAUNCH_CODE_STORE) is removed when its run ends, a job's code is not."""
    if build_context is not None:
        if not stays_inside(build_context):
            raise InvalidInput(f"-b/--build-context: {build_context} must be a path inside "
                               "the code")
        directory = directory / build_context
    try:
        return pack_directory(directory, DEFAULT_MAX_CODE_BYTES)
    except CodeTooLarge as exc:
        raise CodeTooLarge(f"{str(exc).replace('--code', 'SOURCE', 1)}; a job's code is "
                           "kept in the queue store, so it must fit") from None
    except InvalidInput as exc:
        raise InvalidInput(str(exc).replace("--code", "SOURCE", 1)) from None


def _git_schemes() -> list[str]:
    from launch_core.spec.agent_config import load_agent_config

    return load_agent_config()[0].allow_git_schemes


def job_request(store: QueueStore, request: LaunchRequest) -> LaunchRequest:
    """``request`` with the job it names (``job``: ``[ENTITY/PROJECT/]NAME[:ALIAS|:vN]``)
    resolved into that version's recipe: its source (the code tarball the version
    names, never uploaded again), entry point, Dockerfile and base image (the
    request's own win), the run config checked against the job's inputs with their
    defaults filled in, the project of the reference when none is given (as W&B), and
    ``job`` set to the version launched (``NAME:vN``). A request naming no job is
    returned as it is. Raises InvalidInput / NotFound naming -j/--job or the key."""
    fields = dict(request.given())
    text = fields.get("job")
    if text is None:
        return request
    ref = parse_job_ref(str(text), JOB_FLAG)
    if ref.entity and request.entity and ref.entity != request.entity:
        raise InvalidInput(f"{JOB_FLAG}: job {text!r} belongs to entity {ref.entity!r}, "
                           f"the launch is in {request.entity!r} (-e): a queue launches "
                           "its own entity's jobs")
    given = [flag for key, flag in SOURCE_FIELDS.items() if key in fields]
    if request.code_dir is not None or given:
        raise InvalidInput(f"{JOB_FLAG}: a job brings its own source; give -j or "
                           f"{', '.join(given) or '--code'}, not both")
    entity = request.entity or ref.entity or default_entity()
    try:
        version = store.get_job_version(entity, ref.name, ref.selector)
    except NotFound as exc:
        raise NotFound(f"{JOB_FLAG}: {exc}") from None
    recipe = version.recipe
    merged = {**recipe.launch_fields(),
              **{key: fields[key] for key in OVERRIDES if key in fields}}
    if recipe.kind == "image" and "base_image" in merged:
        raise InvalidInput("-B/--base-image: an image job builds nothing, so it takes no "
                           "base image")
    fields.update(merged)
    fields["run_config"] = check_run_config(recipe.inputs, fields.get("run_config") or {},
                                            version.label)
    if ref.project and not fields.get("project"):
        fields["project"] = ref.project
    fields["job"] = version.label
    return LaunchRequest(fields, entity, None)


def rerun_request(store: QueueStore, item_id: int, queue: str | None = None
                  ) -> tuple[LaunchRequest, str]:
    """A past run's spec as a new launch request, and the queue to enqueue it into
    (its own unless ``queue`` names another of its entity's): enqueued, it is checked
    against the queue again and gets a new run id. Raises NotFound, or InvalidInput
    when its code was in a code store (removed when the run ends)."""
    from launch_core.storage.code_store import is_stored_code

    item = store.get_item(item_id)
    own = store.get_queue_by_id(item.queue_id)
    if is_stored_code(item.spec.code):
        raise InvalidInput(f"job rerun: job {item_id}'s code was in the code store, which "
                           "keeps it for that run only; launch it again with --code DIR")
    fields = item.spec.model_dump(mode="json", exclude_none=True)
    if fields.get("resource_args"):  # stored for its queue's resource, given keyed by it
        fields["resource_args"] = {own.definition.resource: fields["resource_args"]}
    return LaunchRequest(fields, own.entity, None), queue or own.name
