"""The agent's cluster deployment serves its metrics where Prometheus looks: the
ConfigMap's launch-config.yaml sets metrics_port on all addresses (the pod IP), and
the pod's prometheus.io annotations and its container port name that same port."""

from __future__ import annotations

from pathlib import Path

import yaml

from launch_core.spec.agent_config import load_agent_config

HERE = Path(__file__).resolve().parents[3] / "deployments" / "kubernetes"


def test_the_pod_is_annotated_for_the_port_its_config_serves() -> None:
    config_map = yaml.safe_load((HERE / "configmap.yaml").read_text())
    config, _ = load_agent_config(data=yaml.safe_load(config_map["data"]["launch-config.yaml"]),
                                  environ={})
    assert config.metrics_port is not None and config.metrics_host == "0.0.0.0"
    template = yaml.safe_load((HERE / "deployment.yaml").read_text())["spec"]["template"]
    assert template["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true", "prometheus.io/port": str(config.metrics_port),
        "prometheus.io/path": "/metrics"}
    (container,) = template["spec"]["containers"]
    assert {"name": "metrics", "containerPort": config.metrics_port,
            "protocol": "TCP"} in container["ports"]
