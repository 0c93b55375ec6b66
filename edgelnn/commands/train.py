"""`edgelnn train`: train a zoo model on a task into a run directory."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from edgelnn.commands.options import parse_key_values
from edgelnn.models.registry import MODELS
from edgelnn.training import TrainConfig
from edgelnn.training import train as train_model
from edgelnn.training.rundir import DEFAULT_RUNS_DIR
from edgelnn.utils.table import format_table


@click.command()
@click.option("--model", "model_kind", default="cfc", show_default=True, help=f"One of: {', '.join(MODELS)}.")
@click.option("--task", default="basicmotions", show_default=True, help="A task name (see `edgelnn tasks`).")
@click.option("--data", "data_path", type=click.Path(dir_okay=False), default=None,
              help="Train on your own .npz instead of a registered task (see README: npz format).")
@click.option("--hidden", "hidden_size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=5e-3, show_default=True)
@click.option("--patience", type=click.IntRange(min=0), default=5, show_default=True,
              help="Early stopping: epochs without validation improvement (0 = off).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ode-unfolds", type=click.IntRange(min=1), default=None, help="LTC/LRC solver sub-steps.")
@click.option("--model-option", "model_option", multiple=True, metavar="KEY=VALUE",
              help="Any model config option, e.g. mode=pure or solver=rk4 (repeatable).")
@click.option("--task-option", "task_option", multiple=True, metavar="KEY=VALUE",
              help="Task loader option, e.g. seed=1 (repeatable).")
@click.option("--init-from", type=click.Path(dir_okay=False), default=None,
              help="Start from an edgelnn checkpoint (e.g. a model imported from ncps) and fine-tune it.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run directory (default: runs/<model>-<task>-s<seed>-<time>).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last finished epoch.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(model_kind, task, data_path, hidden_size, epochs, batch_size, lr, patience, seed, ode_unfolds,
          model_option, task_option, init_from, out_dir, resume, device, quiet) -> None:
    """Train MODEL on TASK; writes best/last checkpoints, config.json, history.json and metrics.json."""
    if model_kind not in MODELS:
        raise ValueError(f"unknown model {model_kind!r}; valid models: {', '.join(MODELS)}")
    model_options = parse_key_values(model_option, "--model-option")
    if ode_unfolds is not None:
        model_options["ode_unfolds"] = ode_unfolds
    cfg = TrainConfig(model=model_kind, task=task if data_path is None else Path(data_path).stem,
                      hidden_size=hidden_size, model_options=model_options, epochs=epochs, batch_size=batch_size,
                      lr=lr, patience=patience, seed=seed, task_options=parse_key_values(task_option, "--task-option"),
                      data_path=data_path)
    if out_dir is None:
        if resume:
            raise click.UsageError("--resume needs --out RUN_DIR")
        out_dir = DEFAULT_RUNS_DIR / f"{model_kind}-{cfg.task}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    result = train_model(cfg, out_dir, resume=resume, progress=not quiet, init_from=init_from, device=device)
    click.echo(f"run: {result.run_dir} (best epoch {result.best_epoch})")
    click.echo(format_table([{"split": k, "metric": v} for k, v in result.metrics.items()]))


@click.command(name="eval")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--split", default="all", show_default=True, help="test, val, ood-NAME or all.")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON.")
def evaluate(run: str, split: str, as_json: bool) -> None:
    """Evaluate a run's best checkpoint: the task metric per split, as a table and JSON."""
    from edgelnn.training import evaluate_run

    result = evaluate_run(run, split)
    if not as_json:
        click.echo(format_table([{"split": k, result["metric"]: v} for k, v in result["splits"].items()]))
    click.echo(json.dumps(result, indent=None if not as_json else 2))
