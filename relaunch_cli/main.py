"""The ``relaunch`` console script: a thin layer over launch_core's API.

Exit codes: 0 success, 2 invalid input or usage (one ``error:`` line), 1 operational
failure (one line; ``relaunch --verbose ...`` adds the traceback).
"""

from __future__ import annotations

import sys
import traceback

import typer

try:  # typer >= 0.20 vendors click; older releases use the click package
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]

from flows import credentials
from launch_core.errors import LaunchError
from launch_core.masking import mask
from relaunch_cli import (
    agent_cmd,
    agent_cmds,
    job_cmds,
    launch_cmd,
    launch_job_cmds,
    queue_cmds,
    quota_cmds,
    sweep_cmds,
)
from relaunch_cli.common import BareQueueMeansDefault

app = typer.Typer(
    name="relaunch", no_args_is_help=True, add_completion=False,
    pretty_exceptions_enable=False, rich_markup_mode=None,
    help="Queues, agents and launches of ML jobs, on Prefect.",
)
app.add_typer(queue_cmds.app, name="queue")
launch_job_cmds.register(job_cmds.app)  # job create, describe, ...: launch jobs
app.add_typer(job_cmds.app, name="job")
app.add_typer(quota_cmds.app, name="quota")
app.add_typer(agent_cmds.app, name="agent")
app.command("launch", no_args_is_help=True, cls=BareQueueMeansDefault)(launch_cmd.launch)
app.command("launch-agent")(agent_cmd.launch_agent)
app.command("launch-sweep", no_args_is_help=True)(sweep_cmds.launch_sweep)
app.add_typer(sweep_cmds.app, name="sweep")

_state = {"verbose": False}


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", help="Tracebacks on failure.")) -> None:
    _state["verbose"] = verbose


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and turn errors into exit codes and one-line messages."""
    credentials.install()  # `job logs` of a cloud run may need a credentials block
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="relaunch", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except getattr(click_errors, "NoArgsIsHelpError", ()) as exc:  # bare command: its help
        sys.stdout.write(exc.format_message() + "\n")
        sys.exit(0)
    except click_errors.UsageError as exc:
        flag = f" (in '{exc.ctx.command_path}')" if exc.ctx is not None else ""
        _fail(f"{exc.format_message()}{flag}", 2)
    except click_errors.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except LaunchError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # an operational fault: say what, trace on request
        _fail(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", 1)


def _fail(message: str, code: int) -> None:
    if _state["verbose"] and code != 2:
        traceback.print_exc()
    sys.stderr.write(f"error: {mask(message)}\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
