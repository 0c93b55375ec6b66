"""Training settings as one small, JSON round-trippable object."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from edgelnn.training.optimizers import OPTIMIZERS


@dataclass
class TrainConfig:
    """What to train on what, and how. ``model_options`` go to the model config (e.g. ode_unfolds)."""

    model: str = "cfc"
    task: str = "basicmotions"
    hidden_size: int = 32
    model_options: dict[str, Any] = field(default_factory=dict)
    epochs: int = 20
    batch_size: int = 32
    lr: float = 5e-3
    lr_decay: float = 1.0  # the lr of epoch e is lr * lr_decay**e
    optimizer: str = "adam"  # a name in edgelnn.training.optimizers.OPTIMIZERS
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    compile_step: bool = False  # torch.compile the LTC/LRC training step (edgelnn.training.compiled); same math
    patience: int = 5
    seed: int = 0
    task_options: dict[str, Any] = field(default_factory=dict)
    data_path: str | None = None

    def __post_init__(self) -> None:
        for name in ("hidden_size", "epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} is not valid; it must be an integer >= 1")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} is not valid; it must be > 0")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay={self.lr_decay!r} is not valid; it must be in (0, 1]")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r} is not valid; valid optimizers: {', '.join(OPTIMIZERS)}")
        if self.patience < 0:
            raise ValueError(f"patience={self.patience!r} is not valid; it must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(unknown)}")
        return cls(**data)
