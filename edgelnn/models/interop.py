"""Import models trained with ncps 1.0.1 (ncps.torch CfC / LTC and their cells) with their weights.

ncps is only needed to *have* such a module; this file inspects it by attribute, so edgelnn itself does not
depend on ncps. Wirings are re-expressed as edgelnn wiring configs and checked matrix for matrix; a wiring no
seed reproduces is stored as explicit matrices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from edgelnn.errors import CheckpointError, ConversionError
from edgelnn.models.base import StepModel
from edgelnn.models.checkpoint import load_state_strict
from edgelnn.models.registry import build_model
from edgelnn.models.wirings import Wiring, wiring_from_config

# ncps backbone activation class name -> edgelnn activation name
_ACTIVATION_NAMES = {"LeCun": "lecun_tanh", "SiLU": "silu", "ReLU": "relu", "Tanh": "tanh", "GELU": "gelu"}


def _wiring_candidates(w: Any) -> list[dict[str, Any]]:
    """edgelnn configs that may reproduce an ncps wiring object, most specific first."""
    name = type(w).__name__
    if name == "AutoNCP":
        return [{"type": "auto_ncp", "units": w.units, "output_size": w._output_size,
                 "sparsity_level": w._sparsity_level, "seed": w._seed}]
    if name == "FullyConnected":
        return [{"type": "fully_connected", "units": w.units, "output_dim": w.output_dim,
                 "erev_init_seed": w._erev_init_seed, "self_connections": w.self_connections}]
    if name == "Random":
        return [{"type": "random", "units": w.units, "output_dim": w.output_dim,
                 "sparsity_level": w.sparsity_level, "random_seed": w._random_seed}]
    return []


def wiring_config_from_ncps(w: Any) -> dict[str, Any]:
    """A wiring config whose matrices equal those of the (built) ncps wiring ``w``."""
    adjacency = np.asarray(w.adjacency_matrix)
    sensory = np.asarray(w.sensory_adjacency_matrix)
    for candidate in _wiring_candidates(w):
        built = wiring_from_config(candidate, w.input_dim)
        if np.array_equal(built.adjacency, adjacency) and np.array_equal(built.sensory_adjacency, sensory):
            return candidate
    layers = [list(map(int, w.get_neurons_of_layer(i))) for i in range(w.num_layers)]
    return Wiring(w.units, w.input_dim, w.output_dim, adjacency, sensory, layers).to_config()


def _backbone_settings(cell: nn.Module) -> dict[str, Any]:
    if cell.backbone_layers == 0 or cell.backbone is None:
        return {"backbone_layers": 0}
    linears = [m for m in cell.backbone if isinstance(m, nn.Linear)]
    acts = [type(m).__name__ for m in cell.backbone if type(m).__name__ in _ACTIVATION_NAMES]
    drops = [m.p for m in cell.backbone if isinstance(m, nn.Dropout)]
    return {"backbone_layers": len(linears), "backbone_units": linears[0].out_features,
            "activation": _ACTIVATION_NAMES[acts[0]], "backbone_dropout": drops[0] if drops else 0.0}


def _renamed(state: dict[str, torch.Tensor], renames: list[tuple[str, str]]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        for old, new in renames:
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value.detach().clone()
    return out


def _cfc_cell_config(cell: nn.Module, input_size: int) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    kind = type(cell).__name__
    if kind == "WiredCfCCell":
        wiring = cell._wiring
        cfg = {"input_size": input_size, "hidden_size": wiring.units, "mode": cell._layers[0].mode,
               "wiring": wiring_config_from_ncps(wiring)}
        return cfg, [(f"layer_{i}.", f"blocks.{i}.") for i in range(cell.num_layers)]
    if getattr(cell, "sparsity_mask", None) is not None:
        raise ConversionError("cannot convert a CfCCell with a sparsity_mask; use a WiredCfCCell or CfC with a wiring")
    cfg = {"input_size": input_size, "hidden_size": cell.hidden_size, "mode": cell.mode, **_backbone_settings(cell)}
    return cfg, [("", "blocks.0.")]


def _from_cfc(module: nn.Module) -> StepModel:
    is_wrapper = hasattr(module, "rnn_cell")
    cell = module.rnn_cell if is_wrapper else module
    input_size = module.input_size if is_wrapper else (cell.input_size if hasattr(cell, "input_size")
                                                        else cell._wiring.input_dim)
    cfg, renames = _cfc_cell_config(cell, input_size)
    if is_wrapper:
        renames = [("rnn_cell." + old, new) for old, new in renames] + [("lstm.", "memory."), ("fc.", "proj.")]
        cfg["mixed_memory"] = bool(module.use_mixed)
        cfg["proj_size"] = module.proj_size
    return _build({"kind": "cfc", **cfg}, module.state_dict(), renames)


def _from_ltc(module: nn.Module) -> StepModel:
    is_wrapper = hasattr(module, "rnn_cell")
    cell = module.rnn_cell if is_wrapper else module
    wiring = cell._wiring
    cfg = {
        "kind": "ltc", "input_size": wiring.input_dim, "hidden_size": wiring.units,
        "wiring": wiring_config_from_ncps(wiring), "ode_unfolds": cell._ode_unfolds, "solver": "fused",
        "constraints": "softplus" if cell._implicit_param_constraints else "clip",
        "input_mapping": cell._input_mapping, "output_mapping": cell._output_mapping,
        "epsilon": float(cell._epsilon), "mixed_memory": bool(is_wrapper and module.use_mixed),
    }
    renames = [("rnn_cell.", ""), ("lstm.", "memory.")] if is_wrapper else []
    return _build(cfg, module.state_dict(), renames)


def _build(cfg: dict[str, Any], state: dict[str, torch.Tensor], renames: list[tuple[str, str]]) -> StepModel:
    model = build_model(cfg)
    try:
        load_state_strict(model, _renamed(state, renames), "ncps module")
    except CheckpointError as exc:  # a parameter layout this converter does not know
        raise ConversionError(f"cannot convert: {exc}") from None
    return model.eval()


_CONVERTERS = {"CfC": _from_cfc, "CfCCell": _from_cfc, "WiredCfCCell": _from_cfc, "LTC": _from_ltc, "LTCCell": _from_ltc}


def from_ncps(module: nn.Module) -> StepModel:
    """Convert an ncps.torch CfC, LTC, CfCCell, WiredCfCCell or LTCCell into the equivalent edgelnn model."""
    name = type(module).__name__
    if name not in _CONVERTERS:
        raise ConversionError(f"cannot convert {name}; supported ncps modules: {', '.join(_CONVERTERS)}")
    return _CONVERTERS[name](module)
