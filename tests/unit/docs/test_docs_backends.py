"""The backend lists of README.md ("What works today") and docs/backends.md (the kinds
and the capability table) match the backend table (``BACKENDS``) and the resource
classes' capability attributes, read from the loaded classes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from launch_core.backends.table import BACKENDS
from tests.unit.docs.markdown import ROOT, code_names, table_with_header

README = ROOT / "README.md"
BACKENDS_MD = ROOT / "docs" / "backends.md"
KIND_OF_ROW = {"resource": "resource", "builder": "builder", "registry": "registry",
               "resources": "resource", "builders": "builder", "registries": "registry"}

# Loads every resource class and prints its capabilities: the class attributes of
# Resource that hold a bool, a number or None. In a fresh interpreter without the
# RELAUNCH_* variables, so a poll interval is its default (sagemaker and vertex read
# theirs from the environment at import).
_READ_CAPABILITIES = """
import json
from launch_core.backends.resource import Resource
from launch_core.backends.table import BACKENDS, import_target
names = [k for k, v in vars(Resource).items() if not k.startswith("_")
         and (v is None or isinstance(v, (bool, int, float)))]
print(json.dumps({"capabilities": names, "resources": {
    name: {k: getattr(import_target(plugin.target), k) for k in names}
    for name, plugin in BACKENDS["resource"].items()}}))
"""


@pytest.fixture(scope="module")
def capabilities() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAUNCH_")}
    out = subprocess.run([sys.executable, "-c", _READ_CAPABILITIES], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    found: dict[str, Any] = json.loads(out.stdout)
    assert "needs_image" in found["capabilities"] and len(found["resources"]) >= 5
    return found


def _check_kind_rows(table: list[list[str]], where: str) -> None:
    kinds = {}
    for row in table[1:]:
        kind = KIND_OF_ROW.get(row[0].split()[0])
        assert kind, f"{where}: row {row[0]!r} is no backend kind"
        kinds[kind] = sorted(code_names(row[-1]))
    assert kinds == {kind: sorted(BACKENDS[kind]) for kind in BACKENDS}, (
        f"{where} differs from the backend table (launch_core/backends/table.py)")


def test_readme_what_works_today_lists_the_backend_table() -> None:
    _check_kind_rows(table_with_header(README, "part", "implemented"),
                     "README.md's 'What works today' table")


def test_backends_md_kind_table_lists_the_backend_table() -> None:
    _check_kind_rows(table_with_header(BACKENDS_MD, "kind", "question it answers"),
                     "docs/backends.md's table of kinds")


def _cell_value(cell: str) -> Any:
    """yes/no → bool; "no limit"/`None` → None; else the cell's first number."""
    text = cell.replace("`", "").strip().lower()
    if text in ("yes", "no"):
        return text == "yes"
    if text.startswith(("none", "no limit")):
        return None
    number = re.match(r"\d+(\.\d+)?", text)
    assert number, f"capability cell {cell!r} is neither yes/no, a number nor None"
    return float(number.group(0))


def test_backends_md_capability_table_matches_the_resource_classes(
        capabilities: dict[str, Any]) -> None:
    table = table_with_header(BACKENDS_MD, "capability", "meaning")
    columns = [name for cell in table[0][2:] for name in code_names(cell)]
    assert len(columns) == len(table[0]) - 2, "one resource name per column"
    assert sorted(columns) == sorted(BACKENDS["resource"]), (
        "the capability table's columns are not the backend table's resources")
    rows = [code_names(row[0])[0] for row in table[1:]]
    assert sorted(rows) == sorted(capabilities["capabilities"]), (
        "the capability table's rows are not the capability attributes of Resource")
    wrong = []
    for row in table[1:]:
        capability = code_names(row[0])[0]
        for name, cell in zip(columns, row[2:], strict=True):
            actual = capabilities["resources"][name][capability]
            documented = _cell_value(cell)
            same = (documented == actual if isinstance(actual, bool) or actual is None
                    else isinstance(documented, float) and documented == float(actual))
            if not same:
                wrong.append(f"{capability} of {name}: the doc says {cell!r}, "
                             f"the class has {actual!r}")
    assert not wrong, "docs/backends.md's capability table:\n" + "\n".join(wrong)


@pytest.mark.parametrize(("cell", "value"), [
    ("yes", True), ("no", False), ("0.5", 0.5), ("5 (`RELAUNCH_VERTEX_POLL_SECONDS`)", 5.0),
    ("32670", 32670.0), ("`None`", None)])
def test_capability_cells_are_read(cell: str, value: Any) -> None:
    assert _cell_value(cell) == value
