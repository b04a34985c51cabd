"""Every ``relaunch ...`` command the docs show parses against the real CLI (the typer
app's click command tree), without running it.

- In fenced code blocks (README.md, docs/*.md) a command is checked in full, as the
  shell would pass it: the subcommand exists, every flag exists and has its value,
  the arguments are all there and no extra one is left over, and a ``-r`` names a
  resource of the backend table. An upper-case word (``ID``, ``N``, ``NAME``) is a
  placeholder and stands for any value.
- In inline code (prose), where a command is often a fragment (`relaunch queue
  create ... -e team-a`), the subcommand path and every flag must exist.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import typer

try:  # typer >= 0.20 vendors click; older releases use the click package
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]

from launch_core.backends.table import BACKENDS
from relaunch_cli.main import app
from tests.unit.docs.markdown import DOCS, inline_code, rel, split_fences

ROOT_COMMAND = typer.main.get_command(app)
PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]*")
RESOURCE_ALIASES = {"gcp-vertex"}  # W&B's name for vertex, accepted wherever one is named
SHELL_BREAKS = {"|", "||", "&&", ";", "&", "(", ")", "$(", "`"}


def shell_commands(line: str) -> list[list[str]]:
    """The ``relaunch`` invocations on one logical shell line, their words split as the
    shell would (comments dropped, ``VAR=value`` prefixes and ``... --`` wrappers
    skipped)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()`")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    found: list[list[str]] = []
    current: list[str] | None = None
    at_start = True  # where the shell expects a command name
    for word in lexer:
        if word in SHELL_BREAKS or set(word) <= set(";&|()`"):
            current, at_start = None, True
        elif current is not None:
            current.append(word)
        elif at_start and word == "relaunch":
            current = []
            found.append(current)
        else:  # `VAR=value relaunch ...` and `kubectl exec ... -- relaunch ...`
            at_start = word == "--" or (at_start and bool(re.fullmatch(r"\w+=.*", word)))
    return found


def fenced_commands() -> list[tuple[str, list[str]]]:
    found = []
    for doc in DOCS:
        for block in split_fences(doc.read_text())[0]:
            logical, start = "", 0
            for number, line in enumerate(block.lines, block.line):
                if not logical:
                    start = number
                logical += line
                if logical.endswith("\\"):
                    logical = logical[:-1] + " "
                    continue
                if re.search(r"(^|[\s;&|(`])relaunch\s", logical):
                    for words in shell_commands(logical):
                        found.append((f"{rel(doc)}:{start}", words))
                logical = ""
    return found


def resolve(words: list[str]) -> tuple[Any, list[str], list[str]]:
    """The command the words name, its path and the words left for it. Raises
    AssertionError naming a subcommand that does not exist."""
    command, path, rest = ROOT_COMMAND, ["relaunch"], list(words)
    while hasattr(command, "commands"):
        while rest and rest[0].startswith("-"):  # the group's own options (--verbose)
            assert _option(command, rest[0]), f"{' '.join(path)} has no option {rest[0]}"
            rest.pop(0)
        if not rest:
            break
        name = rest.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, (f"'{' '.join(path)}' has no subcommand {name!r} "
                                 f"(it has: {', '.join(sorted(command.commands))})")
        command, path = sub, [*path, name]
    return command, path, rest


def _option(command: Any, word: str) -> bool:
    flag = word.split("=", 1)[0]
    if flag in ("--help",):
        return True
    for param in command.params:
        names = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
        if param.param_type_name != "option":
            continue
        if flag in names:
            return True
        # short flags bundled (-vv) or a short flag with its value attached (-q gpu)
        if re.fullmatch(r"-[A-Za-z].+", flag) and flag[:2] in names:
            return True
    return False


COMMANDS = fenced_commands()


def test_the_docs_show_commands() -> None:
    # The checks below pass vacuously if the reader finds no command.
    assert len(COMMANDS) > 15
    assert {words[0] for _, words in COMMANDS} >= {"queue", "launch", "launch-agent", "job"}


@pytest.mark.parametrize(("where", "words"), COMMANDS,
                         ids=[f"{where} {' '.join(words)[:60]}" for where, words in COMMANDS])
def test_a_command_in_a_code_block_parses(where: str, words: list[str]) -> None:
    command, path, rest = resolve(words)
    args = ["1" if PLACEHOLDER.fullmatch(word) else word for word in rest]
    try:
        ctx = command.make_context(" ".join(path), args)
    except getattr(click_errors, "NoArgsIsHelpError", ()):
        return  # a bare command prints its help
    except click_errors.UsageError as exc:
        pytest.fail(f"{where}: relaunch {' '.join(words)}\n  {exc.format_message()}")
    resource = ctx.params.get("resource")
    if "resource" in ctx.params and resource is not None and not PLACEHOLDER.fullmatch(
            next((w for w in rest if w == resource), resource)):
        assert resource in {*BACKENDS["resource"], *RESOURCE_ALIASES}, (
            f"{where}: -r {resource!r} is no resource of the backend table")


def inline_commands() -> list[tuple[str, str]]:
    return [(rel(doc), span) for doc in DOCS for span in inline_code(doc.read_text())
            if re.match(r"relaunch(\s|$)", span)]


@pytest.mark.parametrize(("where", "span"), inline_commands(),
                         ids=[f"{where} {span[:60]}" for where, span in inline_commands()])
