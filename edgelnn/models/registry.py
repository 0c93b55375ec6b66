"""Registry from model kind to its class, so callers build any model from a config (no if-chains)."""

from __future__ import annotations

from typing import Any

from edgelnn.models.base import StepModel
from edgelnn.models.cfc import CfC
from edgelnn.models.config import CONFIGS, ModelConfig, config_from_dict
from edgelnn.models.lrc import LRC
from edgelnn.models.ltc import LTC
from edgelnn.models.rnn import GRU, LSTM

MODELS: dict[str, type[StepModel]] = {"cfc": CfC, "ltc": LTC, "lrc": LRC, "lstm": LSTM, "gru": GRU}

DESCRIPTIONS: dict[str, str] = {
    "cfc": "closed-form continuous-time cell (Hasani et al. 2022); modes default/no_gate/pure, NCP wiring",
    "ltc": "liquid time-constant cell (Hasani et al. 2021); fused/euler/rk4 ODE solver, NCP wiring",
    "lrc": "liquid resistance-capacitance cell (Farsang et al. 2024); asymmetric/symmetric elastance",
    "lstm": "LSTM baseline (torch.nn.LSTMCell); state [h, c]",
    "gru": "GRU baseline (torch.nn.GRUCell)",
}


def list_models() -> list[str]:
    return list(MODELS)


def build_model(config: ModelConfig | dict[str, Any]) -> StepModel:
    """Build the model a config describes (a config object or its dict form)."""
    if isinstance(config, dict):
        config = config_from_dict(config)
    return MODELS[config.kind](config)


def make_config(kind: str, input_size: int, hidden_size: int, **options: Any) -> ModelConfig:
    """A validated config for ``kind``; unknown kinds or options raise ValueError naming the valid ones."""
    if kind not in CONFIGS:
        raise ValueError(f"model={kind!r} is not valid; allowed values: {', '.join(MODELS)}")
    return config_from_dict({"kind": kind, "input_size": input_size, "hidden_size": hidden_size, **options})
