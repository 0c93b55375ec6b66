"""Trivial predictors per split, and each split's metric normalised by them.

Classification: the majority class of the training labels, and the best constant class on that split (its
largest class share: no model that always answers one class can beat it, so a constant predictor is never
counted as trained, even on a balanced split where it happens to hit the class the training majority
missed). Regression: the training mean of the targets
(per output) and persistence (predict the last observation: the target at step t is the input at step t,
for tasks whose inputs and targets share one space, i.e. next-state and forecast tasks). A split's
*normalised error* is the model's error over the best trivial predictor's error on that same split
(error = 1 - accuracy, or the MSE): 1 = no better than trivial, 0 = perfect. Ratios of normalised errors do
not call a harder condition easier when an OOD split merely shrinks the target's variance (walker2d's
ood-physics: heavier links move less, so every raw MSE drops).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgelnn.tasks.metrics import metric_spec

EPS = 1e-12


def trivial_metrics(task: Any) -> dict[str, dict[str, float]]:
    """Per split: the task metric of each trivial predictor (fitted on the training split, except the best
    constant class, which is the bound every constant predictor stays under on that split)."""
    train = task.splits["train"]
    out: dict[str, dict[str, float]] = {}
    if task.kind == "classification":  # majority class, best constant; regression: training mean and persistence
        majority = int(np.bincount(train.y, minlength=task.output_size).argmax())
        for name, split in task.splits.items():
            shares = np.bincount(split.y, minlength=task.output_size) / max(len(split.y), 1)
            out[name] = {"majority": float(shares[majority]), "best_constant": float(shares.max())}
        return out
    mean = train.y[train.mask].astype(np.float64).mean(axis=0)  # [O]
    persistence = task.input_size == task.output_size
    for name, split in task.splits.items():
        mask = split.mask.astype(bool)
        y = split.y[mask].astype(np.float64)
        entry = {"mean": float(((y - mean) ** 2).mean())}
        if persistence:
            entry["persistence"] = float(((split.x[mask].astype(np.float64) - y) ** 2).mean())
        out[name] = entry
    return out


def best_trivial(metric: str, trivial: dict[str, float]) -> float:
    """The best trivial predictor's metric on one split."""
    return metric_spec(metric).best(trivial.values())


def normalised_error(metric: str, value: float, trivial: dict[str, float]) -> float:
    """Model error / best trivial error on the same split (1 = trivial, 0 = perfect)."""
    error = metric_spec(metric).error
    return error(value) / max(error(best_trivial(metric, trivial)), EPS)


def beats_trivial(metric: str, value: float, trivial: dict[str, float]) -> bool:
    """Whether the model is strictly better than every trivial predictor on this split."""
    return metric_spec(metric).better(value, best_trivial(metric, trivial))
