"""CfC: closed-form continuous-time cells (Hasani et al. 2022), ncps.torch.CfC semantics.

z = backbone(cat[x, h]); ff1 = tanh(W1 z), ff2 = tanh(W2 z), gate = sigmoid(Wa z * dt + Wb z)
  default: h' = ff1 * (1 - gate) + gate * ff2;  no_gate: h' = ff1 + gate * ff2
  pure:    h' = -A * exp(-dt * (|w_tau| + |W1 z|)) * (W1 z) + A
A wired CfC runs one such cell without backbone per wiring layer (inter, command, motor), with ff1 and
ff2 masked by the wiring; its state is [inter, command, motor] and its output the motor neurons.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgelnn.models.config import CfCConfig
from edgelnn.models.layers import ACTIVATION_MODULES
from edgelnn.models.liquid import LiquidModel
from edgelnn.models.wirings import Wiring, wiring_from_config


class CfCBlock(nn.Module):
    """One CfC cell: optional backbone, then the closed-form update of ``hidden`` neurons."""

    def __init__(
        self,
        in_features: int,
        hidden: int,
        mode: str,
        activation: str,
        backbone_units: int,
        backbone_layers: int,
        backbone_dropout: float,
        sparsity_mask: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.mode = mode
        layers: list[nn.Module] = []
        width = in_features + hidden
        act = ACTIVATION_MODULES[activation]
        for i in range(backbone_layers):
            layers += [nn.Linear(width, backbone_units), act()]
            if i > 0 and backbone_dropout > 0.0:  # ncps puts dropout after the 2nd+ layers only
                layers.append(nn.Dropout(backbone_dropout))
            width = backbone_units
        self.backbone = nn.Sequential(*layers)
        # [hidden, width] mask on ff1/ff2 weights; a buffer, never trained.
        mask = None if sparsity_mask is None else torch.as_tensor(np.abs(sparsity_mask).T, dtype=torch.float32)
        self.register_buffer("sparsity_mask", mask)
        self.ff1 = nn.Linear(width, hidden)
        if mode == "pure":
            self.w_tau = nn.Parameter(torch.zeros(1, hidden))
            self.A = nn.Parameter(torch.ones(1, hidden))
        else:
            self.ff2 = nn.Linear(width, hidden)
            self.time_a = nn.Linear(width, hidden)
            self.time_b = nn.Linear(width, hidden)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.xavier_uniform_(p)

    def head_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """ff1, ff2, time_a, time_b stacked (ff1/ff2 masked): one matmul computes all four heads."""
        w1, w2 = self.ff1.weight, self.ff2.weight
        if self.sparsity_mask is not None:
            w1, w2 = w1 * self.sparsity_mask, w2 * self.sparsity_mask
        weight = torch.cat([w1, w2, self.time_a.weight, self.time_b.weight])
        bias = torch.cat([self.ff1.bias, self.ff2.bias, self.time_a.bias, self.time_b.bias])
        return weight, bias

    def forward(self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        return self.update(self.backbone(torch.cat([x, h], dim=1)), dt)

    def update(
        self, z: torch.Tensor, dt: torch.Tensor, heads: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """The closed-form update from backbone features ``z`` (``heads`` may be precomputed)."""
        if self.mode == "pure":
            weight = self.ff1.weight if self.sparsity_mask is None else self.ff1.weight * self.sparsity_mask
            ff1 = F.linear(z, weight, self.ff1.bias)
            return -self.A * torch.exp(-dt * (self.w_tau.abs() + ff1.abs())) * ff1 + self.A
        ff1, ff2, t_a, t_b = F.linear(z, *(heads or self.head_weights())).chunk(4, dim=1)
        ff1, ff2 = torch.tanh(ff1), torch.tanh(ff2)
        gate = torch.sigmoid(t_a * dt + t_b)
        if self.mode == "no_gate":
            return ff1 + gate * ff2
        return ff1 * (1.0 - gate) + gate * ff2


def _layer_masks(wiring: Wiring) -> list[np.ndarray]:
    """Per wiring layer, the [in + hidden, hidden] mask of its inputs (previous layer) plus self-recurrence."""
    masks = []
    for i, neurons in enumerate(wiring.layers):
        if i == 0:
            incoming = wiring.sensory_adjacency[:, neurons]
        else:
            incoming = wiring.adjacency[np.ix_(wiring.layers[i - 1], neurons)]
        masks.append(np.concatenate([incoming, np.ones((len(neurons), len(neurons)))], axis=0))
    return masks


class CfC(LiquidModel):
    """Closed-form continuous-time model, fully connected or wired (NCP)."""

    config: CfCConfig

    def __init__(self, config: CfCConfig) -> None:
        self.wiring = None if config.wiring is None else wiring_from_config(config.wiring, config.input_size)
        core_out = config.hidden_size if self.wiring is None else self.wiring.output_dim
        super().__init__(config, core_out)
        if self.wiring is None:
            self.blocks = nn.ModuleList([
                CfCBlock(config.input_size, config.hidden_size, config.mode, config.activation,
                         config.backbone_units, config.backbone_layers, config.backbone_dropout)
            ])
            self.layer_sizes = [config.hidden_size]
        else:
            blocks, in_features = [], config.input_size
            for neurons, mask in zip(self.wiring.layers, _layer_masks(self.wiring)):
                blocks.append(CfCBlock(in_features, len(neurons), config.mode, "lecun_tanh", 0, 0, 0.0, mask))
                in_features = len(neurons)
            self.blocks = nn.ModuleList(blocks)
            self.layer_sizes = [len(neurons) for neurons in self.wiring.layers]

    def sequence_plan(self, x: torch.Tensor):
        """Fast path for whole sequences: the input half of the first backbone layer runs once for all
        steps (one large matmul) and the four heads share one stacked weight; the math is unchanged."""
        block = self.blocks[0]
        if self.memory is not None or len(self.blocks) != 1 or len(block.backbone) == 0 or block.mode == "pure":
            return super().sequence_plan(x)
        first, rest = block.backbone[0], block.backbone[1:]
        n_in = self.config.input_size
        x_part = F.linear(x, first.weight[:, :n_in], first.bias)
        h_weight, heads = first.weight[:, n_in:], block.head_weights()

        def step(xw: torch.Tensor, h: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            h = block.update(rest(xw + F.linear(h, h_weight)), dt, heads)
            return self.proj(h), h

        return x_part, step

    def core(self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if len(self.blocks) == 1:
            h = self.blocks[0](x, h, dt)
            return h, h
        parts, inp = [], x
        for block, h_layer in zip(self.blocks, torch.split(h, self.layer_sizes, dim=1)):
            inp = block(inp, h_layer, dt)
            parts.append(inp)
        return inp, torch.cat(parts, dim=1)
