"""deployments/grafana/relaunch.json shows what the agent exports: every metric name a
query of the dashboard uses is one an agent's /metrics serves (read from a real
agent registry's exposition, so a renamed metric fails here), and every metric the
agent exports has a panel."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from launch_core import api
from launch_core.agent.metrics import AgentMetrics
from launch_core.store import QueueStore

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "deployments" / "grafana" / "relaunch.json"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum",
                                                             "_created"),
            "gauge": ("",)}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[QueueStore]:
    opened = QueueStore(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.dispose()


def exported(store: QueueStore) -> dict[str, set[str]]:
    """Metric family -> the series names an agent's /metrics serves for it."""
    queue = api.create_queue(store, "q", "local-process", entity="team")
    text = generate_latest(AgentMetrics(store, "team", [queue]).registry).decode()
    return {family.name: {family.name + suffix for suffix in SUFFIXES[family.type]}
            for family in text_string_to_metric_families(text)}


def queries(node: Any) -> Iterator[str]:
    """Every PromQL text of the dashboard: panel targets and template variables."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from queries(value)
    elif isinstance(node, list):
        for value in node:
            yield from queries(value)


def test_every_metric_the_dashboard_queries_is_exported(store: QueueStore) -> None:
    families = exported(store)
    names = set().union(*families.values())
    used = {name for query in queries(json.loads(DASHBOARD.read_text()))
            for name in re.findall(r"\brelaunch_[a-z_]+", query)}
    assert used, "the dashboard queries no relaunch metric"
    assert used <= names, f"not exported: {sorted(used - names)}"
    unshown = [family for family, series in families.items()  # _created: start times
               if family.startswith("relaunch_") and not family.endswith("_created")
               and not series & used]
    assert not unshown, f"no panel shows {unshown}"


def test_the_dashboard_is_importable_json_with_one_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "relaunch" and dashboard["panels"]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
