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
