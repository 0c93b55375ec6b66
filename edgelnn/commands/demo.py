"""`edgelnn demo`: the pipeline that exists so far, end to end on bundled data."""

from __future__ import annotations

import click

from edgelnn.demo import zoo_demo
from edgelnn.utils.table import format_table


@click.command()
@click.option("--input-size", type=click.IntRange(min=1), default=6, show_default=True)
@click.option("--hidden", "hidden_size", type=click.IntRange(min=4), default=32, show_default=True)
def demo(input_size: int, hidden_size: int) -> None:
    """Build every model, stream it over a random irregularly-sampled sequence and print its costs."""
    click.echo("== model zoo: build each model and stream 50 steps with irregular dt ==")
    click.echo(format_table(zoo_demo(input_size, hidden_size)))
