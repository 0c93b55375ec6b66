"""`edgelnn demo`: the whole toolchain end to end on bundled data (models, training, export, bench on a CPU
and an emulated microcontroller, the LNN-vs-RNN study in small form, a closed control loop)."""

from __future__ import annotations

import click

from edgelnn.utils.table import format_table


@click.command()
@click.option("--runs-dir", type=click.Path(file_okay=False), default="runs/demo", show_default=True)
@click.option("--artifacts-dir", type=click.Path(file_okay=False), default="artifacts/demo", show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the demo's epochs.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo(runs_dir: str, artifacts_dir: str, epochs: int | None, quiet: bool) -> None:
    """Stream every model; train, export, verify and bench a CfC and an LSTM (CPU and emulated Cortex-M4F);
    run the LNN-vs-RNN study in small form; close a control loop with an int8 policy."""
    from pathlib import Path

    from edgelnn.demo import (
        DEMO_TASK,
        bench_demo,
        control_demo,
        export_demo,
        mcu_demo,
        study_demo,
        training_demo,
        zoo_demo,
    )

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
    click.echo("\n== 5. the same exports on a microcontroller: generated C in the emulated Cortex-M4F (stm32f4) "
               "beside TFLite Micro ==")
    for model, report in mcu_demo(artifacts_dir).items():
        click.echo(f"\n{model}: {artifacts_dir}/{model}/bench-stm32f4.json")
        click.echo(report)
    click.echo("\n== 6. the LNN-vs-RNN study in small form (edgelnn compare --preset demo): 5 models x 2 tasks x "
               "2 seeds, trained, exported and benched ==")
    report, verdicts = study_demo(Path(runs_dir) / "study", progress=not quiet)
    click.echo("\n".join(f"- {line}" for line in verdicts))
    click.echo("\n== 7. closed loop: a CfC cart-pole policy by imitation, int8 through the runtime, nominal and "
               "out-of-distribution conditions ==")
    click.echo(control_demo(Path(runs_dir) / "control"))
    click.echo(f"\nstudy report: {report}")
