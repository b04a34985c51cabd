"""The layers the tree shows hold in the code: the domain (``launch_core``) imports
neither Prefect nor the layers above it; the Prefect layer (``flows``, ``blocks``)
never imports the CLI; and no module of the domain imports one of its own packages
higher up (a backend never imports the pipeline or the agent). Read from the source
with ``ast``, lazy imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# The domain's packages, lowest first: a package may import only those before it.
DOMAIN_FLOORS = ["errors", "masking", "private_files", "backends.table", "spec", "sweeps",
                 "store", "storage", "backends", "pipeline", "agent", "api", "sweep_runs",
                 "preview"]


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", sources("launch_core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_imports_neither_prefect_nor_the_layers_above(path: Path) -> None:
    above = {m for m in imported_modules(path)
             if m.split(".")[0] in ("prefect", "flows", "blocks", "relaunch_cli")
             or m.startswith("prefect_")}
    assert not above, f"{path.relative_to(ROOT)} imports {sorted(above)}"


@pytest.mark.parametrize("path", sources("flows") + sources("blocks"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_prefect_layer_never_imports_the_cli(path: Path) -> None:
    assert not {m for m in imported_modules(path) if m.split(".")[0] == "relaunch_cli"}


def _floor(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "launch_core" or len(parts) < 2:
        return None
    for name in (".".join(parts[1:3]), parts[1]):  # backends.table sits below the rest
        if name in DOMAIN_FLOORS:
            return DOMAIN_FLOORS.index(name)
    return None


@pytest.mark.parametrize("path", sources("launch_core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_arrow_runs_back_up_inside_the_domain(path: Path) -> None:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    own = _floor(module)
    if own is None:
        return
    upward = sorted(m for m in imported_modules(path)
                    if (floor := _floor(m)) is not None and floor > own)
    assert not upward, f"{module} (floor {DOMAIN_FLOORS[own]}) imports {upward}"
