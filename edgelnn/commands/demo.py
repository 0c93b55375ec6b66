"""`edgelnn demo`: the pipeline that exists so far, end to end on bundled data."""

from __future__ import annotations

import click

from edgelnn.utils.table import format_table


@click.command()
@click.option("--runs-dir", type=click.Path(file_okay=False), default="runs/demo", show_default=True)
@click.option("--artifacts-dir", type=click.Path(file_okay=False), default="artifacts/demo", show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the demo's epochs.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo(runs_dir: str, artifacts_dir: str, epochs: int | None, quiet: bool) -> None:
    """Build and stream every model; train a CfC and an LSTM on a bundled dataset; export, verify and bench both."""
    from edgelnn.demo import DEMO_TASK, bench_demo, export_demo, training_demo, zoo_demo

    click.echo("== 1. model zoo: build each model and stream 50 steps with irregular dt (input 6, hidden 32) ==")
    click.echo(format_table(zoo_demo()))
    click.echo(f"\n== 2. train CfC and LSTM on {DEMO_TASK} (real UEA data shipped in aeon, unequal lengths); accuracy per split ==")
    overrides = {} if epochs is None else {"epochs": epochs}
    click.echo(format_table(training_demo(runs_dir, progress=not quiet, **overrides)))
    click.echo("\n== 3. export both (ONNX + TFLite, fp32 + int8); each artifact verified against PyTorch ==")
    for model, rows in export_demo(runs_dir, artifacts_dir).items():
        click.echo(f"\n{model} -> {artifacts_dir}/{model}")
        click.echo(format_table(rows))
    click.echo("\n== 4. bench both on the host CPU target (fp32, 1 thread, each backend in its own process) ==")
    for model, report in bench_demo(artifacts_dir).items():
        click.echo(f"\n{model}: {artifacts_dir}/{model}/bench-cpu.json")
        click.echo(report)
