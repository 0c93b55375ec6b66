"""`edgelnn tasks`: the registered tasks with their OOD splits."""

from __future__ import annotations

import click

from edgelnn.utils.table import format_table


@click.command()
def tasks() -> None:
    """List the registered tasks (loading nothing)."""
    from edgelnn.tasks import TASKS

    rows = [{"task": name, "description": spec.description} for name, spec in TASKS.items()]
    click.echo(format_table(rows))
