"""LSTM and GRU baselines: torch's cells behind the step interface.

By default ``dt`` is accepted and ignored. With ``time_input=True`` the step feeds ``dt`` itself (not its
log: a plain concatenation exports to every format and quantizes like any input) as one extra input
feature, ``cell([x, dt])``, the time-aware baseline of the CfC paper (its "augmented LSTM"): on irregularly
sampled or event-based data the RNN then sees the elapsed time the liquid cells get, and the step signature
stays ``(x, state, dt)``.
"""

from __future__ import annotations

import torch
from torch import nn

from edgelnn.models.base import StepModel
from edgelnn.models.config import GRUConfig, LSTMConfig
from edgelnn.models.layers import make_projection


class _TorchRNN(StepModel):
    def __init__(self, config, cell_type: type[nn.Module]) -> None:
        super().__init__(config)
        extra = 1 if config.time_input else 0
        self.cell = cell_type(config.input_size + extra, config.hidden_size)
        self.proj = make_projection(config.hidden_size, config.proj_size)

    @property
    def output_size(self) -> int:
        return self.config.proj_size or self.config.hidden_size

    def cell_input(self, x: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        """What the torch cell receives: ``x``, or ``[x, dt]`` when the model is time-aware."""
        return torch.cat([x, dt.to(x.dtype)], dim=1) if self.config.time_input else x


class LSTM(_TorchRNN):
    """torch.nn.LSTMCell; flat state [h, c]."""

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__(config, nn.LSTMCell)

    def state_layout(self) -> list[tuple[str, int]]:
        return [("h", self.config.hidden_size), ("c", self.config.hidden_size)]

    def step(self, x: torch.Tensor, state: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state.split(self.config.hidden_size, dim=1)
        h, c = self.cell(self.cell_input(x, dt), (h, c))
        return self.proj(h), torch.cat([h, c], dim=1)


class GRU(_TorchRNN):
    """torch.nn.GRUCell; flat state [h]."""

    def __init__(self, config: GRUConfig) -> None:
        super().__init__(config, nn.GRUCell)

    def state_layout(self) -> list[tuple[str, int]]:
        return [("h", self.config.hidden_size)]

    def step(self, x: torch.Tensor, state: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.cell(self.cell_input(x, dt), state)
        return self.proj(h), h
