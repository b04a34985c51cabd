"""Fixtures of the vertex tests: the Vertex fake (tests/vertex/vertex_fake.py, a test
double of Vertex AI's JobService REST API on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.vertex.vertex_fake import VertexFake, serve_fake


@pytest.fixture
def vertex_fake() -> Iterator[VertexFake]:
    """A fresh Vertex fake for one test (stopped afterwards)."""
    yield from serve_fake()


@pytest.fixture
def vertex_env(vertex_fake: VertexFake) -> dict[str, str]:
    """The agent environment that points the vertex resource at the fake."""
    return {"RELAUNCH_VERTEX_ENDPOINT": vertex_fake.url, "RELAUNCH_VERTEX_PROJECT": "proj",
            "RELAUNCH_VERTEX_LOCATION": "europe-west4", "RELAUNCH_VERTEX_POLL_SECONDS": "0.3"}
