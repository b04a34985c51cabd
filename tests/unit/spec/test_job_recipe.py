"""Launch job recipes and references (launch_core/spec/job_recipe.py, job_refs.py): W&B's
``[ENTITY/PROJECT/]NAME[:ALIAS|:vN]``, alias rules, and the content digest."""

from __future__ import annotations

import pytest

from launch_core.errors import InvalidInput
from launch_core.spec.job_recipe import parse_recipe
from launch_core.spec.job_refs import JobRef, parse_job_ref, parse_version_ref


@pytest.mark.parametrize(("text", "ref"), [
    ("train", JobRef("train")),
    ("train:latest", JobRef("train", "latest")),
    ("train:v12", JobRef("train", "v12")),
    ("train:prod", JobRef("train", "prod")),
    ("team/vision/train:v0", JobRef("train", "v0", "team", "vision")),
])
def test_references_read_as_wandb_writes_them(text: str, ref: JobRef) -> None:
    assert parse_job_ref(text, "-j/--job") == ref


@pytest.mark.parametrize(("text", "message"), [
    ("vision/train", "is not a job reference ([ENTITY/PROJECT/]NAME[:ALIAS|:vN])"),
    ("train:", "is not a job reference"),
    ("train:v01", "alias 'v01' looks like a version"),
    ("tr ain", "job name 'tr ain' must match"),
    ("a b/p/train", "entity or project 'a b' must match"),
])
def test_bad_references_name_the_flag(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_job_ref(text, "-j/--job")
    assert str(refused.value).startswith("-j/--job: ") and message in str(refused.value)


def test_a_version_reference_takes_no_alias() -> None:
    assert parse_version_ref("train:v3", "NAME:vN") == ("train", 3)
    assert parse_version_ref("train", "NAME:vN") == ("train", None)
    with pytest.raises(InvalidInput, match="names an alias; give the version"):
        parse_version_ref("train:prod", "NAME:vN")


def test_the_digest_is_the_content_and_only_the_content() -> None:
    one = parse_recipe({"kind": "image", "image": "img:1", "entry_point": ["a", "b"]}, "x")
    same = parse_recipe({"entry_point": ["a", "b"], "image": "img:1", "kind": "image"}, "x")
    other = parse_recipe({"kind": "image", "image": "img:1", "entry_point": ["a", "c"]}, "x")
    with_inputs = parse_recipe({"kind": "image", "image": "img:1", "entry_point": ["a", "b"],
                                "inputs": {"lr": {"type": "number", "default": 1}}}, "x")
    assert one.digest() == same.digest()
    assert len({one.digest(), other.digest(), with_inputs.digest()}) == 3


@pytest.mark.parametrize(("data", "message"), [
    ({"kind": "git", "image": "img"}, "a git job needs its uri"),
    ({"kind": "image", "image": "img", "base_image": "python:3"}, "takes no base image"),
    ({"kind": "image", "image": "img", "entry_point": []}, "entry_point must be a non-empty"),
    ({"kind": "git", "uri": "https://h/r.git", "build_context": "../up"},
     "build_context '../up' must be a path inside the source"),
])
def test_a_recipe_keeps_a_launchs_rules(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_recipe(data, "job create")
    assert str(refused.value).startswith("job create") and message in str(refused.value)
