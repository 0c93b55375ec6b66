"""Tiny trained runs and their exports, built once per test session (see the fixtures in tests/conftest.py).

One CfC (hidden 8) per task, trained for one epoch on a small sine regression task and a small event-based XOR
classification task, then exported to ONNX (and TFLite where its converter is installed), with int8.
Tests that damage an export or a run must work on a copy (``shutil.copytree`` into ``tmp_path``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

TINY_SINE: dict[str, Any] = {"n_train": 48, "n_val": 16, "n_test": 16, "seq_len": 12}
TINY_XOR: dict[str, Any] = {"n_train": 64, "n_val": 16, "n_test": 16, "n_ood": 16, "n_bits": 8, "ood_bits": 12}
TASK_OPTIONS = {"sine": TINY_SINE, "xor": TINY_XOR}
MODEL_OPTIONS: dict[str, Any] = {"backbone_units": 8}
HAS_TFLITE = all(importlib.util.find_spec(m) for m in ("litert_torch", "ai_edge_quantizer", "ai_edge_litert"))
EXPORT_FORMATS = ("onnx", "tflite") if HAS_TFLITE else ("onnx",)
VERIFY_SEQUENCES = 16
CALIBRATION_ROWS = 256


def train_tiny(task: str, out_dir: Path) -> Path:
    """A one-epoch CfC run on the tiny ``task`` (deterministic: seed 0); returns the run directory."""
    from edgelnn.training import TrainConfig, train

    cfg = TrainConfig(model="cfc", task=task, hidden_size=8, epochs=1, batch_size=16, patience=0,
                      model_options=dict(MODEL_OPTIONS), task_options=dict(TASK_OPTIONS[task]))
    return train(cfg, out_dir, progress=False).run_dir


def export_tiny(run: Path, out_dir: Path) -> Path:
    """Every installed format with int8, verified on the first VERIFY_SEQUENCES sequences of each split."""
    from edgelnn.export import ExportConfig, export_model, resolve_source

    cfg = ExportConfig(formats=EXPORT_FORMATS, int8=True, verify_sequences=VERIFY_SEQUENCES,
                       calibration_rows=CALIBRATION_ROWS)
    export_model(resolve_source(run=run), cfg, out_dir)
    return out_dir


def evaluated_splits(task: str) -> set[str]:
    """The splits an export verifies and a bench evaluates for the tiny ``task``: test and every OOD split."""
    from edgelnn.tasks import load_task

    return {"test", *load_task(task, **TASK_OPTIONS[task]).ood_splits()}
