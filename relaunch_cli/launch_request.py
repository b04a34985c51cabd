"""``relaunch launch``: its flags and its ``-c`` launch spec, merged into one request
(flags win), and the job's source decided (``-u DIR`` is a code job, as in W&B)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from launch_core.errors import InvalidInput
from launch_core.spec.inputs import load_mapping
from launch_core.spec.launch_request import LaunchRequest
from launch_core.spec.launch_spec import read_launch_spec
from launch_core.spec.models import stays_inside

SPEC_FLAG = "-c/--config"
SOURCES = ("image", "uri", "job")  # the spec's sources; any source flag replaces them


def build_request(flags: dict[str, Any], spec: str | None, code: Path | None,
                  build_context: str | None) -> LaunchRequest:
    """Merge the flags over the spec (template values merge by name). Raises
    InvalidInput naming the flag or the spec key."""
    fields = read_launch_spec(load_mapping(spec, SPEC_FLAG), SPEC_FLAG) if spec else {}
    given = {k: v for k, v in flags.items() if v not in (None, [], {})}
    if code is not None or any(given.get(k) for k in SOURCES):
        for key in SOURCES:
            fields.pop(key, None)
    values = {**fields.get("template_values", {}), **given.pop("template_values", {})}
    fields.update(given, template_values=values)
    fields.setdefault("author", getpass.getuser())
    code_dir = _code_dir(fields, code)
    if build_context is not None and code_dir is None and fields.get("uri"):
        fields["build_context"] = build_context  # a git source: used after the clone
    elif build_context is not None:
        code_dir = _build_context(code_dir, build_context)
    if fields.get("base_image") and fields.get("image"):
        raise InvalidInput("-B/--base-image: an image job (-d) builds nothing, so it "
                           "takes no base image")
    return LaunchRequest(fields, fields.pop("entity", None), code_dir)


def _code_dir(fields: dict[str, Any], code: Path | None) -> Path | None:
    """``--code DIR``, or ``-u``/``uri`` naming a local directory (taken out of fields)."""
    uri = fields.get("uri")
    if uri is None or not _is_local_path(uri):
        return code
    path = Path(uri).expanduser()
    if not path.is_dir():
        raise InvalidInput(f"-u/--uri: {uri} is not a directory")
    if code is not None:
        raise InvalidInput("-u/--uri: a local directory is a code source, like --code; "
                           "give one of them")
    del fields["uri"]
    return path


def _is_local_path(uri: str) -> bool:
    # A git URL is https://, ssh://, file://... or scp-style host:path; a directory
    # is anything that exists as one, or is written as a path.
    return Path(uri).expanduser().is_dir() or uri.startswith(("/", "./", "../", "~")) \
        or uri in (".", "..")


def _build_context(code_dir: Path | None, build_context: str) -> Path:
    """W&B's --build-context: the subdirectory of the code that is the job's root."""
    if code_dir is None:
        raise InvalidInput("--build-context: applies to a git repository or a local code "
                           "directory (-u URI_OR_DIR or --code DIR)")
    if not stays_inside(build_context):
        raise InvalidInput(f"--build-context: {build_context} must be a path inside the code")
    context = code_dir / build_context
    if not context.is_dir():
        raise InvalidInput(f"--build-context: {context} is not a directory")
    return context
