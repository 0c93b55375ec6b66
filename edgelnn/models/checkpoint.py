"""Checkpoints: weights and config in one safetensors file. Loading never executes code.

The file's safetensors metadata holds ``format`` ("edgelnn-checkpoint"), ``format_version``, the model
``config`` as JSON and any extra string metadata the caller passes (task, metrics, ...). Writes go to a
temporary file in the same directory first and are then renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from edgelnn.errors import CheckpointError
from edgelnn.models.base import StepModel
from edgelnn.models.config import ModelConfig, config_from_json
from edgelnn.models.registry import build_model
from edgelnn.utils.atomic import atomic_write

FORMAT = "edgelnn-checkpoint"
FORMAT_VERSION = "1"
RESERVED_KEYS = ("format", "format_version", "config")


def save_checkpoint(model: StepModel, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (weights, buffers, config) atomically to ``path`` and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": model.config.to_json()}
    for key, value in (metadata or {}).items():
        if key in meta:  # would silently overwrite what load_checkpoint needs
            raise ValueError(f"metadata key {key!r} is reserved; reserved keys: {', '.join(RESERVED_KEYS)}")
        meta[key] = value if isinstance(value, str) else json.dumps(value)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=meta), ".safetensors")


def read_checkpoint(path: str | Path) -> tuple[ModelConfig, dict[str, torch.Tensor], dict[str, str]]:
    """Read (config, tensors, metadata) without building a model; raises CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is no dict)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {path} is unreadable (truncated or not a safetensors file): {exc}") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not an edgelnn checkpoint (metadata format={meta.get('format')!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format_version={meta.get('format_version')!r}; this edgelnn reads {FORMAT_VERSION}"
        )
    try:
        config = config_from_json(meta["config"])
    except (KeyError, ValueError, TypeError) as exc:  # a corrupt config fails in many ways
        raise CheckpointError(f"checkpoint {path} has an invalid model config: {exc}") from None
    return config, tensors, meta


def load_state_strict(model: StepModel, tensors: dict[str, torch.Tensor], source: str) -> None:
    """Load tensors into ``model``; missing keys, unexpected keys or wrong shapes raise CheckpointError."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing:
        raise CheckpointError(f"{source} is missing tensor(s): {', '.join(missing)}")
    if unexpected:
        raise CheckpointError(f"{source} has unexpected tensor(s): {', '.join(unexpected)}")
    wrong = [
        f"{k} {tuple(tensors[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if tuple(tensors[k].shape) != tuple(v.shape)
    ]
    if wrong:
        raise CheckpointError(f"{source} has tensor(s) of the wrong shape: {'; '.join(wrong)}")
    model.load_state_dict(tensors, strict=True)


def load_checkpoint(path: str | Path) -> StepModel:
    """Rebuild the model a checkpoint describes, with its weights, in eval mode."""
    config, tensors, _ = read_checkpoint(path)
    model = build_model(config)
    load_state_strict(model, tensors, f"checkpoint {path}")
    return model.eval()
