"""Every file, folder and module of the project the docs name in inline code is where
they say: a path such as `launch_core/backends/kubernetes/status.py` or
`tests/unit/core/`, and a dotted name such as `launch_core.spec.guardrails.at_paths`
(a module, or a name a module defines). A moved module fails here until the docs
follow it."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.unit.docs.markdown import DOCS, ROOT, inline_code, rel

TOP = ("launch_core", "relaunch_cli", "flows", "blocks", "tests", "bench", "scripts",
       "examples", "deployments", "docs")
# The backends.md illustration of adding a backend names files that do not exist.
ILLUSTRATION = re.compile(r"slurm")


def named_paths() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for span in inline_code(doc.read_text()):
            for word in span.split():
                word = word.strip(",;:()")
                named = re.fullmatch(rf"({'|'.join(TOP)})/[\w./-]*", word) or re.fullmatch(
                    r"(launch_core|relaunch_cli|flows|blocks)(\.\w+)+", word)
                if named and not ILLUSTRATION.search(word):
                    found.append((rel(doc), word))
    return sorted(set(found))


def test_the_docs_name_paths() -> None:
    assert len(named_paths()) > 40


@pytest.mark.parametrize(("doc", "name"), named_paths(), ids=[f"{d} {n}" for d, n in named_paths()])
def test_a_named_path_or_module_exists(doc: str, name: str) -> None:
    if "/" in name:
        assert (ROOT / name.rstrip("/")).exists(), (
            f"{doc} names {name}, which is not in the repository")
        return
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:  # a module's attribute taken for a submodule
            spec = None
        if spec is not None and spec.origin:
            rest = parts[cut:]
            assert len(rest) <= 1, f"{doc} names {name}: {module} has no {'.'.join(rest)}"
            if rest:
                source = Path(spec.origin).read_text()
                assert re.search(rf"(def|class)\s+{rest[0]}\b|^{rest[0]}\s*[:=]|"
                                 rf"[\"']{rest[0]}[\"']", source, re.M), (
                    f"{doc} names {name}: {module} defines no {rest[0]}")
            return
    pytest.fail(f"{doc} names {name}, which is no module of the project")


@pytest.mark.parametrize("name", ["launch_core/resources/kubernetes.py", "tests/store",
                                  "launch_core.cli.main", "launch_core.spec.guardrails.nope",
                                  "launch_core.resources.local_process"])
def test_an_old_location_is_caught(name: str) -> None:
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        test_a_named_path_or_module_exists("example", name)


def _markdown_files() -> set[str]:
    found = {p.name for p in ROOT.glob("*.md")}
    for top in TOP:
        found |= {p.name for p in (ROOT / top).rglob("*.md")}
    return found


@pytest.mark.parametrize("doc", DOCS, ids=rel)
def test_the_docs_cite_no_document_outside_the_repository(doc: Path) -> None:
    # Code blocks and prose alike: a design note or README that is not in the
    # repository (a design note kept elsewhere, say) is no reference a reader can follow.
    known = _markdown_files()
    cited = set(re.findall(r"(?<![\w/.-])([\w./-]+\.md)\b", doc.read_text()))
    missing = sorted(name for name in cited
                     if not ((doc.parent / name).exists() or (ROOT / name).exists()
                             or ("/" not in name and name in known)))
    assert not missing, f"{rel(doc)} cites {missing}, which the repository does not hold"
