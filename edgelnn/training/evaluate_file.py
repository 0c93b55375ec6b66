"""Evaluate a run's model on another .npz file: a held-out recording, the same robot with a heavier link.

The whole file is one split, ``data``: every sequence counts (no train/val/test partition). The file has the
format of :mod:`edgelnn.tasks.npz` and must fit the run's model: the same number of input features, the
same task kind (labels or per-step targets), as many outputs (regression) and no label beyond the model's
classes (classification); otherwise DataMismatchError names both sides. Inputs are fed as they are, except
for a run trained on an .npz with ``standardize=true``: its training statistics are applied, as in training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgelnn.errors import DataMismatchError
from edgelnn.models.base import StepModel
from edgelnn.models.checkpoint import load_checkpoint
from edgelnn.tasks import Split, compute_metric
from edgelnn.tasks.npz import read_npz_arrays
from edgelnn.training.evaluate import split_tensors
from edgelnn.training.objectives import OBJECTIVES
from edgelnn.training.rundir import RunDir

DATA_SPLIT = "data"


def evaluate_run_on_file(run: str | Path, data_path: str | Path) -> dict[str, Any]:
    """The task metric of ``run``'s best checkpoint on every sequence of ``data_path`` (split ``data``)."""
    run_dir, data_path = RunDir(Path(run)), Path(data_path)
    cfg = run_dir.read_config()
    try:
        x, t, y, mask, kind = read_npz_arrays(data_path)
    except ValueError as exc:  # most of the array checks name the array, not the file
        raise ValueError(str(exc) if str(data_path) in str(exc) else f"{data_path}: {exc}") from exc
    model = load_checkpoint(run_dir.best)
    task = cfg["task"]
    check_fits(data_path, x, y, kind, model, task, run_dir.path)
    x = _standardized_like_training(x, mask, cfg["train"])
    value = split_metric(model, Split(x=x, t=t, y=y, mask=mask), kind, task["metric"])
    return {"run": str(run_dir.path), "task": task["name"], "data": str(data_path), "metric": task["metric"],
            "sequences": len(x), "splits": {DATA_SPLIT: value}}


def check_fits(path: Path, x: np.ndarray, y: np.ndarray, kind: str, model: StepModel, task: dict[str, Any],
               run: Path) -> None:
    """Raise DataMismatchError naming the file's and the run's value when the file cannot feed the model."""
    where = f"{path} does not fit run {run}"
    if x.shape[2] != model.input_size:
        raise DataMismatchError(f"{where}: the file has {x.shape[2]} input features (x {list(x.shape)}), "
                                f"the run's model takes {model.input_size}")
    if kind != task["kind"]:
        raise DataMismatchError(f"{where}: the file is a {kind} task (y {list(y.shape)}), the run was trained on "
                                f"{task['kind']} ({task['name']})")
    if kind == "regression" and y.shape[2] != model.output_size:
        raise DataMismatchError(f"{where}: the file has {y.shape[2]} targets per step (y {list(y.shape)}), "
                                f"the run's model predicts {model.output_size}")
    if kind == "classification" and int(y.max()) >= model.output_size:
        raise DataMismatchError(f"{where}: the file has label {int(y.max())}, the run's model knows "
                                f"{model.output_size} classes (0..{model.output_size - 1})")


def _standardized_like_training(x: np.ndarray, mask: np.ndarray, train_cfg: dict[str, Any]) -> np.ndarray:
    """``x`` standardised with the run's training statistics when training standardised its .npz inputs."""
    if not (train_cfg.get("data_path") and (train_cfg.get("task_options") or {}).get("standardize")):
        return x
    from edgelnn.training.trainer import load_task_for

    info = load_task_for(train_cfg).info  # the statistics of the run's own training split
    mean, std = np.asarray(info["x_mean"], np.float32), np.asarray(info["x_std"], np.float32)
    return np.where(mask[..., None], (x - mean) / std, 0).astype(np.float32)


@torch.no_grad()
def split_metric(model: StepModel, split: Split, kind: str, metric: str, batch_size: int = 256) -> float:
    """The task ``metric`` of ``model`` on ``split`` (whole sequences, ``batch_size`` at a time, on the CPU)."""
    objective = OBJECTIVES[kind]
    model.eval()
    x, t, _, mask = split_tensors(split)
    preds = [objective.predictions(model.run(x[i : i + batch_size], t[i : i + batch_size],
                                             mask=mask[i : i + batch_size])[0], mask[i : i + batch_size])
             for i in range(0, len(split), batch_size)]
    return float(compute_metric(metric, torch.cat(preds).numpy(), split.y, split.mask))
