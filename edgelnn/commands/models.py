"""`edgelnn models`: the architectures, their options, parameter counts and state sizes."""

from __future__ import annotations

import json

import click

from edgelnn.utils.table import format_table


@click.command()
@click.option("--input-size", type=click.IntRange(min=1), default=8, show_default=True, help="Input features.")
@click.option("--hidden", "hidden_size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Hidden units (state neurons).")
@click.option("--options/--no-options", "show_options", default=False, help="Also list every option per model.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def models(input_size: int, hidden_size: int, show_options: bool, as_json: bool) -> None:
    """List the architectures with parameter counts and state sizes for the given sizes."""
    from edgelnn.models.catalog import MODELS, model_options, size_table

    rows = size_table(input_size, hidden_size)
    options = {kind: model_options(kind) for kind in MODELS}
    if as_json:
        click.echo(json.dumps({"input_size": input_size, "hidden_size": hidden_size, "models": rows,
                               "options": options}, indent=2))
        return
    click.echo(f"input_size={input_size} hidden_size={hidden_size}")
    click.echo(format_table(rows, ["model", "parameters", "state_size", "output_size", "description"]))
    if show_options:
        for kind, opts in options.items():
            click.echo(f"\n{kind} options:")
            for o in opts:
                choices = f"  [{' | '.join(o['choices'])}]" if o["choices"] else ""
                click.echo(f"  {o['name']} = {o['default']!r}{choices}")
