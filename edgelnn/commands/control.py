"""`edgelnn control`: an exported policy in closed loop on a simulated plant, under nominal and OOD conditions."""

from __future__ import annotations

import click

PLANT_HELP = "Plant: pendulum, cartpole, doublependulum, halfcheetah."


@click.command(name="control")
@click.option("--env", "plant", required=True, help=PLANT_HELP)
@click.option("--export", "export_dir", type=click.Path(), default=None,
              help="Export directory of a policy (from `edgelnn export` or --train).")
@click.option("--backend", default="auto", show_default=True,
              help="Runtime backend: auto, onnxruntime, litert, tflm, torch, c.")
@click.option("--precision", default="int8", show_default=True,
              help="fp32, fp16, int8 (the backend's preferred int8), int8-dynamic, int8-static, int8-full.")
@click.option("--episodes", type=click.IntRange(min=1), default=20, show_default=True,
              help="Episodes per condition.")
@click.option("--conditions", default="all", show_default=True,
              help="'all' or a comma-separated list (nominal, physics-..., noise, drop, delay, rate-x2, rate-x0.67).")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Nominal episode length in control periods (default: the plant's).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Where control.json and the plots go (default: runs/control/<env>).")
@click.option("--train", "do_train", is_flag=True,
              help="Make the policy first: imitation (BC + DAgger) -> export (ONNX fp32 + int8) -> closed loop.")
@click.option("--compare", "do_compare", is_flag=True,
              help="Train and export every model kind, then rank OOD return per KB and per microsecond.")
@click.option("--target", default=None,
              help="Processor in the loop: run the generated C policy in the Cortex-M emulator of this "
                   "microcontroller profile (e.g. stm32f4) at every step, beside the host C backend.")
@click.option("--model", default="cfc", show_default=True, help="Model kind for --train.")
@click.option("--hidden", type=click.IntRange(min=1), default=32, show_default=True, help="Hidden size (--train/--compare).")
@click.option("--epochs", type=click.IntRange(min=1), default=40, show_default=True,
              help="Behaviour-cloning epochs (--train/--compare).")
@click.option("--dagger", type=click.IntRange(min=0), default=2, show_default=True,
              help="DAgger iterations after behaviour cloning (--train/--compare).")
@click.option("--task-option", "task_options", multiple=True, metavar="KEY=VALUE",
              help="Imitation dataset option of the control-<env> task (e.g. n_train=64).")
def control(plant, export_dir, backend, precision, episodes, conditions, steps, seed, out_dir, do_train, do_compare,
            target, model, hidden, epochs, dagger, task_options) -> None:
    """Run a policy in closed loop on --env and report normalised return, success and step latency per condition."""
    from pathlib import Path

    from edgelnn.commands.options import check_out_dir, parse_key_values
    from edgelnn.control.conditions import select_conditions
    from edgelnn.control.pipeline import compare_models, control_exports, train_and_export
    from edgelnn.tasks.registry import check_task_options

    if sum(bool(v) for v in (export_dir, do_train, do_compare)) != 1:
        raise click.UsageError("give exactly one of --export DIR, --train or --compare")
    if target and do_compare:
        raise click.UsageError("--target (processor in the loop) runs one policy: use it with --export or --train")
    select_conditions(plant, conditions)  # unknown plant or condition: fail before any work
    options = parse_key_values(task_options, "--task-option")
    check_task_options(f"control-{plant}", options)
    out = Path(out_dir) if out_dir else Path("runs") / "control" / plant
    check_out_dir(out)
    train_kw = {"hidden_size": hidden, "epochs": epochs, "dagger_iterations": dagger, "task_options": options}
    if do_compare:
        click.echo(f"training and exporting every model kind for {plant} into {out} ...", err=True)
        report = compare_models(plant, out, backend=backend, precision=precision, conditions=conditions,
                                episodes=episodes, seed=seed, **train_kw)
    else:
        if do_train:
            click.echo(f"imitation (BC + {dagger} DAgger) of a {model} policy for {plant}, then export ...", err=True)
            export_dir = train_and_export(plant, out / model, model=model, seed=seed, **train_kw)
            click.echo(f"policy exported to {export_dir}", err=True)
        report = control_exports(plant, [(export_dir, backend, precision)], out, conditions, episodes, seed, steps,
                                 target=target)
    click.echo(report.text)
    for path in report.files:
        click.echo(f"wrote {path}")
