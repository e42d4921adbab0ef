"""The ``mlv`` entry point and its single error boundary.

Commands are imported only when invoked, so ``mlv --help`` and git hooks start fast.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import sys
from typing import Any

import click

import mlv

# command name -> (module under mlv.cli.commands, one-line help shown by `mlv --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "Make this git repository an mlv project."),
    "track": ("track", "Track files or directories as artifacts (data, features, models...)."),
    "untrack": ("track", "Stop tracking paths; the files stay where they are."),
    "status": ("status", "Show how tracked paths, environment and code differ from mlv.lock."),
    "snapshot": ("snapshot", "Store every artifact, record environment and code, commit mlv.lock."),
    "checkout": ("checkout", "Restore tracked paths as recorded at a revision."),
    "stage": ("stage", "Declare pipeline stages: mlv stage add NAME -d DEP -o OUT -- CMD."),
    "run": ("run", "Run stale pipeline stages and record them in mlv.lock."),
    "reproduce": ("reproduce", "Re-run a recorded run in isolation and prove it reproduces."),
    "lineage": ("lineage", "Show which stages and inputs produced an artifact."),
    "log": ("log", "List the snapshots in git history."),
    "remote": ("remote", "Manage remotes (a directory, s3://, any fsspec URL)."),
    "push": ("sync", "Upload the objects revisions need to a remote."),
    "fetch": ("sync", "Download the objects revisions need from a remote."),
    "pull": ("sync", "Fetch, then check out."),
    "gc": ("gc", "Remove store objects no kept revision needs."),
    "hooks": ("hooks", "Install or remove mlv's git hooks."),
    "verify": ("verify", "Re-hash the store; check referenced objects exist (locally, remotely)."),
    "show": ("show", "Show what a snapshot recorded."),
    "completion": ("completion", "Print the shell completion script (bash, zsh, fish)."),
    "diff": ("diff", "Show what changed: artifacts, params, metrics, tables and drift."),
    "report": ("report", "Write a self-contained HTML report: metrics, drift, lineage, env."),
    "import-dvc": ("import_dvc", "Adopt a DVC project: .dvc files, dvc.yaml, dvc.lock and data."),
    "env": ("env", "Show, diff and restore recorded environments (and the cache of rebuilt ones)."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"mlv.cli.commands.{COMMANDS[cmd_name][0]}")
        command: click.Command = getattr(module, cmd_name.replace("-", "_"))
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
# A package `mlv` of another distribution has no __version__; main() says so before click runs.
@click.version_option(getattr(mlv, "__version__", "unknown"), prog_name="mlv")
def cli() -> None:
    """mlv: version data, features, models, environments and code beside your git commits,
    and re-run any historical run to prove it reproduces.

    \b
    Start:   mlv init && mlv track data/raw && mlv snapshot -m "first data"
    Inspect: mlv status, mlv log, mlv show REV
    Restore: mlv checkout REV [PATH...]

    Exit codes: 0 ok, 1 a check failed, 2 bad usage or input, 3 internal error, 130 interrupted.
    """


def _error(message: str, hint: str | None, code: int, details: tuple[str, ...] = ()) -> int:
    # Whatever an error quotes (a backend's message, a URL, an exception's text), a secret from
    # the environment does not reach the terminal or a CI log.
    from mlv.model.secrets import scrub

    message = scrub(message, os.environ)
    hint = scrub(hint, os.environ) if hint else hint
    sys.stdout.flush()  # keep what was printed before the error in front of it
    sys.stderr.write(f"error: {message}\n")
    for detail in details:
        sys.stderr.write(f"  {scrub(detail, os.environ)}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    sys.stderr.flush()
    return code


def main(argv: list[str] | None = None) -> int:
    """Run mlv; every failure becomes an ``error:``/``hint:`` pair and a documented exit code."""
    from mlv.errors import MlvError

    # A polite kill (SIGTERM, e.g. a CI timeout) unwinds like Ctrl-C, so temporary worktrees and
    # files are cleaned up on the way out.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        from mlv.cli.clash import check_not_clobbered

        check_not_clobbered()
        raw = list(sys.argv[1:] if argv is None else argv)
        # Commands that must see what click hides (a literal `--`) read the raw words here.
        result: Any = cli.main(args=raw, prog_name="mlv", standalone_mode=False, obj={"argv": raw})
    except MlvError as exc:
        if os.environ.get("MLV_DEBUG"):
            raise
        return _error(exc.message, exc.hint, exc.exit_code, exc.details)
    except click.UsageError as exc:  # NoSuchOption, BadParameter, ... too
        return _error(exc.format_message(), _usage_hint(exc.ctx), 2)
    except click.exceptions.Abort:
        return _error("interrupted", None, 130)
    except KeyboardInterrupt:
        return _error("interrupted", "run the command again to complete the work", 130)
    except BrokenPipeError:
        # The reader went away (e.g. `mlv log | head`); that is not an error of ours.
        sys.stderr.close()
        return 0
    except OSError as exc:
        if os.environ.get("MLV_DEBUG"):
            raise
        return _error(*_os_error(exc), 3)
    except Exception as exc:
        if os.environ.get("MLV_DEBUG"):
            raise
        return _error(
            f"internal error: {type(exc).__name__}: {exc}",
            "this is a bug in mlv; rerun with MLV_DEBUG=1 for the traceback and report it",
            3,
        )
    if isinstance(result, int):
        return result
    return 0


# What to do when the machine fails under mlv; temporary files were removed on the way out.
_OS_HINTS = {
    errno.ENOSPC: "free disk space there, then run the command again (nothing was lost)",
    errno.EDQUOT: "free space within your disk quota, then run the command again (it resumes)",
    errno.EIO: "the disk reported an I/O error: check it, then run `mlv verify` and the command"
    " again",
    errno.EROFS: "the file system is read-only: remount it writable, or use a writable location",
}


def _os_error(exc: OSError) -> tuple[str, str]:
    """A failure of the machine (full disk, I/O error, permissions): what and where, and what
    to do. A temporary file's name means nothing to a user; its directory does."""
    where = str(exc.filename or "")
    if where.endswith(".mlv-tmp"):
        where = os.path.dirname(where)
    message = f"{exc.strerror or exc}" + (f": {where}" if where else "")
    hint = _OS_HINTS.get(
        exc.errno or 0,
        "check permissions and free disk space, then run the command again",
    )
    return message, f"{hint} (MLV_DEBUG=1 shows the traceback)"


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _usage_hint(ctx: click.Context | None) -> str:
    if ctx is not None and ctx.command_path:
        return f"see `{ctx.command_path} --help`"
    return "see `mlv --help`"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
