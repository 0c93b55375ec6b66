"""The `edgelnn` command line: a thin layer over library functions (commands live in edgelnn/commands/)."""

from __future__ import annotations

import errno
import os
import sys

import click

from edgelnn import __version__
from edgelnn.errors import EdgelnnError

# OSErrors that come from the paths a user gave (a file where a folder is needed, a name too long, ...):
# bad input, exit 2, like FileNotFoundError. Others (disk full, I/O errors) stay unexpected failures.
USER_PATH_ERRNOS = frozenset({errno.ENOENT, errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG,
                              errno.EACCES, errno.EPERM, errno.EROFS, errno.ELOOP})


def one_line(message: str) -> str:
    """``message`` on one line: its non-empty lines joined with "; " (the CLI prints exactly one line)."""
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


def describe_os_error(exc: OSError) -> str:
    """``PATH: reason`` for an OSError about a path (no "[Errno N]"), else its own message."""
    if exc.filename is None or not exc.strerror:
        return str(exc)
    paths = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    return f"{paths}: {exc.strerror}"


def _is_user_error(exc: BaseException) -> bool:
    if isinstance(exc, (EdgelnnError, ValueError, FileNotFoundError, FileExistsError, PermissionError,
                        NotADirectoryError, IsADirectoryError)):
        return True
    return isinstance(exc, OSError) and exc.errno in USER_PATH_ERRNOS


class _Group(click.Group):
    """Turns expected failures into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click formats its own usage errors (exit 2)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if _is_user_error(exc):
                message = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
                click.echo(f"error: {one_line(message)}", err=True)
                sys.exit(2)
            if os.environ.get("EDGELNN_DEBUG"):  # an unexpected failure: still one line, unless debugging
                raise
            click.echo(f"error: internal error ({type(exc).__name__}): {one_line(str(exc))} "
                       "(set EDGELNN_DEBUG=1 for a traceback)", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="edgelnn")
def main() -> None:
    """edgelnn: liquid neural networks (CfC, LTC, LRC) from PyTorch training to edge devices."""


def _register() -> None:
    from edgelnn.commands import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register()
