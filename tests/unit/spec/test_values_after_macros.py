"""A template value is checked on the value the job gets: once the macros are filled
into it (``${run_name}``, ``${queue_name}``...), its variable's rules (type, bounds,
enum, pattern, length) must still hold. The agent checks it with the real macros; an
enqueue or dry run (check_launch) with the macros known then and a sample run id and
item id of the real shape."""

from __future__ import annotations

import pytest

from launch_core.api import check_launch
from launch_core.errors import TemplateError
from launch_core.spec.macros import SAMPLE_ITEM_ID, SAMPLE_RUN_ID, enqueue_macros, job_macros
from launch_core.spec.models import MAX_STRING_VALUE, LaunchSpec, QueueDefinition
from launch_core.spec.resolve import resolve_resource_config
from launch_core.store.items import new_run_id

NO_SLASH = {"type": "string", "pattern": "^[^/]+$"}
SUB = {"env": {"SUB": "/data/{{ sub }}"}}


def queue(variable: dict, config: dict | None = None, name: str = "q") -> QueueDefinition:
    return QueueDefinition.model_validate(
        {"entity": "team", "name": name, "resource": "local-process",
         "config": config or SUB, "template_variables": {"sub": variable}})


def spec(value: str, **fields: object) -> LaunchSpec:
    return LaunchSpec.model_validate({"image": "img:1", "template_values": {"sub": value},
                                      **fields})


def agent_macros(q: QueueDefinition, s: LaunchSpec, run_id: str = "k3x9m2p7q1z8",
                 image_uri: str | None = None) -> dict[str, str]:
    return job_macros(s, run_id=run_id, item_id=17, queue_name=q.name, entity_name=q.entity,
                      image_uri=image_uri or s.image)


# --- the example of the report: a run name that climbs out of /data -------------------

def test_a_run_name_filled_into_a_value_is_checked_at_enqueue() -> None:
    q, s = queue(NO_SLASH), spec("${run_name}", name="../../etc/cron.d/x")
    with pytest.raises(TemplateError, match=r"^template variable 'sub'.*macros filled in: "
                                            r"'\.\./\.\./etc/cron\.d/x' does not match "
                                            r"pattern '\^\[\^/\]\+\$'$"):
        check_launch(q, s)


def test_a_run_name_filled_into_a_value_is_checked_by_the_agent() -> None:
    q, s = queue(NO_SLASH), spec("${run_name}", name="../../etc/cron.d/x")
    with pytest.raises(TemplateError, match=r"^template variable 'sub'.*does not match pattern"):
        resolve_resource_config(q, s, agent_macros(q, s))


def test_a_value_that_keeps_its_rules_once_filled_passes_both_checks() -> None:
    q, s = queue(NO_SLASH), spec("run-${run_name}", name="nightly")
    # macros stay unfilled in the config an enqueue shows; the agent fills them
    assert check_launch(q, s) == {"env": {"SUB": "/data/run-${run_name}"}}
    assert resolve_resource_config(q, s, agent_macros(q, s)) == {
        "env": {"SUB": "/data/run-nightly"}}


# --- each macro known at enqueue is filled before the check ---------------------------

@pytest.mark.parametrize(
    ("macro", "fields", "filled"),
    [
        ("run_name", {"name": "a/b"}, "a/b"),
        ("project_name", {"project": "p/q"}, "p/q"),
        ("author", {"author": "me/you"}, "me/you"),
        ("image_uri", {"image": "registry.example/team/img:1"}, "registry.example/team/img:1"),
    ],
)
def test_macros_from_the_spec_are_filled_at_enqueue(macro: str, fields: dict,
                                                    filled: str) -> None:
    with pytest.raises(TemplateError, match=rf"'sub'.*'x{filled}' does not match"):
        check_launch(queue(NO_SLASH), spec(f"x${{{macro}}}", **fields))


@pytest.mark.parametrize(("macro", "expected"), [("queue_name", "gpu-q"),
                                                 ("entity_name", "team")])
def test_macros_from_the_queue_are_filled_at_enqueue(macro: str, expected: str) -> None:
    only = {"type": "string", "enum": ["${queue_name}", "${entity_name}", "other"]}
    with pytest.raises(TemplateError, match=rf"'sub'.*'{expected}' is not one of"):
        check_launch(queue(only, name="gpu-q"), spec(f"${{{macro}}}"))
    # the same value, filled in, that the enum allows
    allowed = {"type": "string", "enum": ["${queue_name}", "${entity_name}", expected]}
    check_launch(queue(allowed, name="gpu-q"), spec(f"${{{macro}}}"))


