"""Task metrics, each defined once: its name, direction, how a drop is computed and the worst case over splits.

:data:`METRICS` is the one owner of these facts; model selection (training), export verification and the
bench read them from here. The values: sequence accuracy for classification, masked MSE for regression.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

_ALIASES = {"classification": "accuracy", "accuracy": "accuracy", "regression": "mse", "mse": "mse"}


@dataclass(frozen=True)
class MetricSpec:
    """One task metric: ``drop(reference, value)`` says how much worse ``value`` is (> 0 worse), ``worst``
    picks the worst of several values (e.g. over OOD splits), ``error(value)`` is the value as an error
    (0 = perfect, larger is worse: 1 - accuracy, or the MSE itself), ``reference(value, drop)`` undoes ``drop``."""

    name: str
    higher_is_better: bool
    drop: Callable[[float, float], float]
    worst: Callable[[Iterable[float]], float]
    drop_unit: str
    error: Callable[[float], float]
    reference: Callable[[float, float], float]  # reference(value, drop): the value drop() was taken from

    def best(self, values: Iterable[float]) -> float:
        """The best of several values (the one with the smallest error)."""
        return float(min(values, key=self.error))

    def better(self, value: float, than: float) -> bool:
        """Whether ``value`` is strictly better than ``than``."""
        return self.error(value) < self.error(than)


def _points_lost(reference: float, value: float) -> float:
    return float(reference - value)


def _relative_increase(reference: float, value: float) -> float:
    return float((value - reference) / max(abs(reference), 1e-12))


METRICS: dict[str, MetricSpec] = {
    "accuracy": MetricSpec("accuracy", True, _points_lost, lambda values: float(min(values)),
                           "accuracy points lost (fraction)", lambda value: 1.0 - float(value),
                           lambda value, drop: float(value + drop)),
    "mse": MetricSpec("mse", False, _relative_increase, lambda values: float(max(values)),
                      "relative MSE increase", float, lambda value, drop: float(value / (1.0 + drop))),
}


def metric_spec(metric_or_kind: Any) -> MetricSpec:
    """The :class:`MetricSpec` of a metric name, a task kind, or a Task (its ``metric``)."""
    key = getattr(metric_or_kind, "metric", metric_or_kind)
    if key not in _ALIASES:
        raise ValueError(f"unknown metric or task kind {key!r}; valid: {sorted(_ALIASES)}")
    return METRICS[_ALIASES[key]]


def _numpy(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):  # torch tensor
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def last_valid(seq: Any, mask: Any) -> Any:
    """``seq [N,T,...]`` at each row's last real step (``mask [N,T]`` is a prefix) -> ``[N,...]``.

    A torch tensor stays a tensor (on its device, in the autograd graph: the training loss uses it);
    anything else comes back as a numpy array.
    """
    if hasattr(seq, "detach"):  # torch, imported by the caller already
        import torch

        last = torch.as_tensor(mask, device=seq.device).long().sum(dim=1) - 1
        return seq[torch.arange(seq.shape[0], device=seq.device), last.clamp(min=0)]
    seq, mask = _numpy(seq), _numpy(mask).astype(bool)
    last = mask.sum(axis=1) - 1
    if (last < 0).any():
        raise ValueError("mask has an empty row")
    return seq[np.arange(len(seq)), last]


def accuracy(pred: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Fraction of correct labels. ``pred``: logits ``[N,C]``, labels ``[N]``, or per-step logits
    ``[N,T,C]`` (read at each sequence's last valid step, which needs ``mask``)."""
    if pred.ndim == 3:
        if mask is None:
            raise ValueError("accuracy: per-step predictions [N,T,C] need the mask")
        pred = last_valid(pred, mask)
    labels = pred.argmax(axis=1) if pred.ndim == 2 else pred
    if labels.ndim != 1 or y.ndim != 1 or len(labels) != len(y):
        raise ValueError(f"accuracy: pred {pred.shape} does not match labels {y.shape}")
    if len(y) == 0:
        raise ValueError("accuracy: no sequences")
    return float((labels.astype(np.int64) == y.astype(np.int64)).mean())


def mse(pred: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared error over the real steps (``mask [N,T]``) and all outputs of ``[N,T,O]`` arrays."""
    if pred.shape != y.shape or y.ndim != 3:
        raise ValueError(f"mse: pred {pred.shape} and y {y.shape} must both be [N,T,O]")
    mask = mask.astype(bool)
    if mask.shape != y.shape[:2]:
        raise ValueError(f"mse: mask {mask.shape} does not match y {y.shape}")
    count = int(mask.sum()) * y.shape[2]
    if count == 0:
        raise ValueError("mse: mask selects no steps")
    err = (pred.astype(np.float64) - y.astype(np.float64)) ** 2
    return float(err[mask].sum() / count)


def compute_metric(task_kind_or_metric: Any, pred: Any, y: Any, mask: Any) -> float:
    """The task metric: ``"accuracy"``/``"classification"`` or ``"mse"``/``"regression"`` (or a Task).

    accuracy: ``pred`` logits ``[N,C]`` (sequence level, taken at each sequence's last valid step
    by the caller) vs labels ``y [N]``; mse: ``pred`` and ``y`` ``[N,T,O]`` averaged over the
    steps where ``mask [N,T]`` is True and over outputs.
    """
    key = getattr(task_kind_or_metric, "metric", task_kind_or_metric)
    if key not in _ALIASES:
        raise ValueError(f"unknown metric or task kind {key!r}; valid: {sorted(_ALIASES)}")
    pred, y, mask = _numpy(pred), _numpy(y), None if mask is None else _numpy(mask)
    if _ALIASES[key] == "accuracy":
        return accuracy(pred, y, mask)
    if mask is None:
        raise ValueError("mse needs a mask")
    return mse(pred, y, mask)
