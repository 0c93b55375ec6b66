"""LSTM and GRU baselines: torch's cells behind the step interface (dt is accepted and ignored)."""

from __future__ import annotations

import torch
from torch import nn

from edgelnn.models.base import StepModel
from edgelnn.models.config import GRUConfig, LSTMConfig
from edgelnn.models.layers import make_projection


class _TorchRNN(StepModel):
    def __init__(self, config, cell: nn.Module) -> None:
        super().__init__(config)
        self.cell = cell
        self.proj = make_projection(config.hidden_size, config.proj_size)

    @property
    def output_size(self) -> int:
        return self.config.proj_size or self.config.hidden_size


class LSTM(_TorchRNN):
    """torch.nn.LSTMCell; flat state [h, c]."""

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__(config, nn.LSTMCell(config.input_size, config.hidden_size))

    def state_layout(self) -> list[tuple[str, int]]:
        return [("h", self.config.hidden_size), ("c", self.config.hidden_size)]

    def step(self, x: torch.Tensor, state: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state.split(self.config.hidden_size, dim=1)
        h, c = self.cell(x, (h, c))
        return self.proj(h), torch.cat([h, c], dim=1)


class GRU(_TorchRNN):
    """torch.nn.GRUCell; flat state [h]."""

    def __init__(self, config: GRUConfig) -> None:
        super().__init__(config, nn.GRUCell(config.input_size, config.hidden_size))

    def state_layout(self) -> list[tuple[str, int]]:
        return [("h", self.config.hidden_size)]

    def step(self, x: torch.Tensor, state: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.cell(x, state)
        return self.proj(h), h
