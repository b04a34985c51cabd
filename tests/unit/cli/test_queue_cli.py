"""`relaunch queue ...` through the console script."""

from __future__ import annotations

import json
from pathlib import Path

VARS = json.dumps({"gpus": {"type": "integer", "minimum": 1, "maximum": 8, "default": 1}})
CONFIG = json.dumps({"gpus": "{{ gpus }}"})


def test_create_then_list_and_show_as_json(relaunch):
    created = relaunch("queue", "create", "gpu", "-r", "local-container", "--config", CONFIG,
                       "--template-variables", VARS, "--json")
    assert created.code == 0, created.err
    listed = relaunch("queue", "list", "--json").json()
    assert [q["name"] for q in listed] == ["gpu"]
    shown = relaunch("queue", "show", "gpu", "--json").json()
    assert shown["config"] == {"gpus": "{{ gpus }}"}
    assert shown["template_variables"]["gpus"]["maximum"] == 8
    assert shown["pending"] == []


def test_config_read_from_yaml_file(relaunch, tmp_path: Path):
    (tmp_path / "cfg.yaml").write_text("env:\n  A: '1'\n")
    assert relaunch("queue", "create", "q", "-r", "local-process",
                    "--config", str(tmp_path / "cfg.yaml")).code == 0
    assert relaunch("queue", "show", "q", "--json").json()["config"] == {"env": {"A": "1"}}


def test_duplicate_queue_is_exit_2_with_one_line(relaunch):
    relaunch("queue", "create", "q", "-r", "local-process")
    again = relaunch("queue", "create", "q", "-r", "local-process")
    assert again.code == 2
    assert again.err.strip() == "error: queue 'q' already exists in entity 'team'"


def test_undeclared_template_variable_names_config_path(relaunch):
    result = relaunch("queue", "create", "q", "-r", "local-process",
                      "--config", '{"a": {"b": "{{ x }}"}}')
    assert result.code == 2
    assert "config.a.b uses undeclared template variable 'x'" in result.err
    assert "Traceback" not in result.err
    assert relaunch("queue", "list", "--json").json() == []


def test_unused_variable_rejected(relaunch):
    result = relaunch("queue", "create", "q", "-r", "local-process", "--template-variables", VARS)
    assert result.code == 2
    assert "'gpus' is declared but not used" in result.err


def test_malformed_yaml_names_flag_and_line(relaunch):
    result = relaunch("queue", "create", "q", "-r", "local-process", "--config", "a: [1,\nb: 2")
    assert result.code == 2
    assert result.err.startswith("error: --config: not valid JSON or YAML at line")
    assert len(result.err.strip().splitlines()) == 1


def test_missing_config_file_names_flag(relaunch):
    result = relaunch("queue", "create", "q", "-r", "local-process", "--config", "nope.yaml")
    assert result.code == 2
    assert result.err.strip() == "error: --config: file nope.yaml not found"


def test_invalid_queue_name_rejected(relaunch):
    result = relaunch("queue", "create", "-bad name", "-r", "local-process")
    assert result.code == 2
    result = relaunch("queue", "create", "bad/name", "-r", "local-process")
    assert result.code == 2 and "name" in result.err


def test_update_revalidates_and_keeps_old_definition_on_error(relaunch):
    relaunch("queue", "create", "q", "-r", "local-container", "--config", CONFIG,
             "--template-variables", VARS)
    bad = relaunch("queue", "update", "q", "--config", '{"x": "{{ nope }}"}')
    assert bad.code == 2
    assert relaunch("queue", "show", "q", "--json").json()["config"] == json.loads(CONFIG)
    good = relaunch("queue", "update", "q", "--prioritization", "--description", "big")
    assert good.code == 0
    shown = relaunch("queue", "show", "q", "--json").json()
    assert shown["prioritization"] is True and shown["description"] == "big"


def test_delete_refuses_queue_with_pending_jobs_unless_forced(relaunch):
    relaunch("queue", "create", "q", "-r", "local-process")
    assert relaunch("launch", "-q", "q", "-d", "img").code == 0
    refused = relaunch("queue", "delete", "q")
    assert refused.code == 2 and "has 1 queued or running item(s)" in refused.err
    assert relaunch("queue", "delete", "q", "--force").code == 0
    assert relaunch("queue", "list", "--json").json() == []


def test_unknown_command_and_option_are_usage_errors(relaunch):
    assert relaunch("queue", "frobnicate").code == 2
    result = relaunch("queue", "list", "--bogus")
    assert result.code == 2 and result.err.startswith("error: No such option: --bogus")


def test_create_refuses_an_option_the_resource_does_not_have(relaunch):
    result = relaunch("queue", "create", "q", "-r", "local-process",
                      "--config", '{"env": {"A": "1"}, "resources": {"gpus": 1}}')
    assert result.code == 2
    assert result.err.startswith("error: queue create: config: local-process: option "
                                 "'resources' is not allowed (allowed: env, gpus)")
    assert len(result.err.strip().splitlines()) == 1
    assert relaunch("queue", "list", "--json").json() == []


def test_create_checks_the_template_rendered_with_its_defaults(relaunch):
    variables = json.dumps({"net": {"type": "string", "enum": ["bridge", "hostile"],
                                    "default": "hostile"}})
    result = relaunch("queue", "create", "q", "-r", "local-container",
                      "--config", '{"network": "{{ net }}"}', "--template-variables", variables)
    assert result.code == 2 and "option 'network': 'hostile' is not allowed" in result.err
    assert relaunch("queue", "list", "--json").json() == []


def test_update_refuses_an_option_and_keeps_the_old_config(relaunch):
    relaunch("queue", "create", "q", "-r", "local-container", "--config", '{"cpus": 1}')
    bad = relaunch("queue", "update", "q", "--config", '{"cpus": -1}')
    assert bad.code == 2 and bad.err.startswith("error: queue update: config: "
                                                "local-container: option 'cpus'")
    assert relaunch("queue", "show", "q", "--json").json()["config"] == {"cpus": 1}


def test_allowed_fields_are_stored_and_shown(relaunch):
    assert relaunch("queue", "create", "q", "-r", "kubernetes",
                    "--allow-field", "privileged", "--allow-field", "hostPath").code == 0
    assert relaunch("queue", "show", "q", "--json").json()["allow_fields"] == [
        "privileged", "hostPath"]
    assert "allowed guarded fields: privileged, hostPath" in relaunch("queue", "show", "q").out
    assert relaunch("queue", "update", "q", "--allow-field", "").code == 0
    assert relaunch("queue", "show", "q", "--json").json()["allow_fields"] == []
