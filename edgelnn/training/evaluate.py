"""Evaluate a model on task splits with the task's own metric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgelnn.models.base import StepModel
from edgelnn.models.checkpoint import load_checkpoint
from edgelnn.tasks import Split, Task, compute_metric
from edgelnn.training.objectives import OBJECTIVES
from edgelnn.training.rundir import RunDir


def split_tensors(split: Split, device: torch.device | str = "cpu") -> tuple[torch.Tensor, ...]:
    """(x, t, y, mask) of a split as tensors on ``device``."""
    return (torch.as_tensor(split.x, device=device), torch.as_tensor(split.t, device=device),
            torch.as_tensor(split.y, device=device), torch.as_tensor(split.mask, device=device))


@torch.no_grad()
def predict(model: StepModel, split: Split, kind: str, batch_size: int = 256,
            device: torch.device | str = "cpu") -> np.ndarray:
    """Predictions in the form compute_metric expects (logits [N,C] or outputs [N,T,O])."""
    model.eval()
    x, t, _, mask = split_tensors(split, device)
    out = []
    for i in range(0, len(split), batch_size):
        y, _ = model.run(x[i : i + batch_size], t[i : i + batch_size], mask=mask[i : i + batch_size])
        out.append(OBJECTIVES[kind].predictions(y, mask[i : i + batch_size]).cpu())
    return torch.cat(out).numpy()


def split_loss(model: StepModel, task: Task, split: str, device: torch.device | str = "cpu") -> float:
    """Mean training loss (cross-entropy or MSE) of ``model`` on one split."""
    x, t, y, mask = split_tensors(task.splits[split], device)
    objective = OBJECTIVES[task.kind]
    model.eval()
    with torch.no_grad():
        out, _ = model.run(x, t, mask=mask)
        return float(objective.loss_sum(out, y, mask)) / max(objective.count(mask), 1)


def evaluate_model(model: StepModel, task: Task, splits: list[str] | None = None,
                   device: torch.device | str = "cpu") -> dict[str, float]:
    """Task metric per split (default: val, test and every OOD split)."""
    names = splits if splits is not None else ["val", "test", *task.ood_splits()]
    results = {}
    for name in names:
        if name not in task.splits:
            raise ValueError(f"split {name!r} does not exist; splits of {task.name}: {', '.join(task.splits)}")
        split = task.splits[name]
        pred = predict(model, split, task.kind, device=device)
        results[name] = float(compute_metric(task.metric, pred, split.y, split.mask))
    return results


def evaluate_run(run: str | Path, split: str = "all") -> dict[str, Any]:
    """Evaluate a run's best checkpoint on one split, or on val, test and every OOD split ("all")."""
    from edgelnn.training.trainer import load_task_for

    run_dir = RunDir(Path(run))
    cfg = run_dir.read_config()
    task = load_task_for(cfg["train"])
    model = load_checkpoint(run_dir.best)
    splits = None if split == "all" else [split]
    return {"run": str(run_dir.path), "task": task.name, "metric": task.metric,
            "splits": evaluate_model(model, task, splits)}
