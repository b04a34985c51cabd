"""load_mapping (file / inline JSON / inline YAML) and parse_model error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launch_core.errors import InvalidInput
from launch_core.spec.inputs import MAX_INPUT_BYTES, load_mapping, parse_model
from launch_core.spec.models import LaunchSpec, QueueDefinition

# --- load_mapping: sources ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1, "b": [true, null]}', {"a": 1, "b": [True, None]}),
        ("a: 1\nb:\n  - true\n  - null\n", {"a": 1, "b": [True, None]}),
        ("{a: 1}", {"a": 1}),
        ('{"name": "日本語", "v": "café"}', {"name": "日本語", "v": "café"}),
        ("", {}),
        ("# only a comment\n", {}),
        ("null", {}),
    ],
)
def test_inline_json_and_yaml_are_parsed(text: str, expected: dict) -> None:
    assert load_mapping(text, "--config") == expected


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_files_are_read(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"cfg{suffix}"
    path.write_text(json.dumps({"a": {"b": 1}}) if suffix == ".json" else "a:\n  b: 1\n",
                    encoding="utf-8")
    assert load_mapping(str(path), "--config") == {"a": {"b": 1}}


def test_missing_file_is_reported_with_source_and_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(InvalidInput, match=rf"--config: file {path} not found"):
        load_mapping(str(path), "--config")


@pytest.mark.parametrize("text", ["path: a.yaml", "file: x.json", "{values: b.yml}"])
def test_inline_yaml_whose_value_ends_like_a_file_name_is_still_yaml(text: str) -> None:
    assert isinstance(load_mapping(text, "--config"), dict)


# --- load_mapping: malformed input ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{"a": [1, 2}', 1),
        ("a: [1, 2\nb: 3\n", 2),
        ("a: 1\nb: 2\nc: [\n  d: :\n", 4),
        ("a: 1\n  b: 2\n", 2),
        ("a: 'unclosed\n", 2),
        ("a: !!python/object:os.system x", 1),
    ],
)
def test_malformed_input_names_the_source_and_the_line(text: str, line: int) -> None:
    with pytest.raises(InvalidInput, match=rf"^--config: not valid JSON or YAML at line {line}"):
        load_mapping(text, "--config")


def test_malformed_file_names_the_flag_the_file_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("ok: 1\nalso: 2\nbad: [\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        load_mapping(str(path), "--template-variables")
    message = str(info.value)
    assert message.startswith(f"--template-variables ({path}): not valid JSON or YAML at line ")
    assert "line 4" in message


@pytest.mark.parametrize(
    ("text", "kind"),
    [("[1, 2]", "list"), ("- a\n- b\n", "list"), ("42", "int"), ("just text", "str"),
     ("true", "bool"), ('"s"', "str"), ("3.5", "float")],
)
def test_non_mapping_documents_are_rejected(text: str, kind: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^--config: expected a mapping, got {kind}$"):
        load_mapping(text, "--config")


def test_non_mapping_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1]", encoding="utf-8")
    with pytest.raises(InvalidInput, match=rf"--config \({path}\): expected a mapping, got list"):
        load_mapping(str(path), "--config")


# --- load_mapping: huge or hostile input ---------------------------------------------


def test_inline_input_over_the_limit_is_rejected() -> None:
    text = json.dumps({"a": "x" * (2 * MAX_INPUT_BYTES)})
    with pytest.raises(InvalidInput, match="--config: input larger than 1 MiB"):
        load_mapping(text, "--config")


def test_inline_limit_counts_utf8_bytes_not_characters() -> None:
    text = "a: " + "é" * (MAX_INPUT_BYTES // 2 + 10)  # fewer chars than the limit, more bytes
    assert len(text) < MAX_INPUT_BYTES < len(text.encode("utf-8"))
    with pytest.raises(InvalidInput, match="larger than 1 MiB"):
        load_mapping(text, "--config")


def test_file_over_the_limit_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"a": "x" * (2 * MAX_INPUT_BYTES)}), encoding="utf-8")
    with pytest.raises(InvalidInput, match=rf"--config: file {path} is larger than 1 MiB"):
        load_mapping(str(path), "--config")


def test_input_just_under_the_limit_is_accepted() -> None:
    text = json.dumps({"a": "x" * (MAX_INPUT_BYTES - 100)})
    assert len(load_mapping(text, "--config")["a"]) == MAX_INPUT_BYTES - 100


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('{"a": ' + "9" * 5000 + "}", id="json-int-5000-digits"),
        pytest.param("a: " + "9" * 5000, id="yaml-int-5000-digits"),
        pytest.param("[" * 100_000, id="json-nesting"),
        pytest.param("a: " + "[" * 100_000, id="yaml-nesting"),
    ],
)
def test_hostile_input_is_invalid_input_not_a_crash(text: str) -> None:
    with pytest.raises(InvalidInput, match="^--config: "):
        load_mapping(text, "--config")


def test_big_integers_within_the_digit_limit_are_kept() -> None:
    assert load_mapping('{"a": ' + str(2**200) + "}", "--config") == {"a": 2**200}


# --- parse_model ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"image": "i", "priority": "urgent"}, "launch: priority: Input should be"),
        ({"image": "i", "bogus": 1}, "launch: bogus: unknown field"),
        ({"image": "i", "args": ["ok", 3]}, "launch: args.1: "),
        ({}, "launch: give exactly one source"),
        ([], "launch: Input should be a valid dictionary"),
    ],
)
def test_launch_spec_errors_name_the_field(data: object, expected: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_model(LaunchSpec, data, "launch")
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)
    assert "Value error" not in str(info.value)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": "café"}, "--config: name: String should match pattern"),
        ({"template_variables": {"g": {"type": "int"}}, "config": {"a": "{{ g }}"}},
         "--config: template_variables.g.type: "),
        ({"template_variables": {"g": {"type": "integer", "minimum": 3, "default": 1}},
          "config": {"a": "{{ g }}"}},
         "--config: template_variables.g: 1 is below minimum 3"),
        ({"config": {"a": "{{ g }}"}}, "--config: config.a uses undeclared template variable 'g'"),
        ({"extra": 1}, "--config: extra: unknown field"),
    ],
)
def test_queue_errors_name_the_field(fields: dict, expected: str) -> None:
    data = {"entity": "team", "name": "q", "resource": "local-process", **fields}
    with pytest.raises(InvalidInput) as info:
        parse_model(QueueDefinition, data, "--config")
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_parse_model_returns_the_model() -> None:
    assert parse_model(LaunchSpec, {"image": "i"}, "launch").image == "i"
