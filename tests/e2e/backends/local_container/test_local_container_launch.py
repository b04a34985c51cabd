"""End to end on local-container: console scripts -> agent flow -> docker builder ->
registry push -> container run, against a real Docker daemon, the real open OCI
registry (Debian's docker-registry on RELAUNCH_TEST_REGISTRY) and the session's
Prefect server. No mocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.docker import (
    containers_of,
    create_queue,
    enqueue,
    registry_tags,
    run_agent,
    write_agent_config,
    write_code,
)


def _config(tmp_path: Path, docker_env, names, **extra) -> Path:
    return write_agent_config(
        tmp_path / "launch-config.yaml", names.queue,
        builder={"type": "docker", "destination": names.destination(docker_env.registry),
                 "base-image": docker_env.base_image}, **extra)


def test_code_job_is_built_pushed_run_and_its_container_removed(
        relaunch, api, cli_store, docker_env, names, tmp_path):
    code = write_code(tmp_path / "job")
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, code, alpha=1, word="xyzzy")
    agent = run_agent(relaunch, _config(tmp_path, docker_env, names))
    assert agent.code == 0, agent.err[-3000:]

    item = cli_store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    image = item.handle["image"]
    repository = names.destination(docker_env.registry)
    assert image.startswith(repository + ":")
    tag = image.rpartition(":")[2]
    assert tag in registry_tags(docker_env.registry, names.repository)
    assert containers_of(docker_env, names, job) == []  # removed once recorded

    [run] = api.flow_runs(f"{names.queue}-{job}")
    assert run["state_type"] == "COMPLETED"
    lines = api.logs(run["id"])
    assert any(f"hello from {job}" in line for line in lines)
    assert any("xyzzy" in line and line.startswith("config:") for line in lines)
    messages = [e.message or "" for e in cli_store.events_for(job)]
    assert f"built image {image}" in messages and f"pushed {image}" in messages
    # The output must stay readable after the container is removed.
    logs = relaunch("job", "logs", str(job))
    assert logs.code == 0, logs.err
    assert f"hello from {job}" in logs.out, f"job logs printed {logs.out!r} after the run"
    assert '"word": "xyzzy"' in logs.out


def test_nonzero_exit_fails_item_at_stage_run_with_exit_code(
        relaunch, cli_store, docker_env, names, tmp_path):
    code = write_code(tmp_path / "job")
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, code, exit=3)
    agent = run_agent(relaunch, _config(tmp_path, docker_env, names))
    assert agent.code == 0, agent.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.stage, item.exit_code) == ("failed", "run", 3), item.reason
    assert item.reason == "exit code 3"
    assert containers_of(docker_env, names, job) == []


def test_second_launch_skips_build_and_a_removed_image_is_pulled_back(
        relaunch, cli_store, docker_env, names, tmp_path):
    code = write_code(tmp_path / "job")
    create_queue(relaunch, names.queue, names)
    config = _config(tmp_path, docker_env, names)
    first = enqueue(relaunch, names.queue, code)
    assert run_agent(relaunch, config).code == 0
    second = enqueue(relaunch, names.queue, code)
    agent = run_agent(relaunch, config)
    assert agent.code == 0, agent.err[-3000:]

    one, two = cli_store.get_item(first), cli_store.get_item(second)
    assert (one.state, two.state) == ("finished", "finished"), (two.stage, two.reason)
    image = one.handle["image"]
    assert two.handle["image"] == image
    first_notes = [e.message or "" for e in cli_store.events_for(first)]
    second_notes = [e.message or "" for e in cli_store.events_for(second)]
    assert f"built image {image}" in first_notes
    assert f"build skipped: {image} already exists" in second_notes
    assert not any(m.startswith("built image") for m in second_notes)

    docker_env.client.images.remove(image, force=True)
    assert not docker_env.client.images.list(name=image)
    third = enqueue(relaunch, names.queue, code)
    agent = run_agent(relaunch, config)
    assert agent.code == 0, agent.err[-3000:]
    item = cli_store.get_item(third)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    assert item.handle["image"] == image
    notes = [e.message or "" for e in cli_store.events_for(third)]
    assert f"build skipped: {image} already exists" in notes
    assert docker_env.client.images.list(name=image), "the resource should have pulled it"


@pytest.mark.parametrize(("option", "message"), [
    ({"privileged": True}, "option 'privileged' is not allowed"),
    ({"volumes": {"/": {"bind": "/host", "mode": "rw"}}}, "option 'volumes' is not allowed"),
    # none (the default), host and bridge (W&B's default, asked for explicitly) are allowed
    ({"network": "container:other"}, "option 'network': 'container:other' is not allowed"),
])
def test_a_forbidden_option_in_the_queue_config_is_refused_at_queue_create(
        relaunch, option, message):
    result = relaunch("queue", "create", "q", "-r", "local-container",
                      "--config", json.dumps(option))
    assert result.code == 2 and message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert relaunch("queue", "list", "--json").json() == []  # nothing stored


def test_a_forbidden_option_from_resource_args_is_refused_at_launch(relaunch, names, tmp_path):
    code = write_code(tmp_path / "job")
    create_queue(relaunch, names.queue, names)
    result = relaunch("launch", "-q", names.queue, "--code", str(code), "-R",
                      json.dumps({"local-container": {"cap_add": ["SYS_ADMIN"]}}))
    assert result.code == 2 and "option 'cap_add' is not allowed" in result.err
    assert relaunch("job", "list", "--json").json() == []  # nothing enqueued


def test_failing_build_fails_at_stage_build_with_last_build_lines(
        relaunch, api, cli_store, docker_env, names, tmp_path):
    dockerfile = (f"FROM {docker_env.base_image}\n"
                  "RUN echo build-marker-7f3a && false\n")
    code = write_code(tmp_path / "job", Dockerfile=dockerfile)
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, code)
    agent = run_agent(relaunch, _config(tmp_path, docker_env, names))
    assert agent.code == 0, agent.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.stage) == ("failed", "build")
    assert item.reason.startswith("image build failed:")
    assert "build-marker-7f3a" in item.reason
    assert "non-zero code" in item.reason
    assert "\n" not in item.reason
    assert registry_tags(docker_env.registry, names.repository) == []


def test_bad_dockerfile_instruction_fails_at_stage_build(
        relaunch, cli_store, docker_env, names, tmp_path):
    code = write_code(tmp_path / "job",
                      Dockerfile=f"FROM {docker_env.base_image}\nFROBNICATE now\n")
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, code)
    agent = run_agent(relaunch, _config(tmp_path, docker_env, names))
    assert agent.code == 0, agent.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.stage) == ("failed", "build")
    assert "frobnicate" in item.reason.lower()


def test_dockerfile_override_flag_is_used_over_the_jobs_own_dockerfile(
        relaunch, api, cli_store, docker_env, names, tmp_path):
    custom = (f"FROM {docker_env.base_image}\nCOPY . /app\nWORKDIR /app\n"
              "ENV MARKER=from-custom-dockerfile\n")
    # the submitter's entry point (-E python3 main.py) runs in the image built from it
    code = write_code(tmp_path / "job", main="import os; print(os.environ['MARKER'])\n",
                      Dockerfile=f"FROM {docker_env.base_image}\nRUN false\n",
                      custom__Dockerfile=custom)
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, code, "-D", "custom.Dockerfile")
    agent = run_agent(relaunch, _config(tmp_path, docker_env, names))
    assert agent.code == 0, agent.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    [run] = api.flow_runs(f"{names.queue}-{job}")
    assert "from-custom-dockerfile" in api.logs(run["id"])
