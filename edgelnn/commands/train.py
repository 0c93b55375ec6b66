"""`edgelnn train`: train a zoo model on a task into a run directory."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from edgelnn.commands.options import MODEL_NAMES, OPTIMIZER_NAMES, check_out_dir, explicit, parse_key_values
from edgelnn.errors import OptionConflictError
from edgelnn.utils.table import format_table


@click.command()
@click.option("--model", "model_kind", default="cfc", show_default=True, help=f"One of: {', '.join(MODEL_NAMES)}. With --init-from: the checkpoint's.")
@click.option("--task", default="basicmotions", show_default=True, help="A task name (see `edgelnn tasks`).")
@click.option("--data", "data_path", type=click.Path(dir_okay=False), default=None,
              help="Train on your own .npz instead of a registered task (see README: npz format).")
@click.option("--hidden", "hidden_size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Hidden units. With --init-from: the checkpoint's.")
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=5e-3, show_default=True)
@click.option("--lr-decay", type=click.FloatRange(min=0, max=1, min_open=True), default=1.0, show_default=True,
              help="Multiply the lr by this after every epoch (epoch e trains at lr * lr_decay**e).")
@click.option("--optimizer", type=click.Choice(OPTIMIZER_NAMES), default="adam", show_default=True)
@click.option("--patience", type=click.IntRange(min=0), default=5, show_default=True,
              help="Early stopping: epochs without validation improvement (0 = off).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ode-unfolds", type=click.IntRange(min=1), default=None, help="LTC/LRC solver sub-steps.")
@click.option("--model-option", "model_option", multiple=True, metavar="KEY=VALUE",
              help="Any model config option, e.g. mode=pure or solver=rk4 (repeatable).")
@click.option("--task-option", "task_option", multiple=True, metavar="KEY=VALUE",
              help="Task loader option, e.g. n_train=500 (repeatable; see README: Tasks).")
@click.option("--init-from", type=click.Path(dir_okay=False), default=None,
              help="Start from an edgelnn checkpoint (e.g. a model imported from ncps) and fine-tune it. "
                   "--model and --hidden default to the checkpoint's; a different value is an error.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Run directory (default: runs/<model>-<task>-s<seed>-<time>).")
@click.option("--resume", is_flag=True,
              help="Continue the run in --out from its last finished epoch, with the run's own settings "
                   "(config.json); only --epochs, --patience and --compile may change.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--compile", "compile_step", is_flag=True,
              help="Train through torch.compile'd chunks of time steps (CfC/LSTM/GRU 16 steps, LTC/LRC 1): "
                   "about 1.6-2.3x faster per step than eager; the first batches spend ~5-60 s compiling; "
                   "needs a C++ compiler. Evaluation and export stay eager.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(model_kind, task, data_path, hidden_size, epochs, batch_size, lr, lr_decay, optimizer, patience, seed,
          ode_unfolds, model_option, task_option, init_from, out_dir, resume, device, compile_step, quiet) -> None:
    """Train MODEL on TASK; writes best/last checkpoints, config.json, history.json and metrics.json."""
    from edgelnn.tasks.npz import load_npz_task
    from edgelnn.tasks.options import check_options
    from edgelnn.training import TrainConfig
    from edgelnn.training import train as train_model
    from edgelnn.training.rundir import DEFAULT_RUNS_DIR

    ctx = click.get_current_context()
    if init_from is not None:  # unset model settings follow the checkpoint; set ones must match it
        model_kind, hidden_size = _from_checkpoint(init_from, model_kind if explicit(ctx, "model_kind") else None,
                                                   hidden_size if explicit(ctx, "hidden_size") else None)
    if model_kind not in MODEL_NAMES:
        raise ValueError(f"unknown model {model_kind!r}; valid models: {', '.join(MODEL_NAMES)}")
    model_options = parse_key_values(model_option, "--model-option")
    if ode_unfolds is not None:
        model_options["ode_unfolds"] = ode_unfolds
    task_options = parse_key_values(task_option, "--task-option")
    if data_path is not None:  # a misspelt option fails here, not as a TypeError inside the loader
        check_options(Path(data_path).name, load_npz_task, task_options)
    cfg = TrainConfig(model=model_kind, task=task if data_path is None else Path(data_path).stem,
                      hidden_size=hidden_size, model_options=model_options, epochs=epochs, batch_size=batch_size,
                      lr=lr, lr_decay=lr_decay, optimizer=optimizer, patience=patience, seed=seed,
                      task_options=task_options, data_path=data_path, compile_step=compile_step)
    if resume and out_dir is not None:
        cfg = _resumed_config(ctx, out_dir, cfg)
    if out_dir is None:
        if resume:
            raise click.UsageError("--resume needs --out RUN_DIR")
        out_dir = DEFAULT_RUNS_DIR / f"{model_kind}-{cfg.task}-s{seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    else:
        check_out_dir(out_dir)
    result = train_model(cfg, out_dir, resume=resume, progress=not quiet, init_from=init_from, device=device)
    click.echo(f"run: {result.run_dir} (best epoch {result.best_epoch})")
    click.echo(format_table([{"split": k, "metric": v} for k, v in result.metrics.items()]))


# What may change when a run is resumed (train longer, stop earlier, compile or not: the same math); everything
# else must be the run's.
_RESUME_MAY_CHANGE = ("epochs", "patience", "compile_step")
# CLI parameter -> TrainConfig field, for the settings checked on --resume.
_RESUME_CHECKED = {"model_kind": "model", "task": "task", "data_path": "data_path", "hidden_size": "hidden_size",
                   "batch_size": "batch_size", "lr": "lr", "lr_decay": "lr_decay",
                   "optimizer": "optimizer", "seed": "seed", "model_option": "model_options",
                   "ode_unfolds": "model_options", "task_option": "task_options"}


def _resumed_config(ctx: click.Context, out_dir: str, asked):
    """The run's own training settings (config.json), with --epochs/--patience applied when given.

    Resuming with other settings would train a different model into the same run, so any other option
    the user passed explicitly must equal the run's value.
    """
    from edgelnn.training import TrainConfig
    from edgelnn.training.rundir import RunDir

    stored = TrainConfig.from_dict(RunDir(Path(out_dir)).read_config()["train"])
    for param, field in _RESUME_CHECKED.items():
        if not explicit(ctx, param):
            continue
        want, have = getattr(asked, field), getattr(stored, field)
        if field in ("model_options", "task_options"):
            want = {k: v for k, v in want.items() if have.get(k) != v}  # only the keys that differ
            have = {k: have.get(k) for k in want}
        if want != have:
            raise OptionConflictError(f"--resume: {field} {want!r} differs from the run's {have!r} "
                                      f"({out_dir}/config.json); drop the option to continue the run as it was")
    changes = {name: getattr(asked, name) for name in _RESUME_MAY_CHANGE if explicit(ctx, name)}
    return TrainConfig.from_dict({**stored.to_dict(), **changes})


def _from_checkpoint(path: str, model_kind: str | None, hidden_size: int | None) -> tuple[str, int]:
    """(model, hidden) of the checkpoint at ``path``; a value the user set must equal the checkpoint's."""
    from edgelnn.models.checkpoint import read_checkpoint

    config, _, _ = read_checkpoint(path)
    for option, asked, held in (("--model", model_kind, config.kind), ("--hidden", hidden_size, config.hidden_size)):
        if asked is not None and asked != held:
            raise OptionConflictError(f"{option} {asked} conflicts with --init-from {path}, which holds model "
                                      f"kind {config.kind}, hidden {config.hidden_size}; drop {option} "
                                      f"or pass {option} {held}")
    return config.kind, config.hidden_size


@click.command(name="eval")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--split", default="all", show_default=True, help="test, val, ood-NAME or all.")
@click.option("--data", "data_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Evaluate on every sequence of this .npz instead (same features and outputs as the run's "
                   "task; see README: npz format). Reported as split 'data'; --split does not apply.")
@click.option("--json", "as_json", is_flag=True, help="Print only one JSON document (no table).")
def evaluate(run: str, split: str, data_path: str | None, as_json: bool) -> None:
    """Evaluate a run's best checkpoint: the task metric per split, as a table (or JSON with --json)."""
    if data_path is not None:
        if explicit(click.get_current_context(), "split"):
            raise OptionConflictError(f"--split {split} does not apply with --data {data_path}: the whole file is "
                                      "one split, 'data'")
        from edgelnn.training.evaluate_file import evaluate_run_on_file

        result = evaluate_run_on_file(run, data_path)
    else:
        from edgelnn.training import evaluate_run

        result = evaluate_run(run, split)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    if data_path is not None:
        click.echo(f"run {result['run']} ({result['task']}) on {result['data']}: {result['sequences']} sequences")
    click.echo(format_table([{"split": k, result["metric"]: v} for k, v in result["splits"].items()]))
