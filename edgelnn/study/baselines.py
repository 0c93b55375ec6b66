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
ood-physics: heavier links move less, so every raw MSE drops). A model *beats* the trivial predictors on a
split when it is better than the best of them, and an accuracy only when the difference is more than chance
(exact binomial test over the split's sequences, p < 0.01).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from edgelnn.tasks.metrics import metric_spec

EPS = 1e-12
ALPHA = 0.01  # an accuracy beats the best trivial one only at this one-sided significance


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


def split_sizes(task: Any) -> dict[str, int]:
    """Sequences per split: what a classification accuracy is counted over (one label per sequence)."""
    return {name: len(split.y) for name, split in task.splits.items()}


def chance_p_value(accuracy: float, trivial_accuracy: float, sequences: int) -> float:
    """One-sided exact binomial p-value: the chance that a predictor right with probability
    ``trivial_accuracy`` per sequence gets at least ``accuracy * sequences`` of ``sequences`` right."""
    k, n, p = round(accuracy * sequences), int(sequences), float(trivial_accuracy)
    if k <= 0 or p >= 1.0:
        return 1.0
    if p <= 0.0:
        return 0.0
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p)
             + (n - i) * math.log1p(-p) for i in range(k, n + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def beats_trivial(metric: str, value: float, trivial: dict[str, float], sequences: int) -> bool:
    """Whether the model is better than every trivial predictor on this split: strictly better, and for an
    accuracy by more than chance (:func:`chance_p_value` below :data:`ALPHA`: 3 more right answers in 2,000
    is not a model that trained). An MSE has no such test here (metrics.json keeps no per-sequence errors)."""
    best = best_trivial(metric, trivial)
    if not metric_spec(metric).better(value, best):
        return False
    return chance_p_value(value, best, sequences) < ALPHA if metric == "accuracy" else True
