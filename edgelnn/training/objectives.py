"""Per task kind: which model outputs count, the loss, and predictions for the task metric.

A registry from task kind to its objective, so the trainer has no if-chains on the task kind.
Losses are *sums* divided by a caller-given count, so data-parallel shards of one global batch add up to
exactly the single-process mean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from edgelnn.tasks.metrics import METRICS, last_valid

__all__ = ["HIGHER_IS_BETTER", "OBJECTIVES", "Objective", "last_valid"]


def _classification_loss_sum(y: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(last_valid(y, mask), target, reduction="sum")


def _regression_loss_sum(y: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    err = (y - target) ** 2 * mask.unsqueeze(-1)
    return err.sum() / y.shape[-1]


# Direction of each task metric for model selection: a view of the metric registry (edgelnn.tasks.metrics).
HIGHER_IS_BETTER: dict[str, bool] = {name: spec.higher_is_better for name, spec in METRICS.items()}


@dataclass(frozen=True)
class Objective:
    loss_sum: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
    count: Callable[[torch.Tensor], int]  # normaliser of loss_sum for a batch, from its mask
    predictions: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # what compute_metric receives


OBJECTIVES: dict[str, Objective] = {
    "classification": Objective(_classification_loss_sum, lambda mask: int(mask.shape[0]), last_valid),
    "regression": Objective(_regression_loss_sum, lambda mask: int(mask.sum()), lambda y, mask: y),
}
