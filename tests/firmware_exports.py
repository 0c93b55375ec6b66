"""Tiny exports with golden vectors (ragged sequences) for the firmware tests (bundle, golden test, bench firmware
rows). Used by tests/firmware_bench/conftest.py and tests/targets/test_bench_mcu.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np

GOLDEN_INPUTS, GOLDEN_OUTPUTS, GOLDEN_HIDDEN = 3, 2, 8


def export_tiny_model(folder: Path, kind: str = "cfc", **options) -> Path:
    """A seeded, untrained ``kind`` model exported (ONNX fp32) from an .npz task with ragged sequences."""
    import torch

    from edgelnn.export import ExportConfig, Source, export_model
    from edgelnn.models import build_model, make_config, save_checkpoint
    from edgelnn.tasks import load_npz_task

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n, steps = 24, 10
    mask = np.arange(steps)[None, :] < rng.integers(4, steps + 1, n)[:, None]
    data = folder / "data.npz"
    np.savez(data, x=rng.standard_normal((n, steps, GOLDEN_INPUTS)).astype(np.float32),
             y=rng.standard_normal((n, steps, GOLDEN_OUTPUTS)).astype(np.float32),
             t=rng.uniform(0.1, 1.5, (n, steps)).astype(np.float32), mask=mask)
    torch.manual_seed(0)
    model = build_model(make_config(kind, GOLDEN_INPUTS, GOLDEN_HIDDEN, proj_size=GOLDEN_OUTPUTS, **options)).eval()
    ckpt = save_checkpoint(model, folder / "model.safetensors", {"task": str(data)})
    cfg = ExportConfig(formats=("onnx",), int8=False, calibration_rows=32, verify_sequences=4)
    export_model(Source(model, ckpt, None, load_npz_task(str(data))), cfg, folder / "export")
    return folder / "export"


def write_minimal_export(model, folder: Path) -> Path:
    """A minimal export-like directory for the C generator: model.safetensors and the manifest fields it reads
    (model config, checkpoint sha256, solver, signature, state layout), without running an export."""
    import json

    from edgelnn.artifact import sha256_of
    from edgelnn.models.checkpoint import save_checkpoint

    folder.mkdir(parents=True, exist_ok=True)
    ckpt = save_checkpoint(model, folder / "model.safetensors")
    layout, offset = [], 0
    for name, size in model.state_layout():
        layout.append({"name": name, "offset": offset, "size": size})
        offset += size
    sizes = {"x": model.input_size, "state": model.state_size, "dt": 1, "y": model.output_size,
             "state_out": model.state_size}
    cfg = model.config
    manifest = {
        "model": cfg.to_dict(),
        "torch_checkpoint": {"file": ckpt.name, "sha256": sha256_of(ckpt)},
        "solver": {"method": getattr(cfg, "solver", None), "ode_unfolds": getattr(cfg, "ode_unfolds", None)},
        "signature": {"inputs": [{"name": n, "shape": ["batch", sizes[n]], "dtype": "float32"}
                                 for n in ("x", "state", "dt")],
                      "outputs": [{"name": n, "shape": ["batch", sizes[n]], "dtype": "float32"}
                                  for n in ("y", "state_out")]},
        "state_layout": layout,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder
