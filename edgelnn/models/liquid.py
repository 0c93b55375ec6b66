"""Shared step logic of the liquid models: optional mixed-memory LSTM and optional output projection."""

from __future__ import annotations

from abc import abstractmethod

import torch

from edgelnn.models.base import StepModel
from edgelnn.models.config import ModelConfig
from edgelnn.models.layers import MemoryLSTM, make_projection


class LiquidModel(StepModel):
    """A liquid cell ``core(x, h, dt) -> (out, h)`` with mixed memory and a projection around it.

    Flat state: ``[h]`` or, with mixed memory, ``[h, c]`` where c is the memory LSTM's cell state.
    """

    def __init__(self, config: ModelConfig, core_output_size: int) -> None:
        super().__init__(config)
        self._core_output_size = core_output_size
        self.memory = (
            MemoryLSTM(config.input_size, config.hidden_size) if getattr(config, "mixed_memory", False) else None
        )
        self.proj = make_projection(core_output_size, config.proj_size)

    @property
    def output_size(self) -> int:
        return self.config.proj_size or self._core_output_size

    def state_layout(self) -> list[tuple[str, int]]:
        layout = [("h", self.config.hidden_size)]
        if self.memory is not None:
            layout.append(("c", self.config.hidden_size))
        return layout

    @abstractmethod
    def core(self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The liquid cell itself: (x [B,F], h [B,H], dt [B,1]) -> (out [B,O'], h [B,H])."""

    def step(self, x: torch.Tensor, state: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.memory is None:
            out, h = self.core(x, state, dt)
            return self.proj(out), h
        hidden = self.config.hidden_size
        h, c = state[:, :hidden], state[:, hidden:]
        h, c = self.memory(x, h, c)
        out, h = self.core(x, h, dt)
        return self.proj(out), torch.cat([h, c], dim=1)
