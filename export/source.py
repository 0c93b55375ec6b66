"""Stage 0: which trained model to export (a run, a checkpoint, or the newest run of a model kind).

Training a model when none exists is the export command's business (edgelnn/commands/export.py), not the
library's: :func:`resolve_source` raises :class:`~edgelnn.errors.RunNotFoundError` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgelnn.errors import CheckpointError, OptionConflictError, RunNotFoundError
from edgelnn.models.base import StepModel
from edgelnn.models.checkpoint import load_checkpoint, read_checkpoint
from edgelnn.models.registry import MODELS
from edgelnn.tasks import Task, load_task, load_task_for
from edgelnn.training.rundir import DEFAULT_RUNS_DIR, RunDir, find_latest_run


@dataclass
class Source:
    """A trained model, where it came from, and the task it was trained on."""

    model: StepModel
    checkpoint: Path
    run: Path | None
    task: Task
    trained_now: bool = False  # set by a caller that trained the model just before (the export command)

    def __post_init__(self) -> None:
        m, t = self.model, self.task
        if (m.input_size, m.output_size) != (t.input_size, t.output_size):
            raise CheckpointError(
                f"checkpoint {self.checkpoint} does not match task {t.name}: the model maps {m.input_size} inputs "
                f"to {m.output_size} outputs, the task has {t.input_size} inputs and {t.output_size} outputs"
            )


def _from_run(run: RunDir) -> Source:
    cfg = run.read_config()
    if not run.best.is_file():
        raise FileNotFoundError(f"run {run.path} has no best.safetensors (did training finish?)")
    return Source(run.load_model(), run.best, run.path, load_task_for(cfg["train"]))  # config.json checked


def _check_model(model: str | None, source: Source) -> Source:
    """``source`` when it holds the ``model`` asked for (or none was asked for); else an error naming both."""
    held = source.model.config.kind
    if model is not None and model != held:
        raise OptionConflictError(f"--model {model} conflicts with {source.checkpoint}, which holds model kind "
                                  f"{held}; drop --model or pass --model {held}")
    return source


def _check_task(task: str | None, train_cfg: dict, what: str) -> None:
    """A ``task`` asked for must be the one ``what`` was trained on (a user .npz by its path or its name)."""
    trained_on = train_cfg.get("data_path") or train_cfg.get("task")
    if task is None or not trained_on or task == trained_on or Path(task).stem == Path(trained_on).stem:
        return
    raise OptionConflictError(f"--task {task} conflicts with {what}, which was trained on {trained_on}; "
                              f"drop --task or pass --task {trained_on}")


def resolve_source(model: str | None = None, run: str | Path | None = None, checkpoint: str | Path | None = None,
                   task: str | None = None, runs_dir: str | Path = DEFAULT_RUNS_DIR) -> Source:
    """Pick the model to export.

    ``checkpoint`` or ``run`` choose one; otherwise the newest complete run of ``model`` under ``runs_dir``
    (RunNotFoundError when there is none).
    """
    if model is not None and model not in MODELS:
        raise ValueError(f"unknown model {model!r}; valid models: {', '.join(MODELS)}")
    if checkpoint is not None and run is not None:
        raise OptionConflictError(f"pass either a run ({run}) or a checkpoint ({checkpoint}), not both")
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        run_dir = RunDir(checkpoint.parent)
        if run_dir.config.is_file():
            _check_task(task, run_dir.read_config()["train"], f"checkpoint {checkpoint}")
            task_of_run = load_task_for(run_dir.read_config()["train"])
            return _check_model(model, Source(run_dir.load_model(checkpoint), checkpoint, run_dir.path, task_of_run))
        _, _, meta = read_checkpoint(checkpoint)
        _check_task(task, {"task": meta.get("task")}, f"checkpoint {checkpoint}")
        task_name = task or meta.get("task")
        if not task_name:
            raise ValueError(f"checkpoint {checkpoint} does not say which task it was trained on; pass --task")
        return _check_model(model, Source(load_checkpoint(checkpoint), checkpoint, None, load_task(task_name)))
    if run is not None:
        _check_task(task, RunDir(Path(run)).read_config()["train"], f"run {run}")
        return _check_model(model, _from_run(RunDir(Path(run))))
    if model is None:
        raise ValueError("name a model (--model), a run (--run) or a checkpoint (--checkpoint)")
    latest = find_latest_run(model, runs_dir)
    if latest is None:
        raise RunNotFoundError(f"no complete run of {model} found under {runs_dir}; train one first "
                               f"(edgelnn train --model {model}), or pass --run or --checkpoint")
    return _from_run(latest)
