"""The Dockerfile of a code or git job: the job's own, or a generated one."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from launch_core.errors import InvalidInput

GENERATED_NAME = ".relaunch.Dockerfile"
APP_DIR = "/app"


def job_dockerfile(context: Path, override: str | None) -> str | None:
    """The text of the job's own Dockerfile (``override`` path, else ./Dockerfile)."""
    if override is not None:
        path = (context / override).resolve()
        if not path.is_relative_to(context.resolve()) or not path.is_file():
            raise InvalidInput(f"dockerfile: {override!r} is not a file inside the job's code")
        return path.read_text()
    own = context / "Dockerfile"
    return own.read_text() if own.is_file() else None


def requirements(context: Path) -> list[str] | None:
    """Dependencies: requirements.txt's path marker, else pyproject's list, else None."""
    if (context / "requirements.txt").is_file():
        lines = (context / "requirements.txt").read_text().splitlines()
        return ["-r", f"{APP_DIR}/requirements.txt"] if any(
            line.strip() and not line.strip().startswith("#") for line in lines) else None
    if (context / "pyproject.toml").is_file():
        try:
            project = tomllib.loads((context / "pyproject.toml").read_text()).get("project", {})
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"pyproject.toml: {exc}") from None
        deps = [str(d) for d in project.get("dependencies", [])]
        return deps or None
    return None


def generate_dockerfile(context: Path, base_image: str, entry_point: list[str]) -> str:
    """A Dockerfile: base image, a non-root user, dependencies, the code, and the
    entry point as an exec-form ENTRYPOINT."""
    lines = [
        f"FROM {base_image}",
        "RUN id relaunch >/dev/null 2>&1 || useradd --create-home --uid 1000 relaunch",
        f"WORKDIR {APP_DIR}",
    ]
    deps = requirements(context)
    if deps is not None:
        pip = ["/opt/venv/bin/pip", "install", "--no-cache-dir", *deps]
        lines += [f"COPY {'requirements.txt' if deps[0] == '-r' else 'pyproject.toml'} "
                  f"{APP_DIR}/",
                  'RUN ["python3", "-m", "venv", "/opt/venv"]',
                  f"RUN {json.dumps(pip)}",
                  "ENV PATH=/opt/venv/bin:$PATH"]
    lines += [f"COPY --chown=1000:1000 . {APP_DIR}",
              "USER 1000",
              f"ENTRYPOINT {json.dumps(entry_point)}"]
    return "\n".join(lines) + "\n"