def test_without_a_name_the_run_name_is_a_sample_run_id() -> None:
    # the value as given passes (it is checked as given too); once filled, it is a run
    # id, with digits: a rule the real run ids break is refused
    letters_only = {"type": "string", "pattern": "^[a-z${}_]+$"}
    with pytest.raises(TemplateError, match=rf"'sub'.*'{SAMPLE_RUN_ID}' does not match"):
        check_launch(queue(letters_only), spec("${run_name}"))
    run_id_shape = {"type": "string", "pattern": "^(\\$\\{run_(id|name)\\}|[a-z0-9]{12})$"}
    check_launch(queue(run_id_shape), spec("${run_name}"))
    check_launch(queue(run_id_shape), spec("${run_id}"))
    with pytest.raises(TemplateError, match=r"'sub'.*'ab' does not match"):
        check_launch(queue(run_id_shape), spec("${run_name}", name="ab"))


def test_the_item_id_is_a_sample_of_its_real_shape() -> None:
    digits = {"type": "string", "pattern": "^job-(\\$\\{item_id\\}|[0-9]+)$"}
    check_launch(queue(digits), spec("job-${item_id}"))
    letters = {"type": "string", "pattern": "^job-[a-z${}_]+$"}
    with pytest.raises(TemplateError, match=rf"'sub'.*'job-{SAMPLE_ITEM_ID}' does not match"):
        check_launch(queue(letters), spec("job-${item_id}"))


def test_enqueue_macros_are_the_job_macros_with_samples() -> None:
    q, s = queue(NO_SLASH, name="gpu-q"), spec("x", name="n", project="p", author="a")
    macros = enqueue_macros(q, s)
    assert set(macros) == {"run_id", "run_name", "item_id", "queue_name", "entity_name",
                           "project_name", "author", "image_uri"}
    assert macros == job_macros(s, run_id=macros["run_id"], item_id=macros["item_id"],
                                queue_name="gpu-q", entity_name="team", image_uri="img:1")
    assert len(macros["run_id"]) == len(new_run_id()) and macros["run_id"].isalnum()
    assert macros["run_id"] == macros["run_id"].lower() and macros["item_id"].isdigit()


def test_the_image_uri_is_only_a_macro_when_the_spec_has_an_image() -> None:
    git = LaunchSpec.model_validate({"uri": "https://example.com/r.git",
                                     "template_values": {"sub": "${image_uri}"}})
    q = queue(NO_SLASH)
    assert "image_uri" not in enqueue_macros(q, git)
    check_launch(q, git)  # not known yet: the literal text is what is checked
    # the agent fills the image it built, and checks again
    with pytest.raises(TemplateError, match=r"'sub'.*'registry\.example/r:abc' does not match"):
        resolve_resource_config(q, git, agent_macros(q, git, image_uri="registry.example/r:abc"))


# --- every rule, not only the pattern -----------------------------------------------------

def test_length_is_checked_once_filled() -> None:
    q = queue({"type": "string"})
    value = "${run_name}" * (MAX_STRING_VALUE // len("${run_name}"))
    with pytest.raises(TemplateError, match=r"'sub'.*macros filled in: string longer than"):
        check_launch(q, spec(value, name="n" * 64))
    check_launch(q, spec(value, name="n"))


def test_values_of_other_types_are_unchanged_by_macros() -> None:
    q = QueueDefinition.model_validate(
        {"entity": "team", "name": "q", "resource": "local-container",
         "config": {"labels": {"n": "{{ n }}", "on": "{{ on }}"}},
         "template_variables": {"n": {"type": "integer", "maximum": 4},
                                "on": {"type": "boolean"}}})
    s = LaunchSpec.model_validate({"image": "img", "template_values": {"n": "4", "on": "yes"}})
    rendered = {"labels": {"n": 4, "on": True}}
    assert check_launch(q, s) == rendered
    assert resolve_resource_config(q, s, agent_macros(q, s)) == rendered


def test_a_default_is_checked_once_filled_too() -> None:
    q = queue({"type": "string", "pattern": "^[^/]+$", "default": "${project_name}"})
    s = LaunchSpec.model_validate({"image": "img", "project": "../up"})
    with pytest.raises(TemplateError, match=r"'sub'.*'\.\./up' does not match"):
        check_launch(q, s)
    with pytest.raises(TemplateError, match=r"'sub'.*'\.\./up' does not match"):
        resolve_resource_config(q, s, agent_macros(q, s))


def test_the_agents_environment_is_never_filled_into_a_value() -> None:
    q = queue(NO_SLASH)
    s = spec("${HOME}")
    rendered = resolve_resource_config(q, s, agent_macros(q, s), env={"HOME": "/root"})
    assert rendered == {"env": {"SUB": "/data/${HOME}"}}
