"""End to end with the kaniko builder: console scripts -> a real agent (on the
session's Prefect server) whose builder section says ``kaniko`` -> the build context
in moto's S3 (test double of Amazon S3) -> a build Job in the Kubernetes test double
(kmock's emulator and the kwok-like job controller of tests/kubernetes/, running the
pod's container on the local Docker daemon). The pod runs a stand-in executor that
fails as kaniko does on a bad Dockerfile; kaniko itself is never run."""

from __future__ import annotations

import json

from tests.support.docker import aws_env, create_queue, enqueue, run_agent, write_code


def test_failed_kaniko_build_fails_the_job_at_stage_build_with_its_last_lines(
        relaunch, api, cli_store, kube_double, s3_bucket, moto_server,  # noqa: F811
        standin_images, docker_env, names, tmp_path):
    config = tmp_path / "launch-config.yaml"
    config.write_text(json.dumps({"queues": [names.queue], "builder": {
        "type": "kaniko", "destination": names.destination(docker_env.registry),
        "base-image": docker_env.base_image, "build-context-store": f"s3://{s3_bucket}/ctx",
        "kaniko-image": standin_images["fail"]}}))
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, write_code(tmp_path / "job"))
    kubeconfig = kube_double.kubeconfig(tmp_path / "kubeconfig", namespace="builds")

    agent = run_agent(relaunch, config, env={**aws_env(moto_server),
                                             "KUBECONFIG": str(kubeconfig)})

    assert agent.code == 0, agent.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.stage) == ("failed", "build"), item.reason
    assert item.reason.startswith("image build failed (kaniko: exit code 1): ")
    assert item.reason.endswith("error building image: unknown instruction: FORM")
    status = relaunch("job", "status", str(job))
    assert "error building image: unknown instruction: FORM" in status.out
    [build] = kube_double.ever_created("jobs")
    assert build.startswith(f"relaunch-build-{job}-")
    assert kube_double.objects("jobs") == {}
    [run] = api.flow_runs(f"{names.queue}-{job}")
    assert run["state_type"] == "FAILED"
    import boto3

    listed = boto3.client("s3", endpoint_url=moto_server).list_objects_v2(Bucket=s3_bucket)
    assert listed.get("KeyCount") == 0  # the uploaded context was removed
