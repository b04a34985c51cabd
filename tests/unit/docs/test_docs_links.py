"""Every relative link in README.md and docs/*.md points at a file of the repository
and, with a ``#anchor``, at a heading of that file (GitHub's anchor slugs)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.unit.docs.markdown import DOCS, ROOT, anchors, links, rel, slug

EXTERNAL = ("http://", "https://", "mailto:")


@pytest.mark.parametrize("doc", DOCS, ids=rel)
def test_relative_links_reach_a_file_and_a_heading(doc: Path) -> None:
    broken = []
    for line, target in links(doc):
        if target.startswith(EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        path = (doc.parent / unquote(path_part)).resolve() if path_part else doc
        if not path.is_relative_to(ROOT):
            broken.append(f"line {line}: {target}: outside the repository")
        elif not path.exists():
            broken.append(f"line {line}: {target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"line {line}: {target}: no heading '#{anchor}' in {rel(path)}")
    assert not broken, f"{rel(doc)}:\n" + "\n".join(broken)


def test_the_docs_link_to_something() -> None:
    # The check above passes vacuously if the link reader finds nothing.
    assert sum(len(links(doc)) for doc in DOCS) > 50


@pytest.mark.parametrize(("heading", "anchor"), [
    ("The launch spec (`-c`)", "the-launch-spec--c"),
    ("Direct launch (without `-q`)", "direct-launch-without--q"),
    ("Code stores (`s3://`, `gs://`)", "code-stores-s3-gs"),
    ("Guarded fields: what a job may not change", "guarded-fields-what-a-job-may-not-change"),
    ("The `local_process` resource", "the-local_process-resource"),
])
def test_anchors_follow_githubs_slugs(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor
