"""A run's working directory (unpacked code or git checkout) and its environment."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from launch_core.errors import InvalidInput, LaunchError
from launch_core.private_files import private_dir, write_private
from launch_core.spec.env_option import env_option
from launch_core.store import QueueItem, QueueStore
from launch_core.store.blobs import unpack
from launch_core.store.engine import data_dir, private_data_dir

_SCP_STYLE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*@[A-Za-z0-9_][A-Za-z0-9_.-]*:[^/-]")
_NEVER_SCHEMES = ("ext", "fd")  # git's transports that run a command or use a descriptor
_UNSAFE_TEXT = re.compile(r"[\x00-\x20\x7f]|::")  # whitespace, controls, git's "helper::"
# scheme://userinfo@ where userinfo runs to the authority's last '@' (a raw '@' may
# be part of a password)
_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/?#\s]*)@")
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "TZ")
SWEEP_PARAMS = "sweep-params.yaml"  # a sweep trial's parameters, in its run dir


def run_dir(run_id: str) -> Path:
    """Where a run keeps its code, log and exit code: ``<data dir>/runs/<run id>``,
    made private (0700, as the data dir and ``runs``) if missing, before anything
    is written in it."""
    return private_dir(private_data_dir() / "runs" / run_id)


def check_git_uri(uri: str, extra_schemes: list[str]) -> None:
    """Allow https, ssh and scp-style URLs (plus ``extra_schemes``, never ``ext`` or
    ``fd``, which run commands). Raises InvalidInput (credentials in the URL hidden)."""
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else None
    if _UNSAFE_TEXT.search(uri) or scheme in _NEVER_SCHEMES:
        allowed = False
    elif scheme is None:
        allowed = _SCP_STYLE.match(uri) is not None
    else:
        allowed = (scheme in ("https", "ssh") or scheme in extra_schemes) \
            and _host_is_plain(uri, scheme)
    if not allowed:
        raise InvalidInput(f"git uri {redact_url(uri)!r}: only https, ssh and scp-style URLs "
                           "are allowed (an agent may allow more with allow_git_schemes)")


def check_job_uri(uri: str, extra_schemes: list[str]) -> None:
    """What enqueue (and ``--dry-run``) checks of a job's git URL: that it holds no
    credentials, which would be stored with the job, then what the agent checks before
    it clones (``check_git_uri`` itself). Raises InvalidInput naming -u/--uri, with
    the URL's credentials hidden."""
    if redact_url(uri) != uri:
        raise InvalidInput(f"-u/--uri: {redact_url(uri)} has credentials in it, which "
                           "would be stored with the job; give git a token on the agent's "
                           "host instead (see docs/cli.md, Git credentials)")
    try:
        check_git_uri(uri, extra_schemes)
    except InvalidInput as exc:
        raise InvalidInput(f"-u/--uri: {exc}") from None


def _host_is_plain(uri: str, scheme: str) -> bool:
    """Whether the URL's user and host cannot be read as options (``-oProxyCommand``)."""
    if scheme == "file":
        return True
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return False
    return bool(host) and not str(host).startswith("-") \
        and not (parts.username or "").startswith("-")


def redact_url(text: str) -> str:
    """``text`` with the credentials of URLs in it hidden: the whole user part of
    http(s) and other URLs (``https://***@github.com``: a token is often the user name,
    as in ``https://TOKEN:x-oauth-basic@github.com``), the password of ssh and git ones
    (``ssh://git:***@host``; ``ssh://git@host`` stays as it is)."""
    return _URL_CREDENTIALS.sub(_hide_credentials, text)


def _hide_credentials(match: re.Match[str]) -> str:
    scheme, (user, colon, _password) = match.group(1), match.group(2).partition(":")
    if not scheme.lower().startswith(("ssh", "git")):
        return f"{scheme}***@"
    return f"{scheme}{user}:***@" if colon else f"{scheme}{user}@"


def prepare_workdir(store: QueueStore, item: QueueItem, extra_git_schemes: list[str]) -> Path:
    """Unpack the job's code or clone its repository; return the directory to run in."""
    base = run_dir(item.run_id)
    spec = item.spec
    if spec.sweep_id:
        write_private(base / SWEEP_PARAMS, sweep_params_yaml(spec.run_config))
    if spec.code is not None:
        target = base / "code"
        if not target.exists():  # unpacked whole or not at all: a refused tarball leaves nothing
            partial = target.with_name("code.partial")
            shutil.rmtree(partial, ignore_errors=True)
            try:
                unpack(_code(store, item), private_dir(partial))
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
            partial.rename(target)
        return target
    if spec.uri is not None:
        check_git_uri(spec.uri, extra_git_schemes)
        target = base / "repo"
        if not target.exists():
            _clone(spec.uri, spec.ref, target, extra_git_schemes)
        if spec.build_context is None:
            return target
        root = target / spec.build_context
        # a symlink in the repository must not lead the job's root out of the checkout
        if not root.is_dir() or not root.resolve().is_relative_to(target.resolve()):
            raise InvalidInput(f"build_context {spec.build_context!r}: no such directory "
                               f"in {redact_url(spec.uri)}")
        return root
    return private_dir(base / "work")


