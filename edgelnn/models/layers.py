"""Building blocks shared by several models: activations, the mixed-memory LSTM, output heads."""

from __future__ import annotations

import torch
from torch import nn


class LeCunTanh(nn.Module):
    """lecun_tanh(x) = 1.7159 * tanh(0.666 x), the CfC backbone default."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(0.666 * x)


ACTIVATION_MODULES: dict[str, type[nn.Module]] = {
    "lecun_tanh": LeCunTanh,
    "silu": nn.SiLU,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
}


class MemoryLSTM(nn.Module):
    """The LSTM that mixed-memory models run before their liquid cell (ncps.torch.lstm.LSTMCell semantics).

    Gates in the order (input activation, input gate, forget gate, output gate); the forget gate has a
    fixed +1 bias, the recurrent map has no bias.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_map = nn.Linear(input_size, 4 * hidden_size, bias=True)
        self.recurrent_map = nn.Linear(hidden_size, 4 * hidden_size, bias=False)
        nn.init.xavier_uniform_(self.input_map.weight)
        nn.init.uniform_(self.input_map.bias, -0.1, 0.1)
        nn.init.orthogonal_(self.recurrent_map.weight)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.input_map(x) + self.recurrent_map(h)
        i, ig, fg, og = z.chunk(4, dim=1)
        c = c * torch.sigmoid(fg + 1.0) + torch.tanh(i) * torch.sigmoid(ig)
        return torch.tanh(c) * torch.sigmoid(og), c


def make_projection(in_features: int, proj_size: int | None) -> nn.Module:
    """A linear readout when ``proj_size`` is set, else identity."""
    return nn.Identity() if proj_size is None else nn.Linear(in_features, proj_size)
