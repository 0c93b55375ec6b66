"""Model zoo: CfC, LTC, LRC, LSTM, GRU behind one streaming-step interface."""

from edgelnn.models.base import StepModel
from edgelnn.models.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from edgelnn.models.config import (
    CfCConfig,
    GRUConfig,
    LRCConfig,
    LSTMConfig,
    LTCConfig,
    ModelConfig,
    config_from_dict,
    config_from_json,
)
from edgelnn.models.interop import from_ncps
from edgelnn.models.registry import DESCRIPTIONS, MODELS, build_model, list_models, make_config

__all__ = [
    "DESCRIPTIONS",
    "MODELS",
    "CfCConfig",
    "GRUConfig",
    "LRCConfig",
    "LSTMConfig",
    "LTCConfig",
    "ModelConfig",
    "StepModel",
    "build_model",
    "config_from_dict",
    "config_from_json",
    "from_ncps",
    "list_models",
    "load_checkpoint",
    "make_config",
    "read_checkpoint",
    "save_checkpoint",
]