def _clone(uri: str, ref: str | None, target: Path, allowed: list[str]) -> None:
    if ref is not None and ref.startswith("-"):
        raise InvalidInput(f"ref {ref[:40]!r}: must not start with '-'")
    # Only the allowed transports, even for redirects and submodules; never a prompt.
    protocols = ":".join(dict.fromkeys(["https", "ssh", *allowed]))
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ALLOW_PROTOCOL": protocols,
           "GIT_PROTOCOL_FROM_USER": "0"}
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    private_dir(tmp)  # git clones into an empty folder; the checkout keeps its modes
    try:
        _git(["git", "clone", "--quiet", "--", uri, str(tmp)], env, f"cloning {uri}")
        if ref:
            _git(["git", "-C", str(tmp), "checkout", "--quiet", ref, "--"], env,
                 f"checking out {ref!r}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.rename(target)


def _git(argv: list[str], env: dict[str, str], what: str) -> None:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise LaunchError(redact_url(f"git failed {what}: {detail}"))


def job_env(item: QueueItem, queue_name: str, entity: str, config: dict[str, Any],
            image: str | None, *, agent_basics: bool = True, wandb: bool = True,
            value_limit: int | None = None) -> dict[str, str]:
    """The environment of a run, each layer over the one before: a few of the agent's
    basics (PATH, HOME... for local processes only), W&B's variables (``wandb``; see
    ``wandb_env``; a local process in a sweep also gets WANDB_SWEEP_PARAM_PATH, the
    file ``prepare_workdir`` wrote), the queue's ``env`` option, then the RELAUNCH_*
    variables."""
    env = {key: os.environ[key] for key in _PASSED_ENV if key in os.environ and agent_basics}
    if wandb:
        env.update(wandb_env(item, queue_name, entity, image, value_limit))
        if agent_basics and item.spec.sweep_id:  # a local process reads the agent's files
            env["WANDB_SWEEP_PARAM_PATH"] = str(data_dir() / "runs" / item.run_id
                                                / SWEEP_PARAMS)
    env.update(env_option(config.get("env")))
    spec = item.spec
    env.update({
        "RELAUNCH_RUN_ID": item.run_id, "RELAUNCH_ITEM_ID": str(item.id),
        "RELAUNCH_QUEUE": queue_name, "RELAUNCH_ENTITY": entity,
        "RELAUNCH_PROJECT": spec.project or "", "RELAUNCH_RUN_NAME": spec.name or item.run_id,
        "RELAUNCH_RUN_CONFIG": json.dumps(spec.run_config),
    })
    if item.resume_count:
        env["RELAUNCH_RESUME"] = "1"
    if item.group_id is not None:
        env["RELAUNCH_GROUP"] = item.group_id
    if item.array_index is not None:
        env["RELAUNCH_ARRAY_INDEX"] = str(item.array_index)
    if image:
        env["RELAUNCH_IMAGE"] = image
    return env


def wandb_env(item: QueueItem, queue_name: str, entity: str, image: str | None,
              value_limit: int | None) -> dict[str, str]:
    """What W&B Launch gives a run, so ``wandb.init()`` takes the launched run config
    and run id: WANDB_CONFIG (split into WANDB_CONFIG_0..N past ``value_limit``
    characters), WANDB_RUN_ID, WANDB_LAUNCH... Never an API key or a base URL."""
    spec = item.spec
    env = {"WANDB_LAUNCH": "True", "WANDB_RUN_ID": item.run_id, "WANDB_ENTITY": entity,
           "WANDB_LAUNCH_QUEUE_NAME": queue_name, "WANDB_LAUNCH_QUEUE_ENTITY": entity}
    optional = {"WANDB_PROJECT": spec.project, "WANDB_NAME": spec.name, "WANDB_DOCKER": image,
                "WANDB_RESUME": "allow" if item.resume_count else None,
                "WANDB_SWEEP_ID": spec.sweep_id}
    env.update({name: value for name, value in optional.items() if value})
    config = json.dumps(spec.run_config)
    if value_limit is None or len(config) <= value_limit:
        env["WANDB_CONFIG"] = config
    else:
        env.update({f"WANDB_CONFIG_{n}": config[start:start + value_limit]
                    for n, start in enumerate(range(0, len(config), value_limit))})
    return env


def sweep_params_yaml(run_config: dict[str, Any]) -> str:
    """A trial's parameters as the classic ``wandb agent`` writes them for
    WANDB_SWEEP_PARAM_PATH, which ``wandb.init()`` reads into ``wandb.config``:
    ``wandb_version: 1`` then YAML of ``{name: {value: v}}``."""
    import yaml

    text = "wandb_version: 1\n"
    if run_config:
        text += "\n" + yaml.safe_dump({name: {"value": value}
                                        for name, value in run_config.items()},
                                       default_flow_style=False, allow_unicode=True,
                                       sort_keys=False)
    return text


def _code(store: QueueStore, item: QueueItem) -> bytes:
    """A job's code tarball: from the agent's code store, or from the blob table as
    its queue's entity's (never another entity's tarball of the same digest)."""
    from launch_core.storage.code_store import is_stored_code, read_code

    code = str(item.spec.code)
    return read_code(code) if is_stored_code(code) else store.get_item_code(item)
