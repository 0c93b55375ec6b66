"""Evaluate a model on task splits with the task's own metric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from edgelnn.models.base import StepModel
from edgelnn.tasks import Split, Task, compute_metric, load_task_for
from edgelnn.training.objectives import OBJECTIVES
from edgelnn.training.rundir import RunDir


def split_tensors(split: Split, device: torch.device | str = "cpu") -> tuple[torch.Tensor, ...]:
    """(x, t, y, mask) of a split as tensors on ``device``."""
    return (torch.as_tensor(split.x, device=device), torch.as_tensor(split.t, device=device),
            torch.as_tensor(split.y, device=device), torch.as_tensor(split.mask, device=device))


@torch.no_grad()
def evaluate_split(model: StepModel, task: Task, name: str, batch_size: int = 256,
                   device: torch.device | str = "cpu") -> tuple[float, float]:
    """(task metric, mean training loss) of ``model`` on split ``name``, from one pass over it."""
    if name not in task.splits:
        raise ValueError(f"split {name!r} does not exist; splits of {task.name}: {', '.join(task.splits)}")
    split, objective = task.splits[name], OBJECTIVES[task.kind]
    model.eval()
    x, t, y, mask = split_tensors(split, device)
    preds, loss_sum = [], 0.0
    for i in range(0, len(split), batch_size):
        rows = slice(i, i + batch_size)
        out, _ = model.run(x[rows], t[rows], mask=mask[rows])
        loss_sum += float(objective.loss_sum(out, y[rows], mask[rows]))
        preds.append(objective.predictions(out, mask[rows]).cpu())
    metric = compute_metric(task.metric, torch.cat(preds).numpy(), split.y, split.mask)
    return float(metric), loss_sum / max(objective.count(mask), 1)


def evaluate_model(model: StepModel, task: Task, splits: list[str] | None = None,
                   device: torch.device | str = "cpu") -> dict[str, float]:
    """Task metric per split (default: val, test and every OOD split)."""
    names = splits if splits is not None else ["val", "test", *task.ood_splits()]
    return {name: evaluate_split(model, task, name, device=device)[0] for name in names}


def evaluate_run(run: str | Path, split: str = "all") -> dict[str, Any]:
    """Evaluate a run's best checkpoint on one split, or on val, test and every OOD split ("all")."""
    run_dir = RunDir(Path(run))
    cfg = run_dir.read_config()
    task = load_task_for(cfg["train"])
    model = run_dir.load_model()  # refuses a checkpoint that is not the model config.json describes
    splits = None if split == "all" else [split]
    return {"run": str(run_dir.path), "task": task.name, "metric": task.metric,
            "splits": evaluate_model(model, task, splits)}
