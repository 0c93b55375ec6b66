"""LRC: liquid resistance-capacitance cells (Farsang et al. 2024, arXiv:2403.08791).

  f = gleak + sum_j w_ji S(v_j) + sum_k sw_ki S(u_k)          (w, sw, gleak >= 0)
  g = gleak + sum_j h_ji S(v_j) + sum_k sh_ki S(u_k)
  dv/dt = eps(u, v) * (-sigmoid(f) v + vleak tanh(g))
Elastance eps per sub-step of dt/K:  asymmetric sigmoid(E[u, v]) dt/K;  symmetric
(sigmoid(E[u,v] + s) - sigmoid(E[u,v] - s)) dt/K;  constant dt/K.
Update: explicit Euler, or hybrid (semi-implicit): v = (eps vleak tanh(g) + v) / (1 + eps sigmoid(f)).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgelnn.models.config import LRCConfig
from edgelnn.models.liquid import LiquidModel
from edgelnn.models.ltc import add_mapping_parameters, apply_mapping, synapse_activation, uniform_parameter

INIT_RANGES = {
    "gleak": (0.001, 1.0), "vleak": (-0.2, 0.2), "w": (0.001, 1.0), "sigma": (3.0, 8.0), "mu": (0.3, 0.8),
    "sensory_w": (0.001, 1.0), "sensory_sigma": (3.0, 8.0), "sensory_mu": (0.3, 0.8),
}


class LRC(LiquidModel):
    """Liquid resistance-capacitance model, fully connected; every neuron is an output."""

    config: LRCConfig
    POSITIVE = ("gleak", "w", "sensory_w", "distr_shift")

    def __init__(self, config: LRCConfig) -> None:
        super().__init__(config, config.hidden_size)
        units, inputs = config.hidden_size, config.input_size
        r = INIT_RANGES
        self.gleak = uniform_parameter((units,), *r["gleak"])
        self.vleak = uniform_parameter((units,), *r["vleak"])
        self.sigma = uniform_parameter((units, units), *r["sigma"])
        self.mu = uniform_parameter((units, units), *r["mu"])
        self.w = uniform_parameter((units, units), *r["w"])
        self.h = nn.Parameter(nn.init.orthogonal_(torch.empty(units, units)))
        self.sensory_sigma = uniform_parameter((inputs, units), *r["sensory_sigma"])
        self.sensory_mu = uniform_parameter((inputs, units), *r["sensory_mu"])
        self.sensory_w = uniform_parameter((inputs, units), *r["sensory_w"])
        self.sensory_h = nn.Parameter(nn.init.orthogonal_(torch.empty(inputs, units)))
        self.elastance = nn.Linear(inputs + units, units) if config.elastance != "constant" else None
        self.distr_shift = nn.Parameter(torch.ones(units)) if config.elastance == "symmetric" else None
        add_mapping_parameters(self, "input", config.input_mapping, inputs)
        add_mapping_parameters(self, "output", config.output_mapping, units)

    def _positive(self, p: torch.Tensor) -> torch.Tensor:
        return F.softplus(p) if self.config.constraints == "softplus" else p

    def apply_weight_constraints(self) -> None:
        if self.config.constraints == "clip":
            with torch.no_grad():
                for name in self.POSITIVE:
                    p = getattr(self, name)
                    if p is not None:
                        p.clamp_(min=0.0)

    def _elastance(self, u: torch.Tensor, v: torch.Tensor, sub_dt: torch.Tensor) -> torch.Tensor:
        if self.elastance is None:
            return sub_dt
        e = self.elastance(torch.cat([u, v], dim=1))
        if self.config.elastance == "asymmetric":
            return torch.sigmoid(e) * sub_dt
        shift = self._positive(self.distr_shift)
        return (torch.sigmoid(e + shift) - torch.sigmoid(e - shift)) * sub_dt

    def core(self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        u = apply_mapping(x, self.config.input_mapping, self.input_w, self.input_b)
        s_syn = synapse_activation(u, self.sensory_mu, self.sensory_sigma)
        f_sensory = (self._positive(self.sensory_w) * s_syn).sum(dim=1)
        g_sensory = (self.sensory_h * s_syn).sum(dim=1)
        gleak, w = self._positive(self.gleak), self._positive(self.w)
        sub_dt = dt / self.config.ode_unfolds
        v = h
        for _ in range(self.config.ode_unfolds):
            eps = self._elastance(u, v, sub_dt)
            syn = synapse_activation(v, self.mu, self.sigma)
            f = torch.sigmoid(gleak + (w * syn).sum(dim=1) + f_sensory)
            drive = self.vleak * torch.tanh(gleak + (self.h * syn).sum(dim=1) + g_sensory)
            if self.config.update == "hybrid":
                v = (eps * drive + v) / (1.0 + eps * f)
            else:
                v = v + eps * (drive - v * f)
        out = apply_mapping(v, self.config.output_mapping, self.output_w, self.output_b)
        return out, v
