"""The `edgelnn` command line: a thin layer over library functions (commands live in edgelnn/commands/)."""

from __future__ import annotations

import os
import sys

import click

from edgelnn import __version__
from edgelnn.errors import EdgelnnError


class _Group(click.Group):
    """Turns expected failures into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click formats its own usage errors (exit 2)
        except (EdgelnnError, ValueError, FileNotFoundError, FileExistsError, PermissionError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # an unexpected failure: still one line, unless debugging
            if os.environ.get("EDGELNN_DEBUG"):
                raise
            click.echo(f"error: internal error ({type(exc).__name__}): {exc} (set EDGELNN_DEBUG=1 for a traceback)",
                       err=True)
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
