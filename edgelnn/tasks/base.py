"""Core containers of the task registry: one :class:`Split` of sequences and a :class:`Task`.

Array conventions (every split of every task):

* ``x``    ``[N, T, F]`` float32, zero past each sequence's length;
* ``t``    ``[N, T]`` float32 timespans: time elapsed since the previous sample, ``> 0`` where
  ``mask`` is True and exactly ``1.0`` in the padding;
* ``y``    classification: ``[N]`` int64 label per sequence; regression: ``[N, T, O]`` float32
  per-step targets, zero in the padding;
* ``mask`` ``[N, T]`` bool, True for real samples; the real samples of a row are a non-empty prefix.

Different splits of one task may have different ``T`` (e.g. a resampled split is shorter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

KINDS = {"classification": "accuracy", "regression": "mse"}
REQUIRED_SPLITS = ("train", "val", "test")
OOD_PREFIX = "ood-"


@dataclass
class Split:
    """One split of a task: padded sequences with timespans, targets and a validity mask."""

    x: np.ndarray
    t: np.ndarray
    y: np.ndarray
    mask: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def lengths(self) -> np.ndarray:
        """Number of real samples of each sequence, ``[N]`` int64."""
        return self.mask.sum(axis=1).astype(np.int64)

    def subset(self, idx: Any) -> Split:
        """A new split with the sequences selected by ``idx`` (indices, slice or boolean mask)."""
        if isinstance(idx, slice):
            idx = np.arange(len(self))[idx]
        idx = np.asarray(idx)
        return Split(x=self.x[idx], t=self.t[idx], y=self.y[idx], mask=self.mask[idx])


@dataclass
class Task:
    """A named sequence task with train/val/test splits and out-of-distribution (``ood-*``) splits.

    ``info`` holds JSON-serialisable extras (standardisation statistics, sampling dt, physics
    parameters, class names, generator settings, seed and options).
    """

    name: str
    kind: str
    metric: str
    input_size: int
    output_size: int
    splits: dict[str, Split]
    ood_descriptions: dict[str, str]
    description: str
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_task(self)

    def ood_splits(self) -> list[str]:
        """Names of the out-of-distribution splits, in insertion order."""
        return [name for name in self.splits if name.startswith(OOD_PREFIX)]


def validate_task(task: Task) -> None:
    """Raise ValueError if ``task`` breaks the conventions of this module."""
    if task.kind not in KINDS:
        raise ValueError(f"task {task.name!r}: kind must be one of {sorted(KINDS)}, got {task.kind!r}")
    if task.metric != KINDS[task.kind]:
        raise ValueError(f"task {task.name!r}: metric of a {task.kind} task must be {KINDS[task.kind]!r}")
    missing = [s for s in REQUIRED_SPLITS if s not in task.splits]
    if missing:
        raise ValueError(f"task {task.name!r}: missing splits {missing}")
    ood = task.ood_splits()
    if not ood:
        raise ValueError(f"task {task.name!r}: needs at least one '{OOD_PREFIX}<name>' split")
    extra = sorted(set(task.splits) - set(REQUIRED_SPLITS) - set(ood))
    if extra:
        raise ValueError(f"task {task.name!r}: unexpected split names {extra}")
    if set(task.ood_descriptions) != set(ood):
        raise ValueError(
            f"task {task.name!r}: ood_descriptions keys {sorted(task.ood_descriptions)} "
            f"do not match ood splits {sorted(ood)}"
        )
    for split_name, split in task.splits.items():
        validate_split(split, task.kind, task.input_size, task.output_size, f"{task.name}/{split_name}")


def validate_split(split: Split, kind: str, input_size: int, output_size: int, where: str = "split") -> None:
    """Raise ValueError naming ``where`` and the array if ``split`` breaks the array conventions."""
    x, t, y, mask = split.x, split.t, split.y, split.mask
    if x.ndim != 3 or x.dtype != np.float32:
        raise ValueError(f"{where}: x must be [N,T,F] float32, got shape {x.shape} {x.dtype}")
    n, steps, features = x.shape
    if features != input_size:
        raise ValueError(f"{where}: x has {features} features, task input_size is {input_size}")
    if n == 0:
        raise ValueError(f"{where}: split is empty")
    if t.shape != (n, steps) or t.dtype != np.float32:
        raise ValueError(f"{where}: t must be [N,T]=({n},{steps}) float32, got {t.shape} {t.dtype}")
    if mask.shape != (n, steps) or mask.dtype != np.bool_:
        raise ValueError(f"{where}: mask must be [N,T]=({n},{steps}) bool, got {mask.shape} {mask.dtype}")
    if not mask[:, 0].all():
        raise ValueError(f"{where}: mask has an empty row (every sequence needs >= 1 real sample)")
    if (mask[:, 1:] & ~mask[:, :-1]).any():
        raise ValueError(f"{where}: mask rows must be a prefix of True values")
    if not np.isfinite(x).all() or not np.isfinite(t).all():
        raise ValueError(f"{where}: x or t contains NaN/Inf")
    if (t[mask] <= 0).any():
        raise ValueError(f"{where}: t must be > 0 where mask is True")
    if (t[~mask] != 1.0).any():
        raise ValueError(f"{where}: t must be 1.0 in the padding")
    if (x[~mask] != 0).any():
        raise ValueError(f"{where}: x must be zero in the padding")
    if kind == "classification":
        if y.shape != (n,) or y.dtype != np.int64:
            raise ValueError(f"{where}: y must be [N]=({n},) int64 labels, got {y.shape} {y.dtype}")
        if (y < 0).any() or (y >= output_size).any():
            raise ValueError(f"{where}: labels must lie in [0, {output_size})")
    else:
        if y.ndim != 3 or y.shape[:2] != (n, steps) or y.dtype != np.float32:
            raise ValueError(f"{where}: y must be [N,T,O]=({n},{steps},O) float32, got {y.shape} {y.dtype}")
        if y.shape[2] != output_size:
            raise ValueError(f"{where}: y has {y.shape[2]} outputs, task output_size is {output_size}")
        if not np.isfinite(y).all():
            raise ValueError(f"{where}: y contains NaN/Inf")
        if (y[~mask] != 0).any():
            raise ValueError(f"{where}: y must be zero in the padding")
