"""LTC: liquid time-constant cells (Hasani et al. 2021), ncps.torch.LTC semantics, three ODE solvers.

Per neuron i:  cm_i dv_i/dt = gleak_i (vleak_i - v_i) + sum_j w_ji S_ji(v_j) (erev_ji - v_i)
                              + sum_k sw_ki S_ki(u_k) (serev_ki - v_i),   S(v) = sigmoid(sigma (v - mu))
Solvers, each over K = ode_unfolds sub-steps of dt/K:
  fused  the semi-implicit Euler step of ncps: v = (cm_t v + gleak vleak + num) / (cm_t + gleak + den + eps)
  euler  explicit Euler;  rk4  classic Runge-Kutta 4.
Positive parameters (w, sensory_w, cm, gleak) go through softplus ("softplus" constraints) or are clipped
at zero after each optimizer step ("clip" constraints, :meth:`apply_weight_constraints`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from edgelnn.models.config import LTCConfig
from edgelnn.models.liquid import LiquidModel
from edgelnn.models.wirings import fully_connected, wiring_from_config

# ncps initialisation ranges (uniform).
INIT_RANGES = {
    "gleak": (0.001, 1.0), "vleak": (-0.2, 0.2), "cm": (0.4, 0.6), "w": (0.001, 1.0), "sigma": (3.0, 8.0),
    "mu": (0.3, 0.8), "sensory_w": (0.001, 1.0), "sensory_sigma": (3.0, 8.0), "sensory_mu": (0.3, 0.8),
}


def uniform_parameter(shape: tuple[int, ...], low: float, high: float) -> nn.Parameter:
    return nn.Parameter(torch.rand(*shape) * (high - low) + low)


def synapse_activation(v: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """S[b, j, i] = sigmoid(sigma_ji * (v[b, j] - mu_ji)) for every pre-synaptic j and post-synaptic i."""
    return torch.sigmoid(sigma * (v.unsqueeze(-1) - mu))


def apply_mapping(z: torch.Tensor, kind: str, w: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor:
    """The elementwise input/output mapping of ncps: affine (w z + b), linear (w z) or none."""
    if kind in ("affine", "linear"):
        z = z * w
    if kind == "affine":
        z = z + b
    return z


def add_mapping_parameters(module: nn.Module, prefix: str, kind: str, size: int) -> None:
    module.register_parameter(f"{prefix}_w", nn.Parameter(torch.ones(size)) if kind != "none" else None)
    module.register_parameter(f"{prefix}_b", nn.Parameter(torch.zeros(size)) if kind == "affine" else None)


class LTC(LiquidModel):
    """Liquid time-constant model over a wiring (fully connected by default)."""

    config: LTCConfig
    POSITIVE = ("w", "sensory_w", "cm", "gleak")

    def __init__(self, config: LTCConfig) -> None:
        units, inputs = config.hidden_size, config.input_size
        wiring = (
            fully_connected(units, inputs) if config.wiring is None else wiring_from_config(config.wiring, inputs)
        )
        super().__init__(config, wiring.output_dim)
        self.wiring = wiring
        r = INIT_RANGES
        self.gleak = uniform_parameter((units,), *r["gleak"])
        self.vleak = uniform_parameter((units,), *r["vleak"])
        self.cm = uniform_parameter((units,), *r["cm"])
        self.sigma = uniform_parameter((units, units), *r["sigma"])
        self.mu = uniform_parameter((units, units), *r["mu"])
        self.w = uniform_parameter((units, units), *r["w"])
        self.erev = nn.Parameter(torch.as_tensor(wiring.adjacency, dtype=torch.float32).clone())
        self.sensory_sigma = uniform_parameter((inputs, units), *r["sensory_sigma"])
        self.sensory_mu = uniform_parameter((inputs, units), *r["sensory_mu"])
        self.sensory_w = uniform_parameter((inputs, units), *r["sensory_w"])
        self.sensory_erev = nn.Parameter(torch.as_tensor(wiring.sensory_adjacency, dtype=torch.float32).clone())
        self.register_buffer("sparsity_mask", torch.as_tensor(abs(wiring.adjacency), dtype=torch.float32))
        self.register_buffer(
            "sensory_sparsity_mask", torch.as_tensor(abs(wiring.sensory_adjacency), dtype=torch.float32)
        )
        add_mapping_parameters(self, "input", config.input_mapping, inputs)
        add_mapping_parameters(self, "output", config.output_mapping, wiring.output_dim)
        self._solvers: dict[str, Callable] = {"fused": self._fused, "euler": self._euler, "rk4": self._rk4}

    def _positive(self, p: torch.Tensor) -> torch.Tensor:
        return F.softplus(p) if self.config.constraints == "softplus" else p

    def apply_weight_constraints(self) -> None:
        if self.config.constraints == "clip":
            with torch.no_grad():
                for name in self.POSITIVE:
                    getattr(self, name).clamp_(min=0.0)

    def _synaptic(self, v: torch.Tensor, w: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Recurrent (numerator, denominator) sums: sum_j w S erev and sum_j w S.

        ``w`` is (masked positive weight, weight * erev), formed once per step by :meth:`core`, so each
        unfold costs two [B,S,S] products instead of four.
        """
        s = synapse_activation(v, self.mu, self.sigma)
        return (s * w[1]).sum(dim=1), (s * w[0]).sum(dim=1)

    def _rhs(self, v, w, gleak, cm, num_s, den_s) -> torch.Tensor:
        num, den = self._synaptic(v, w)
        return (gleak * self.vleak + num + num_s - (gleak + den + den_s) * v) / cm

    def _fused(self, v, h, w, gleak, cm, num_s, den_s) -> torch.Tensor:
        cm_t = cm / h
        for _ in range(self.config.ode_unfolds):
            num, den = self._synaptic(v, w)
            v = (cm_t * v + gleak * self.vleak + num + num_s) / (cm_t + gleak + den + den_s + self.config.epsilon)
        return v

    def _euler(self, v, h, w, gleak, cm, num_s, den_s) -> torch.Tensor:
        for _ in range(self.config.ode_unfolds):
            v = v + h * self._rhs(v, w, gleak, cm, num_s, den_s)
        return v

    def _rk4(self, v, h, w, gleak, cm, num_s, den_s) -> torch.Tensor:
        args = (w, gleak, cm, num_s, den_s)
        for _ in range(self.config.ode_unfolds):
            k1 = self._rhs(v, *args)
            k2 = self._rhs(v + 0.5 * h * k1, *args)
            k3 = self._rhs(v + 0.5 * h * k2, *args)
            k4 = self._rhs(v + h * k3, *args)
            v = v + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        return v

    def core(self, x: torch.Tensor, h: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        u = apply_mapping(x, self.config.input_mapping, self.input_w, self.input_b)
        sensory = (
            self._positive(self.sensory_w)
            * synapse_activation(u, self.sensory_mu, self.sensory_sigma)
            * self.sensory_sparsity_mask
        )
        num_s, den_s = (sensory * self.sensory_erev).sum(dim=1), sensory.sum(dim=1)
        sub_dt = dt / self.config.ode_unfolds
        solver = self._solvers[self.config.solver]
        w = self._positive(self.w) * self.sparsity_mask
        v = solver(h, sub_dt, (w, w * self.erev), self._positive(self.gleak), self._positive(self.cm), num_s, den_s)
        out = apply_mapping(v[:, : self.wiring.output_dim], self.config.output_mapping, self.output_w, self.output_b)
        return out, v
