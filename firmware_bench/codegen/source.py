"""Read what the generator needs from an export directory: manifest.json and the checkpoint it lists.

Only the export directory is read (no training code, no torch): the model config comes from the
checkpoint's safetensors metadata, the weights through ``safetensors`` with numpy, the signature sizes and
the flat state layout from the manifest. The checkpoint's sha256 is checked against the manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.artifact import sha256_of
from edgelnn.errors import ArtifactIntegrityError, ArtifactLoadError, CheckpointError

CHECKPOINT_FORMAT = "edgelnn-checkpoint"


@dataclass
class ModelSpec:
    """One exported model as plain data: config dict, float32 tensors and the step signature."""

    kind: str
    config: dict[str, Any]
    tensors: dict[str, np.ndarray]
    input_size: int
    state_size: int
    output_size: int
    state_layout: list[dict[str, Any]]
    solver: dict[str, Any]

    def has(self, key: str) -> bool:
        return key in self.tensors

    def tensor(self, key: str) -> np.ndarray:
        """Tensor ``key`` as float32 (CheckpointError when the checkpoint lacks it)."""
        if key not in self.tensors:
            raise CheckpointError(f"the {self.kind} checkpoint has no tensor {key!r}")
        return np.asarray(self.tensors[key], dtype=np.float32)


def _require(manifest: dict[str, Any], key: str, where: Path) -> Any:
    if key not in manifest:
        raise ArtifactLoadError(f"{where}: manifest.json has no {key!r} entry")
    return manifest[key]


def _signature_sizes(signature: dict[str, Any], where: Path) -> dict[str, int]:
    try:
        return {t["name"]: int(t["shape"][-1]) for t in (*signature["inputs"], *signature["outputs"])}
    except (KeyError, TypeError, IndexError, ValueError) as err:
        raise ArtifactLoadError(f"{where}: manifest.json has an unreadable signature ({err})") from None


def read_checkpoint_np(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(config dict, tensors) of an edgelnn safetensors checkpoint, read with numpy only."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="np") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is no dict)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} is unreadable: {err}") from None
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"checkpoint {path} is not an edgelnn checkpoint (format={meta.get('format')!r})")
    try:
        config = json.loads(meta["config"])
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"checkpoint {path} has no readable model config: {err}") from None
    return config, tensors


def read_export(export_dir: str | Path) -> ModelSpec:
    """The :class:`ModelSpec` of an export directory (manifest.json + its float checkpoint)."""
    export_dir = Path(export_dir)
    manifest_path = export_dir / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{export_dir} is not an export directory (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as err:
        raise ArtifactLoadError(f"{manifest_path} is not valid JSON: {err}") from None
    ckpt = _require(manifest, "torch_checkpoint", export_dir)
    path = (export_dir / ckpt["file"]).resolve()
    if path.parent != export_dir.resolve() or not path.is_file():
        raise ArtifactLoadError(f"{export_dir}: checkpoint {ckpt['file']!r} is missing or outside the directory")
    if sha256_of(path) != ckpt["sha256"]:
        raise ArtifactIntegrityError(f"{ckpt['file']}: sha256 differs from the manifest's; the file changed after "
                                     f"export; re-export it (or restore the original)")
    config, tensors = read_checkpoint_np(path)
    model = _require(manifest, "model", export_dir)
    if config.get("kind") != model.get("kind"):
        raise ArtifactLoadError(f"{export_dir}: checkpoint holds a {config.get('kind')!r} model, the manifest says "
                                f"{model.get('kind')!r}")
    sizes = _signature_sizes(_require(manifest, "signature", export_dir), export_dir)
    layout = [dict(part) for part in _require(manifest, "state_layout", export_dir)]
    if sum(int(p["size"]) for p in layout) != sizes.get("state"):
        raise ArtifactLoadError(f"{export_dir}: state_layout does not add up to the state size {sizes.get('state')}")
    return ModelSpec(kind=config["kind"], config=config, tensors=tensors, input_size=sizes["x"],
                     state_size=sizes["state"], output_size=sizes["y"], state_layout=layout,
                     solver=dict(manifest.get("solver") or {}))
