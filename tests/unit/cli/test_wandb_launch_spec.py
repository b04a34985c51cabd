"""Golden dry runs: W&B's own documented launch specs, ``-R`` bodies and commands give
the job W&B would launch (``relaunch launch --dry-run --json``).

Sources (W&B docs, github.com/wandb/docs, platform/launch/): add-job-to-queue.mdx
(the ``config.json`` launch specs), setup-launch-docker.mdx (a Docker resource config),
walkthrough.mdx (the ``wandb launch`` commands), setup-queue-advanced.mdx (a queue
template). W&B's semantics are from wandb/sdk/launch (utils.construct_launch_spec,
_project_spec.LaunchProject, _launch_add) and the launch command in wandb/cli/cli.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# add-job-to-queue.mdx: "Create a JSON configuration with hyperparameter overrides".
DOCS_OVERRIDES = {"overrides": {"args": [], "run_config": {"learning_rate": 0, "epochs": 0},
                                "entry_point": []}}
# setup-launch-docker.mdx: a Docker queue configuration (docker run options).
DOCS_DOCKER_ARGS = {"env": ["MY_ENV_VAR=value", "MY_EXISTING_ENV_VAR"],
                    "volume": "/mnt/datasets:/mnt/datasets", "rm": True, "gpus": "all"}
# What relaunch runs of it: no agent variable passed through (MY_EXISTING_ENV_VAR), no
# host mount (volume), no GPUs the queue's admin did not give (gpus); `rm` is what
# relaunch does anyway.
ALLOWED_DOCKER_ARGS = {"env": ["MY_ENV_VAR=value"], "rm": True}
# wandb's release tests (tests/release_tests/test_launch): LAUNCH_JOB_CONFIG.
WANDB_K8S_SPEC = {"resource_args": {"kubernetes": {"namespace": "wandb-release-testing"}}}


def _queue(relaunch, name: str, resource: str = "local-process", *extra: str) -> str:
    result = relaunch("queue", "create", name, "-r", resource, *extra)
    assert result.code == 0, result.err
    return name


def _dry_run(relaunch, *args: str) -> dict:
    result = relaunch("launch", *args, "--dry-run", "--json")
    assert result.code == 0, result.err
    return result.json()


def _refused(relaunch, *args: str) -> str:
    result = relaunch("launch", *args)
    assert result.code == 2, result.out
    assert result.err.startswith("error: ") and len(result.err.strip().splitlines()) == 1
    assert relaunch("job", "list", "--json").json() == []
    return result.err


def test_docs_overrides_spec_sets_the_run_config_and_leaves_args_and_entry_point(relaunch):
    _queue(relaunch, "q", "local-process", "--config", '{"env": {"A": "1"}}')
    job = _dry_run(relaunch, "-q", "q", "-d", "img:1", "-c", json.dumps(DOCS_OVERRIDES))
    spec = job["spec"]
    # W&B: run_config overrides wandb.config; empty args/entry_point override nothing.
    assert spec["run_config"] == {"learning_rate": 0, "epochs": 0}
    assert spec["args"] == [] and "entry_point" not in spec
    assert job["resource_config"] == {"env": {"A": "1"}}


def test_docs_spec_from_a_file_with_resource_args_for_the_queue_resource(relaunch, tmp_path):
    _queue(relaunch, "docker", "local-container", "--config", '{"memory": "512m"}')
    spec_file = tmp_path / "config.json"
    spec_file.write_text(json.dumps(
        {**DOCS_OVERRIDES, "resource_args": {"local-container": ALLOWED_DOCKER_ARGS}}))
    job = _dry_run(relaunch, "-q", "docker", "-d", "img:1", "-c", str(spec_file))
    # The queue config, with the job's resource args merged over it.
    assert job["resource_config"] == {"memory": "512m", **ALLOWED_DOCKER_ARGS}
    assert job["spec"]["resource_args"] == ALLOWED_DOCKER_ARGS
    assert job["spec"]["run_config"] == {"learning_rate": 0, "epochs": 0}


def test_docs_docker_body_as_resource_args_flag_keyed_by_resource(relaunch):
    _queue(relaunch, "docker", "local-container")
    job = _dry_run(relaunch, "-q", "docker", "-d", "img:1", "-R",
                   json.dumps({"local-container": ALLOWED_DOCKER_ARGS}))
    assert job["resource"] == "local-container"
    assert job["resource_config"] == ALLOWED_DOCKER_ARGS


@pytest.mark.parametrize(("refused", "message"), [
    ({"env": DOCS_DOCKER_ARGS["env"]}, "option 'env': 'MY_EXISTING_ENV_VAR' is not KEY=VALUE"),
    ({"volume": DOCS_DOCKER_ARGS["volume"]}, "option 'volume' is not allowed"),
    ({"gpus": DOCS_DOCKER_ARGS["gpus"]}, "gpus: the host's GPUs (gpus) is the queue admin's"),
])
def test_docs_docker_options_relaunch_refuses_fail_at_dry_run(relaunch, refused, message):
    # The docs' body passes an agent variable through (-e NAME) and mounts a host path:
    # refused when the job is checked, before it is queued, not by the agent later.
    _queue(relaunch, "docker", "local-container")
    result = relaunch("launch", "-q", "docker", "-d", "img:1", "--dry-run", "-R",
                      json.dumps({"local-container": {**ALLOWED_DOCKER_ARGS, **refused}}))
    assert result.code == 2 and message in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_spec_in_yaml_inline(relaunch):
    _queue(relaunch, "q")
    spec = ("overrides:\n  run_config: {lr: 0.1}\n  args: [--epochs, 3]\n"
            "docker:\n  docker_image: img:2\n")
    job = _dry_run(relaunch, "-q", "q", "-c", spec)
    assert job["spec"]["image"] == "img:2"
    assert (job["spec"]["run_config"], job["spec"]["args"]) == ({"lr": 0.1}, ["--epochs", "3"])


def test_wandb_run_spec_shape_resolves(relaunch):
    # The runSpec W&B stores for a queued run (construct_launch_spec's output), with the
    # job replaced by an image: relaunch has no job artifacts.
    _queue(relaunch, "docker", "local-container", "--prioritization")
    run_spec = {"author": "alice", "entity": "team", "project": "test-proj",
                "resource": "local-container", "docker": {"docker_image": "img:3"}, "git": {},
                "overrides": {"args": [], "run_config": {}, "entry_point": []},
                "resource_args": {"local-container": {}}, "priority": 1, "name": "r1"}
    job = _dry_run(relaunch, "-q", "docker", "-c", json.dumps(run_spec))
    assert job["entity"] == "team"
    assert {k: job["spec"][k] for k in ("image", "author", "project", "priority", "name")} == {
        "image": "img:3", "author": "alice", "project": "test-proj", "priority": "high",
        "name": "r1"}


def test_walkthrough_image_command(relaunch):
    # wandb launch --docker-image wandb/job_hello_world:main --project launch-quickstart
    #   --queue <queue-name>
    _queue(relaunch, "quickstart", "local-container")
    job = _dry_run(relaunch, "--docker-image", "wandb/job_hello_world:main", "--project",
                   "launch-quickstart", "--queue", "quickstart")
    assert (job["spec"]["image"], job["spec"]["project"]) == (
        "wandb/job_hello_world:main", "launch-quickstart")


def test_walkthrough_git_command_without_build_context(relaunch):
    _queue(relaunch, "quickstart", "local-container")
    job = _dry_run(relaunch, "-q", "quickstart", "--uri",
                   "https://github.com/wandb/launch-jobs.git", "--project", "launch-quickstart",
                   "--dockerfile", "Dockerfile.wandb", "--entry-point", "python job.py")
    spec = job["spec"]
    assert spec["uri"] == "https://github.com/wandb/launch-jobs.git"
    assert (spec["dockerfile"], spec["entry_point"]) == ("Dockerfile.wandb", ["python", "job.py"])


def test_walkthrough_local_code_command_is_a_code_job(relaunch, tmp_path):
    # wandb launch --uri . --job-name hello-world-code --project launch-quickstart
    #   --entry-point "python train.py"   (here from the directory's parent)
    code = tmp_path / "hello"
    code.mkdir()
    (code / "train.py").write_text("import wandb\n")
    (code / "requirements.txt").write_text("wandb>=0.17.1\n")
    _queue(relaunch, "quickstart", "local-container")
    result = relaunch("launch", "-q", "quickstart", "--uri", "./hello", "--job-name",
                      "hello-world-code", "--project", "launch-quickstart", "--entry-point",
                      "python train.py", "--dry-run")
    assert result.code == 0, result.err
    assert "-J/--job-name: relaunch creates no W&B job" in result.err
    spec = json.loads(result.out)["spec"]
    assert "uri" not in spec and spec["entry_point"] == ["python", "train.py"]
    same = _dry_run(relaunch, "-q", "quickstart", "--code", str(code))
    assert spec["code"] == same["spec"]["code"]


def test_build_context_is_the_code_subdirectory(relaunch, tmp_path):
    (tmp_path / "repo" / "jobs" / "hello").mkdir(parents=True)
    (tmp_path / "repo" / "jobs" / "hello" / "job.py").write_text("print('hi')\n")
    (tmp_path / "repo" / "other.py").write_text("print('other')\n")
    _queue(relaunch, "q")
    job = _dry_run(relaunch, "-q", "q", "-u", "./repo", "--build-context", "jobs/hello")
    only_context = _dry_run(relaunch, "-q", "q", "--code", str(tmp_path / "repo/jobs/hello"))
    assert job["spec"]["code"] == only_context["spec"]["code"]


def test_docs_queue_template_with_spec_template_variables_and_set_var(relaunch):
    # setup-queue-advanced.mdx: a string variable choosing the instance type; W&B's
    # launch_add merges -v values over the spec's template_variables.
    variables = {"aws_instance": {"type": "string", "enum": ["ml.m4.xlarge", "ml.p3.xlarge"]},
                 "count": {"type": "integer", "minimum": 1, "maximum": 2, "default": 1}}
    config = {"env": {"INSTANCE_TYPE": "{{aws_instance}}", "INSTANCE_COUNT": "{{count}}"}}
    _queue(relaunch, "tpl", "local-process", "--config", json.dumps(config),
           "--template-variables", json.dumps(variables))
    spec = {"template_variables": {"aws_instance": "ml.m4.xlarge", "count": 2}}
    job = _dry_run(relaunch, "-q", "tpl", "-d", "img", "-c", json.dumps(spec),
                   "-v", "aws_instance=ml.p3.xlarge")
    assert job["resource_config"] == {"env": {"INSTANCE_TYPE": "ml.p3.xlarge",
                                              "INSTANCE_COUNT": 2}}
    assert job["spec"]["template_values"] == {"aws_instance": "ml.p3.xlarge", "count": 2}


def test_flags_override_the_spec(relaunch):
    _queue(relaunch, "q", "local-process", "--prioritization")
    _queue(relaunch, "q", "local-process", "-e", "other")
    spec = {"docker": {"docker_image": "spec-img"}, "entity": "other", "project": "p1",
            "name": "n1", "priority": "low",
            "overrides": {"args": ["--a", "1"], "entry_point": ["python", "a.py"],
                          "run_config": {"lr": 1, "keep": True}},
            "resource_args": {"local-process": {"env": {"S": "spec"}}}}
    job = _dry_run(relaunch, "-q", "q", "-c", json.dumps(spec), "-e", "team", "-d", "flag-img",
                   "-p", "p2", "--name", "n2", "-P", "high", "-a", "--b 2", "-E", "python b.py",
                   "--run-config", '{"lr": 2}', "-R", '{"local-process": {"env": {"F": "f"}}}')
    assert job["entity"] == "team"
    spec_out = job["spec"]
    assert {k: spec_out[k] for k in ("image", "project", "name", "priority")} == {
        "image": "flag-img", "project": "p2", "name": "n2", "priority": "high"}
    assert spec_out["args"] == ["--b", "2"] and spec_out["entry_point"] == ["python", "b.py"]
    assert spec_out["run_config"] == {"lr": 2}  # --run-config replaces the spec's
    assert job["resource_config"] == {"env": {"F": "f"}}  # -R replaces, as in W&B


def test_spec_source_is_replaced_by_a_source_flag(relaunch, tmp_path):
    _queue(relaunch, "q")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "t.py").write_text("")
    spec = json.dumps({"uri": "https://github.com/wandb/launch-jobs.git"})
    job = _dry_run(relaunch, "-q", "q", "-c", spec, "--code", str(tmp_path / "code"))
    assert "uri" not in job["spec"] and job["spec"]["code"].startswith("sha256:")


def test_bare_queue_flag_means_the_default_queue(relaunch):
    _queue(relaunch, "default")
    assert _dry_run(relaunch, "-d", "img", "-q")["queue"] == "default"
    assert _dry_run(relaunch, "--queue", "-d", "img")["queue"] == "default"
    assert _dry_run(relaunch, "-q", "-d", "img", "-a", "-q")["spec"]["args"] == ["-q"]


def test_resource_flag_matching_the_queue_is_accepted(relaunch):
    _queue(relaunch, "q")
    assert _dry_run(relaunch, "-q", "q", "-r", "local-process", "-d", "img")["queue"] == "q"


def test_base_image_short_flag(relaunch, tmp_path):
    (tmp_path / "code").mkdir()
    _queue(relaunch, "q")
    job = _dry_run(relaunch, "-q", "q", "--code", str(tmp_path / "code"), "-B", "python:3.12")
    assert job["spec"]["base_image"] == "python:3.12"


@pytest.mark.parametrize(("args", "message"), [
    (["-c", json.dumps({"foo": {"bar": 1}})],
     "error: -c/--config: key 'foo' is not supported (-c takes W&B's launch spec"),
    (["-c", json.dumps({"overrides": {"bar": 1}})],
     "error: -c/--config: key 'overrides.bar' is not supported"),
    (["-c", json.dumps({"out": "/tmp/x"})], "or pass it with --run-config"),
    (["-c", json.dumps(WANDB_K8S_SPEC)],
     "error: resource_args: key 'kubernetes' is for another resource than queue 'docker', "
     "which runs on local-container"),
    (["-R", json.dumps({"local-process": {"env": {"A": "1"}}})],
     "error: resource_args: key 'local-process' is for another resource than queue 'docker'"),
    (["-R", json.dumps({"gpus": "all"})],
     "error: resource_args: key 'gpus' is not a resource: resource args are keyed by resource"),
    (["-r", "local-process"],
     "error: resource: queue 'docker' runs on local-container, not local-process"),
    (["-j", "wandb/jobs/hello:latest"],
     "error: -j/--job: a job brings its own source; give -j or -d/--docker-image, not both"),
    (["-B", "python:3.12"], "error: -B/--base-image: an image job (-d) builds nothing"),
    (["--async"], "error: --async: applies to a direct launch (without -q)"),
    (["--build-context", "sub"], "error: --build-context: applies to a git repository or a "
                                 "local code directory"),
])
def test_refused_on_an_image_job_naming_key_and_flag(relaunch, args, message):
    _queue(relaunch, "docker", "local-container")
    assert message in _refused(relaunch, "-q", "docker", "-d", "img", *args)


def test_local_directory_errors_name_the_flag(relaunch, tmp_path: Path):
    (tmp_path / "code").mkdir()
    _queue(relaunch, "q")
    assert "error: -u/--uri: ./missing is not a directory" in _refused(
        relaunch, "-q", "q", "-u", "./missing")
    assert "error: -u/--uri: a local directory is a code source, like --code" in _refused(
        relaunch, "-q", "q", "-u", "./code", "--code", str(tmp_path / "code"))
    assert "error: --build-context: ../x must be a path inside the code" in _refused(
        relaunch, "-q", "q", "-u", "./code", "--build-context", "../x")
    assert "must be a path inside the source" in _refused(
        relaunch, "-q", "q", "-u", "https://github.com/wandb/launch-jobs.git",
        "--build-context", "../jobs")


def test_build_context_of_a_git_repository_is_kept_for_the_agent(relaunch):
    """W&B's walkthrough: a job in a subdirectory of a git repository."""
    _queue(relaunch, "q")
    job = _dry_run(relaunch, "-q", "q", "-u", "https://github.com/wandb/launch-jobs.git",
                   "--build-context", "jobs/hello_world", "-E", "python train.py")
    assert job["spec"]["uri"] == "https://github.com/wandb/launch-jobs.git"
    assert job["spec"]["build_context"] == "jobs/hello_world"


def test_direct_launch_refuses_a_resource_off_this_host(relaunch):
    err = _refused(relaunch, "-r", "no-such-resource", "-d", "img")
    assert "resource 'no-such-resource' is not available" in err
