"""Optimizers a training run may use, by name, and the per-epoch learning-rate schedule.

Published recurrent-network setups differ in their optimizer (the CfC paper's event-based XOR trains with
RMSprop and an lr decayed 0.95 per epoch), so a study that reproduces one needs more than Adam at a fixed lr.
The schedule is a pure function of the epoch, so a resumed run continues it without stored scheduler state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported by the factories, so TrainConfig can validate names without it
    import torch


def _adam(params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _rmsprop(params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    # Keras' RMSprop defaults (rho 0.9, epsilon 1e-7): the published TensorFlow setups ran with them.
    return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7, weight_decay=weight_decay)


OptimizerFactory = Callable[[Iterable["torch.nn.Parameter"], float, float], "torch.optim.Optimizer"]
OPTIMIZERS: dict[str, OptimizerFactory] = {"adam": _adam, "rmsprop": _rmsprop}


def build_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float,
                    weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """The optimizer registered as ``name`` over ``params``."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, lr, weight_decay)


def epoch_lr(lr: float, lr_decay: float, epoch: int) -> float:
    """The learning rate of epoch ``epoch`` (0-based): ``lr * lr_decay ** epoch``."""
    return lr * lr_decay**epoch


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
