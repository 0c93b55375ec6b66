"""Verification: run an artifact in its own runtime against PyTorch on held-out rollouts.

Both run free (each feeds back its own state) over the same sequences, batched across sequences, with the
host holding the state where a sequence has ended (mask False). Reported per artifact:
- parity: max abs error of outputs, relative RMS error of outputs, max abs state error after the last step;
- the task metric through the artifact on every verified split, and its drop vs PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgelnn.artifact import StepRunner
from edgelnn.export.rollout import Rollout, rollout_split, torch_runner
from edgelnn.models.base import StepModel
from edgelnn.tasks import Split, Task, compute_metric, metric_spec

__all__ = ["Reference", "Rollout", "VerificationReport", "metric_drop", "reference_rollouts", "rollout",
           "task_metric", "torch_runner", "verify_runner"]


def rollout(step: StepRunner, split: Split, state_size: int) -> Rollout:
    """Free-running rollout of ``step`` over a split (see :func:`edgelnn.export.rollout.rollout`)."""
    return rollout_split(step, split, state_size)


def task_metric(task: Task, split: Split, outputs: np.ndarray) -> float:
    """The task metric of rollout ``outputs [N,T,O]`` on ``split`` (classification reads the last real step)."""
    return float(compute_metric(task.metric, outputs, split.y, split.mask))


def metric_drop(metric: str, reference: float, value: float) -> float:
    """How much worse ``value`` is than ``reference``, as the metric registry defines it."""
    return metric_spec(metric).drop(reference, value)


@dataclass
class Reference:
    """PyTorch rollouts of every verified split, computed once and shared by all artifacts."""

    splits: dict[str, Split]
    rollouts: dict[str, Rollout]
    metrics: dict[str, float]


def reference_rollouts(model: StepModel, task: Task, splits: dict[str, Split]) -> Reference:
    runner = torch_runner(model)
    rollouts = {name: rollout(runner, split, model.state_size) for name, split in splits.items()}
    metrics = {name: task_metric(task, splits[name], r.outputs) for name, r in rollouts.items()}
    return Reference(splits, rollouts, metrics)


@dataclass
class VerificationReport:
    parity: dict[str, float]
    metrics: dict[str, float]
    metric_drop: dict[str, float]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"parity": self.parity, "metrics": self.metrics, "metric_drop": self.metric_drop, **self.extra}


def verify_runner(runner: StepRunner, reference: Reference, task: Task, state_size: int,
                  parity_split: str = "test") -> VerificationReport:
    """Compare ``runner`` with the PyTorch reference on every split; parity numbers from ``parity_split``."""
    metrics, drops, parity = {}, {}, {}
    for name, split in reference.splits.items():
        got = rollout(runner, split, state_size)
        metrics[name] = task_metric(task, split, got.outputs)
        drops[name] = metric_drop(task.metric, reference.metrics[name], metrics[name])
        if name == parity_split:
            ref = reference.rollouts[name]
            valid = split.mask.astype(bool)
            diff, want = got.outputs[valid] - ref.outputs[valid], ref.outputs[valid]
            parity = {
                "max_abs_error": float(np.abs(diff).max()),
                "rel_rms_error": float(np.sqrt((diff**2).mean()) / max(np.sqrt((want**2).mean()), 1e-12)),
                "state_max_abs_error": float(np.abs(got.final_state - ref.final_state).max()),
                "reference_max_abs": float(np.abs(want).max()),
                "reference_state_max_abs": float(np.abs(ref.final_state).max()),
                "steps": int(split.mask.shape[1]),
                "sequences": int(split.mask.shape[0]),
            }
    return VerificationReport(parity, metrics, drops)
