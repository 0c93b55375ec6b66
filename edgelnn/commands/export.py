"""`edgelnn export`: turn a trained model into verified ONNX / TFLite artifacts with a manifest."""

from __future__ import annotations

from pathlib import Path

import click

from edgelnn.utils.table import format_table

# What `edgelnn export --model KIND` trains first when no run of KIND exists.
DEFAULT_TASK = "japanesevowels"
DEFAULT_TASK_OPTIONS: dict = {}
DEFAULT_TRAINING = {"hidden_size": 32, "epochs": 20, "batch_size": 16, "lr": 5e-3, "patience": 8}


def _int_list(value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers", param_hint="--ode-unfolds")


def _train_first(model_kind: str, task: str | None, progress: bool):
    """Train ``model_kind`` on the default (or given) task when no run of it exists; the new run's Source."""
    from edgelnn.export import resolve_source
    from edgelnn.training import TrainConfig, train
    from edgelnn.training.rundir import DEFAULT_RUNS_DIR

    cfg = TrainConfig(model=model_kind, task=task or DEFAULT_TASK, task_options=dict(DEFAULT_TASK_OPTIONS),
                      **DEFAULT_TRAINING)
    result = train(cfg, Path(DEFAULT_RUNS_DIR) / f"{model_kind}-{cfg.task}-s{cfg.seed}", progress=progress)
    source = resolve_source(run=result.run_dir)
    source.trained_now = True
    return source


@click.command(name="export")
@click.option("--model", "model_kind", default=None, help="Export the newest run of this model (cfc, ltc, ...).")
@click.option("--run", "run_dir", type=click.Path(file_okay=False), default=None, help="Export this run's best checkpoint.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None, help="Export this checkpoint.")
@click.option("--task", default=None, help="Task of a bare checkpoint, or the task to train on when no run exists.")
@click.option("--formats", default="onnx,tflite", show_default=True, help="Comma-separated: onnx, tflite.")
@click.option("--int8", is_flag=True, help="Also emit int8 artifacts (dynamic and static/full-integer).")
@click.option("--solver", type=click.Choice(["fused", "euler", "rk4"]), default=None,
              help="LTC ODE solver to bake in (default: as trained).")
@click.option("--ode-unfolds", default=None, metavar="K[,K...]",
              help="LTC/LRC solver steps per sample; several values run a solver sweep.")
@click.option("--sequence", is_flag=True, help="Also emit a whole-sequence ONNX model (Scan over time).")
@click.option("--max-int8-drop", type=click.FloatRange(min=0), default=None,
              help="Fail when an int8 artifact loses more test metric (accuracy fraction or relative MSE).")
@click.option("--atol", type=click.FloatRange(min=0), default=1e-4, show_default=True,
              help="fp32 tolerance: max abs error allowed is atol + rtol * max|pytorch|.")
@click.option("--calibration-range", "calibration_range", multiple=True, metavar="NAME=LO:HI",
              help="Declared valid range of an input (dt, x for every feature, x<i> for one), calibrated over "
                   "and recorded in the manifest, e.g. dt=0.01:5 (repeatable; default: the train and OOD "
                   "splits' range + 10% margin).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output directory (default: artifacts/<model>-<task>).")
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@click.option("--quiet", is_flag=True, help="No progress bar if training is needed.")
def export(model_kind, run_dir, checkpoint, task, formats, int8, solver, ode_unfolds, sequence, max_int8_drop, atol,
           calibration_range, out_dir, force, quiet) -> None:
    """Export a trained model: fixed solver, ONNX/TFLite (+ int8), each artifact verified, manifest.json."""
    from edgelnn.errors import RunNotFoundError
    from edgelnn.export import ExportConfig, export_model, resolve_source, sweep_unfolds

    unfolds = _int_list(ode_unfolds)
    if unfolds is not None and any(k < 1 for k in unfolds):
        raise ValueError(f"--ode-unfolds={ode_unfolds} is not valid; each value must be an integer >= 1")
    cfg = ExportConfig(formats=tuple(f.strip() for f in formats.split(",") if f.strip()), int8=int8, solver=solver,
                       ode_unfolds=unfolds[0] if unfolds and len(unfolds) == 1 else None, sequence=sequence,
                       max_int8_drop=max_int8_drop, atol=atol, calibration_range=tuple(calibration_range))
    try:
        source = resolve_source(model=model_kind, run=run_dir, checkpoint=checkpoint, task=task)
    except RunNotFoundError:
        source = _train_first(model_kind, task, progress=not quiet)
    if source.trained_now:
        click.echo(f"no run of {source.model.config.kind} found: trained one on {source.task.name} "
                   f"into {source.run}")
    kind = source.model.config.kind
    out = Path(out_dir) if out_dir else Path("artifacts") / f"{kind}-{source.task.name}"
    click.echo(f"exporting {kind} from {source.checkpoint} (task {source.task.name}) -> {out}")
    if unfolds is not None and len(unfolds) > 1:
        result = sweep_unfolds(source, cfg, unfolds, out, force=force)
        click.echo(format_table(result.rows))
        click.echo(f"wrote {len(unfolds)} artifact sets and sweep.json to {result.out_dir}")
        return
    result = export_model(source, cfg, out, force=force)
    click.echo(format_table(result.summary_rows()))
    click.echo(f"wrote {len(result.artifacts)} artifacts and manifest.json to {result.out_dir}")
