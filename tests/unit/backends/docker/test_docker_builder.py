"""Unit tests (no Docker daemon): the generated Dockerfile, the job's own Dockerfile
and -D override, and the content tag of builders/docker.py."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from launch_core.backends.builder import BuildRequest
from launch_core.backends.docker.builder import DockerBuilder, content_tag
from launch_core.backends.docker.dockerfile import generate_dockerfile, job_dockerfile
from launch_core.backends.registry import Registry, RegistryAuth
from launch_core.errors import InvalidInput
from launch_core.spec.models import LaunchSpec
from launch_core.store.records import QueueItem

BASE = "relaunch/python:bookworm"
ENTRY = ["python3", "main.py", "--flag", "a b"]


def _code(tmp_path: Path, **files: str) -> Path:
    root = tmp_path / "code"
    root.mkdir()
    (root / "main.py").write_text("print('hi')\n")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _lines(text: str) -> list[str]:
    return text.strip().splitlines()


def _index(lines: list[str], prefix: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(prefix))


def test_generated_dockerfile_base_user_and_exec_entrypoint(tmp_path):
    lines = _lines(generate_dockerfile(_code(tmp_path), BASE, ENTRY))
    assert lines[0] == f"FROM {BASE}"
    assert any("useradd" in line and "1000" in line for line in lines)
    assert lines[-1].startswith("ENTRYPOINT [")
    assert json.loads(lines[-1].removeprefix("ENTRYPOINT ")) == ENTRY  # exec form
    user = _index(lines, "USER ")
    assert lines[user] in ("USER 1000", "USER relaunch")
    assert user > _index(lines, "COPY ") and user < len(lines) - 1
    assert not any("pip" in line for line in lines)  # nothing to install


def test_generated_dockerfile_installs_requirements_txt_before_dropping_root(tmp_path):
    code = _code(tmp_path, **{"requirements.txt": "# pinned\nrequests==2.32.0\n"})
    lines = _lines(generate_dockerfile(code, BASE, ["python3", "main.py"]))
    copy = next(line for line in lines if "requirements.txt" in line and
                line.startswith("COPY"))
    pip = next(line for line in lines if "pip" in line and line.startswith("RUN"))
    assert "requirements.txt" in pip and "-r" in pip
    assert lines.index(copy) < lines.index(pip) < _index(lines, "USER ")


def test_comment_only_requirements_install_nothing(tmp_path):
    code = _code(tmp_path, **{"requirements.txt": "# nothing yet\n\n"})
    assert "pip" not in generate_dockerfile(code, BASE, ["python3", "main.py"])


def test_generated_dockerfile_installs_pyproject_dependencies(tmp_path):
    code = _code(tmp_path, **{"pyproject.toml": '[project]\nname = "job"\nversion = "0"\n'
                                                'dependencies = ["numpy>=1.26", "pyyaml"]\n'})
    text = generate_dockerfile(code, BASE, ["python3", "main.py"])
    pip = next(line for line in _lines(text) if "pip" in line and line.startswith("RUN"))
    assert "numpy>=1.26" in pip and "pyyaml" in pip
    assert "COPY pyproject.toml" in text


def test_bad_pyproject_is_invalid_input(tmp_path):
    code = _code(tmp_path, **{"pyproject.toml": "[project\n"})
    with pytest.raises(InvalidInput, match="pyproject.toml"):
        generate_dockerfile(code, BASE, ["python3", "main.py"])


def test_job_dockerfile_own_override_and_none(tmp_path):
    code = _code(tmp_path, Dockerfile="FROM own\n", **{"docker/gpu.Dockerfile": "FROM gpu\n"})
    assert job_dockerfile(code, None) == "FROM own\n"
    assert job_dockerfile(code, "docker/gpu.Dockerfile") == "FROM gpu\n"
    (code / "Dockerfile").unlink()
    assert job_dockerfile(code, None) is None
    with pytest.raises(InvalidInput, match="not a file inside"):
        job_dockerfile(code, "missing.Dockerfile")
    (tmp_path / "outside").write_text("FROM evil\n")
    with pytest.raises(InvalidInput, match="not a file inside"):
        job_dockerfile(code, "../outside")


class _CachedRegistry(Registry):
    """A registry that has every tag: build() returns without touching a daemon."""

    kind = "oci"

    def auth(self) -> RegistryAuth | None:
        return None

    def exists(self, tag: str) -> bool:
        return True


def _item(spec: LaunchSpec) -> QueueItem:
    now = time.time()
    return QueueItem(id=1, queue_id=1, state="building", priority=2, enqueued_at=now,
                     run_id="r1", spec=spec, attempts=0, max_attempts=3, agent_id=None,
                     claim_token=0,
                     lease_expires_at=None, handle=None, stage=None, reason=None,
                     cancel_requested=False, resume_count=0, exit_code=None,
                     started_at=None, finished_at=None, updated_at=now)


def _build(code: Path, **spec_fields) -> str | None:
    spec = LaunchSpec(code="sha256:" + "0" * 64, **spec_fields)
    notes: list[str] = []
    result = DockerBuilder(client=object()).build(BuildRequest(
        item=_item(spec), resource="local-container", context=code,
        registry=_CachedRegistry("127.0.0.1:5000/unit/job"), base_image=BASE,
        log=notes.append))
    assert not result.built and result.note == "cached"
    assert notes == [f"build skipped: {result.image} already exists"]
    return result.image


def test_builder_uses_own_dockerfile_then_override_then_generated(tmp_path):
    code = _code(tmp_path, Dockerfile="FROM own\n", **{"alt.Dockerfile": "FROM alt\n"})
    entry = ["python3", "main.py"]
    own = _build(code, entry_point=entry)
    assert own == "127.0.0.1:5000/unit/job:" + content_tag("FROM own\n", code)
    alt = _build(code, entry_point=entry, dockerfile="alt.Dockerfile")
    assert alt == "127.0.0.1:5000/unit/job:" + content_tag("FROM alt\n", code)
    (code / "Dockerfile").unlink()
    generated = _build(code, entry_point=entry)
    assert generated == ("127.0.0.1:5000/unit/job:"
                         + content_tag(generate_dockerfile(code, BASE, entry), code))
    other_base = _build(code, entry_point=entry, base_image="other/python:3")
    assert other_base != generated


def test_content_tag_is_stable_and_changes_with_code_or_dockerfile(tmp_path):
    code = _code(tmp_path, **{"pkg/util.py": "X = 1\n"})
    dockerfile = generate_dockerfile(code, BASE, ["python3", "main.py"])
    tag = content_tag(dockerfile, code)
    assert len(tag) >= 12 and tag == tag.lower() and tag.isalnum()
    assert content_tag(dockerfile, code) == tag
    copy = tmp_path / "copy"
    shutil.copytree(code, copy)
    past = time.time() - 3600
    for path in copy.rglob("*"):
        os.utime(path, (past, past))
    assert content_tag(dockerfile, copy) == tag  # location and mtimes do not count

    assert content_tag(dockerfile + "# changed\n", code) != tag
    (copy / "pkg" / "util.py").write_text("X = 2\n")
    assert content_tag(dockerfile, copy) != tag
    (copy / "pkg" / "util.py").write_text("X = 1\n")
    assert content_tag(dockerfile, copy) == tag
    (copy / "extra.txt").write_text("")
    assert content_tag(dockerfile, copy) != tag
