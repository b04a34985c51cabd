"""Permission bits of the files relaunch writes, for the private-files tests."""

from __future__ import annotations

import stat
from pathlib import Path


def modes(root: Path) -> dict[str, int]:
    """Permission bits of ``root`` ('.') and of everything under it, by relative path."""
    return {str(path.relative_to(root)): stat.S_IMODE(path.lstat().st_mode)
            for path in [root, *root.rglob("*")]}


def run_files(found: dict[str, int], run_id: str) -> dict[str, int]:
    """The entries of one run's folder, its code and checkout left out."""
    prefix = f"runs/{run_id}"
    return {path: mode for path, mode in found.items()
            if path == prefix or (path.startswith(prefix + "/")
                                  and path.split("/")[2] not in ("code", "repo", "work"))}


def write_code_dir(root: Path) -> Path:
    """A code job's directory under ``root``: one main.py that prints a line."""
    code = root / "code"
    code.mkdir()
    (code / "main.py").write_text("print('hello from the code job', flush=True)\n")
    return code
