"""Model configurations: small dataclasses that validate at construction and round-trip through JSON.

Each model family registers its config class under a ``kind`` name; :func:`config_from_dict` rebuilds the
right class from a dict such as the one stored in a checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar

CONFIGS: dict[str, type[ModelConfig]] = {}

ACTIVATIONS = ("lecun_tanh", "silu", "relu", "tanh", "gelu")
CFC_MODES = ("default", "no_gate", "pure")
LTC_SOLVERS = ("fused", "euler", "rk4")
LRC_ELASTANCES = ("asymmetric", "symmetric", "constant")
LRC_UPDATES = ("explicit", "hybrid")
MAPPINGS = ("affine", "linear", "none")
CONSTRAINTS = ("softplus", "clip")


def register_config(kind: str):
    """Class decorator: make a config class constructible from ``{"kind": kind, ...}``."""

    def wrap(cls: type[ModelConfig]) -> type[ModelConfig]:
        cls.kind = kind
        CONFIGS[kind] = cls
        return cls

    return wrap


def _require_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not valid; allowed values: {', '.join(allowed)}")


def _require_int(name: str, value: Any, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name}={value!r} is not valid; it must be an integer >= {minimum}")


@dataclass
class ModelConfig:
    """Settings shared by every model: input width and an optional linear output projection."""

    kind: ClassVar[str] = ""
    input_size: int
    hidden_size: int
    proj_size: int | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        _require_int("input_size", self.input_size, 1)
        _require_int("hidden_size", self.hidden_size, 1)
        if self.proj_size is not None:
            _require_int("proj_size", self.proj_size, 1)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **dataclasses.asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def config_from_dict(data: dict[str, Any]) -> ModelConfig:
    """Rebuild a config from :meth:`ModelConfig.to_dict` output; unknown kinds, unknown or missing fields are errors."""
    if not isinstance(data, dict):
        raise TypeError(f"a model config must be a dict / JSON object, got {type(data).__name__}")
    data = dict(data)
    kind = data.pop("kind", None)
    if kind not in CONFIGS:
        raise ValueError(f"kind={kind!r} is not valid; allowed values: {', '.join(sorted(CONFIGS))}")
    cls = CONFIGS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(
            f"unknown {kind} config field(s): {', '.join(unknown)}; allowed fields: {', '.join(sorted(names))}"
        )
    required = [f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [name for name in required if name not in data]
    if missing:
        raise ValueError(f"missing {kind} config field(s): {', '.join(missing)}")
    return cls(**data)


def config_from_json(text: str) -> ModelConfig:
    return config_from_dict(json.loads(text))


def _validate_wiring(cfg: ModelConfig, wiring: dict[str, Any] | None) -> None:
    if wiring is None:
        return
    from edgelnn.models.wirings import wiring_from_config

    built = wiring_from_config(wiring, cfg.input_size)  # raises ValueError on bad settings
    if built.units != cfg.hidden_size:
        raise ValueError(
            f"wiring size mismatch: wiring has {built.units} units but hidden_size={cfg.hidden_size}"
        )


@register_config("cfc")
@dataclass
class CfCConfig(ModelConfig):
    """Closed-form continuous-time cell (ncps.torch.CfC semantics)."""

    mode: str = "default"
    activation: str = "lecun_tanh"
    backbone_units: int = 128
    backbone_layers: int = 1
    backbone_dropout: float = 0.0
    mixed_memory: bool = False
    wiring: dict[str, Any] | None = None

    def validate(self) -> None:
        super().validate()
        _require_choice("mode", self.mode, CFC_MODES)
        _require_choice("activation", self.activation, ACTIVATIONS)
        _require_int("backbone_layers", self.backbone_layers, 0)
        if self.backbone_layers > 0:
            _require_int("backbone_units", self.backbone_units, 1)
        if not 0.0 <= float(self.backbone_dropout) < 1.0:
            raise ValueError(f"backbone_dropout={self.backbone_dropout!r} is not valid; it must be in [0, 1)")
        _validate_wiring(self, self.wiring)


@register_config("ltc")
@dataclass
class LTCConfig(ModelConfig):
    """Liquid time-constant cell (ncps.torch.LTC semantics) with a choice of ODE solver."""

    wiring: dict[str, Any] | None = None
    ode_unfolds: int = 6
    solver: str = "fused"
    constraints: str = "softplus"
    input_mapping: str = "affine"
    output_mapping: str = "affine"
    epsilon: float = 1e-8
    mixed_memory: bool = False

    def validate(self) -> None:
        super().validate()
        _require_int("ode_unfolds", self.ode_unfolds, 1)
        _require_choice("solver", self.solver, LTC_SOLVERS)
        _require_choice("constraints", self.constraints, CONSTRAINTS)
        _require_choice("input_mapping", self.input_mapping, MAPPINGS)
        _require_choice("output_mapping", self.output_mapping, MAPPINGS)
        _validate_wiring(self, self.wiring)


@register_config("lrc")
@dataclass
class LRCConfig(ModelConfig):
    """Liquid resistance-capacitance cell (Farsang et al. 2024)."""

    ode_unfolds: int = 1
    elastance: str = "asymmetric"
    update: str = "explicit"
    constraints: str = "clip"
    input_mapping: str = "affine"
    output_mapping: str = "affine"

    def validate(self) -> None:
        super().validate()
        _require_int("ode_unfolds", self.ode_unfolds, 1)
        _require_choice("elastance", self.elastance, LRC_ELASTANCES)
        _require_choice("update", self.update, LRC_UPDATES)
        _require_choice("constraints", self.constraints, CONSTRAINTS)
        _require_choice("input_mapping", self.input_mapping, MAPPINGS)
        _require_choice("output_mapping", self.output_mapping, MAPPINGS)


def _require_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is not valid; it must be true or false")  # noqa: TRY004 - every config error is a ValueError


@register_config("lstm")
@dataclass
class LSTMConfig(ModelConfig):
    """torch.nn.LSTMCell behind the step interface; state packs [h, c].

    ``time_input``: feed the step's ``dt`` as one extra input feature (the time-aware baseline of the CfC
    paper's augmented LSTM); off, ``dt`` is accepted and ignored.
    """

    time_input: bool = False

    def validate(self) -> None:
        super().validate()
        _require_bool("time_input", self.time_input)


@register_config("gru")
@dataclass
class GRUConfig(ModelConfig):
    """torch.nn.GRUCell behind the step interface. ``time_input`` as for :class:`LSTMConfig`."""

    time_input: bool = False

    def validate(self) -> None:
        super().validate()
        _require_bool("time_input", self.time_input)