def test_a_command_in_prose_names_real_subcommands_and_flags(where: str, span: str) -> None:
    words = span.split()[1:]
    command, path = ROOT_COMMAND, ["relaunch"]
    while words and hasattr(command, "commands"):
        word = words[0]
        if word.startswith("-"):
            assert _option(command, word), f"{where}: `{span}`: no option {word} in {path}"
            words.pop(0)
            continue
        # alternatives: `relaunch queue list | show`, `relaunch queue create/update`
        names = [word.split("/")] if "/" in word else [[word]]
        while len(words) > 2 and words[1] == "|":
            names.append([words[2]])
            del words[1:3]
        names_flat = [name for group in names for name in group]
        if any(name in ("...", "…") or name.startswith("<") or PLACEHOLDER.fullmatch(name)
               for name in names_flat):
            return  # `relaunch job ...`, `relaunch --verbose <command> ...`, `COMMAND`
        missing = [name for name in names_flat if name not in command.commands]
        assert not missing, (f"{where}: `{span}`: '{' '.join(path)}' has no subcommand "
                             f"{missing} (it has: {', '.join(sorted(command.commands))})")
        words.pop(0)
        if len(names_flat) > 1:
            return  # several commands: their flags are not checked
        command, path = command.commands[names_flat[0]], [*path, names_flat[0]]
    flags = [word for word in words if re.match(r"--?[A-Za-z]", word)]
    unknown = [flag for flag in flags if not _option(command, flag)]
    assert not unknown, f"{where}: `{span}`: '{' '.join(path)}' has no option {unknown}"


@pytest.mark.parametrize("words", [
    ["queue", "create", "gpu", "--resources", "local-process"],  # no such flag
    ["queue", "create", "gpu"],                                   # -r is required
    ["queue", "create", "gpu", "-r", "slurm"],                    # no such resource
    ["job", "status"],                                            # the id is missing
    ["job", "status", "1", "2"],                                  # an extra argument
    ["job", "stat", "1"],                                         # no such subcommand
    ["launch", "-x", "cpu"],                                      # no flag -x
])
def test_a_wrong_command_is_caught(words: list[str]) -> None:
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        test_a_command_in_a_code_block_parses("example", words)


def test_shell_lines_are_split_as_the_shell_would() -> None:
    assert shell_commands(
        "GIT_TOKEN=x relaunch launch-agent -q gpu  # a comment") == [["launch-agent", "-q", "gpu"]]
    assert shell_commands(
        "kubectl exec deploy/a -- relaunch job list | head") == [["job", "list"]]
    assert shell_commands("relaunch launch -R '{\"a\": 1}' && relaunch job list") == [
        ["launch", "-R", '{"a": 1}'], ["job", "list"]]


# docs/cli.md's flag tables: each `## relaunch ...` section's `| flag | meaning |`
# table, and the `| command | flags | notes |` tables, list every visible option of
# their command, and no option the command does not have.
CLI_MD = DOCS[0].parent / "docs" / "cli.md"


def _flags(cell: str) -> set[str]:
    return {flag for span in re.findall(r"`([^`]+)`", cell)
            for flag in re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", span)}


def cli_md_flag_tables() -> list[tuple[str, tuple[str, ...], set[str]]]:
    """(where, command path, documented flags) for each command cli.md tabulates."""
    found: list[tuple[str, tuple[str, ...], set[str]]] = []
    section: tuple[str, ...] = ()
    rows: list[list[str]] = []
    for number, line in [*split_fences(CLI_MD.read_text())[1], (0, "")]:
        heading = re.match(r"^## `relaunch ([a-z -]+)", line)
        if line.startswith("## "):
            section = tuple(heading.group(1).split()) if heading else ()
        if line.strip().startswith("|"):
            rows.append([cell.strip() for cell in line.strip()[1:-1].split("|")])
            continue
        if rows and rows[0][:2] == ["flag", "meaning"] and section:
            found.append((f"docs/cli.md:{number - len(rows)} {' '.join(section)}", section,
                          {flag for row in rows[2:] for flag in _flags(row[0])}))
        elif rows and rows[0][:2] == ["command", "flags"]:
            for row in rows[2:]:
                path = tuple(w for w in row[0].strip("`").split() if not PLACEHOLDER.fullmatch(w))
                found.append((f"docs/cli.md:{number - len(rows)} {' '.join(path)}", path,
                              _flags(row[1])))
        rows = []
    return found


def test_cli_md_tabulates_every_command() -> None:
    documented = {path for _, path, _ in cli_md_flag_tables()}
    leaves = set()

    def walk(command: Any, path: tuple[str, ...]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden and sub.help != "Alias of launch-agent.":
                leaves.add((*path, name)) if not hasattr(sub, "commands") else walk(
                    sub, (*path, name))
    walk(ROOT_COMMAND, ())
    assert documented == leaves


@pytest.mark.parametrize(("where", "path", "flags"), cli_md_flag_tables(),
                         ids=[where for where, _, _ in cli_md_flag_tables()])
def test_cli_md_flag_table_is_the_commands_flags(where: str, path: tuple[str, ...],
                                                 flags: set[str]) -> None:
    command, _, rest = resolve(list(path))
    assert not rest
    options = [param for param in command.params
               if param.param_type_name == "option" and not getattr(param, "hidden", False)]
    real = {name for param in options for name in (*param.opts, *param.secondary_opts)}
    unknown = flags - real
    assert not unknown, f"{where}: relaunch {' '.join(path)} has no {sorted(unknown)}"
    undocumented = [param.opts[-1] for param in options
                    if not {*param.opts, *param.secondary_opts} & flags]
    assert not undocumented, (f"{where}: relaunch {' '.join(path)}'s {undocumented} "
                              "missing from its table")
