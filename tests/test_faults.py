"""Fault battery (cross-cutting): planted pickles are never executed, manifests cannot point outside their
export directory, and long free-running rollouts stay finite and bounded for every model kind.

Faults owned by one package live beside it: concurrent writers and killed exports in tests/export and
tests/training, CLI bad input in tests/cli, shared models in tests/runtime/test_threads.py.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from edgelnn.errors import ArtifactLoadError, CheckpointError
from edgelnn.export import ExportConfig, export_model, resolve_source
from edgelnn.models import load_checkpoint
from edgelnn.runtime import load
from edgelnn.tasks import load_npz_task
from edgelnn.training import TrainConfig, train

KINDS = ("cfc", "ltc", "lrc", "lstm", "gru")
TINY_SINE = {"n_train": 32, "n_val": 8, "n_test": 8, "seq_len": 8}
LONG_STEPS = 100_000


class _Planted:
    """Unpickling this object creates ``marker``: the test fails if any loader executes it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _plant_pickle(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps({"weights": _Planted(marker)}))


def _plant_torch_save(path: Path, marker: Path) -> None:
    torch.save({"weights": _Planted(marker)}, path)  # a zip with a pickle inside, as torch writes it


@pytest.mark.parametrize("plant", [_plant_pickle, _plant_torch_save], ids=["pickle", "torch.save"])
def test_planted_checkpoint_is_refused_without_running_it(tmp_path, plant):
    marker = tmp_path / "pwned"
    path = tmp_path / "best.safetensors"
    plant(path, marker)
    with pytest.raises(CheckpointError, match="not a safetensors file|unreadable"):
        load_checkpoint(path)
    assert not marker.exists(), "loading the checkpoint executed pickled code"


def _plant_npz(path: Path, marker: Path) -> None:
    """An .npz whose x is an object array of planted pickles."""
    x = np.empty(2, dtype=object)
    x[0], x[1] = _Planted(marker), _Planted(marker)
    np.savez(path, x=x, y=np.array([0, 1]))


def test_planted_npz_object_array_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data.npz"
    _plant_npz(path, marker)
    with pytest.raises(ValueError, match="without pickle"):
        load_npz_task(path)
    assert not marker.exists(), "loading the .npz executed pickled code"


def test_cli_refuses_planted_npz_with_one_line(tmp_path):
    marker = tmp_path / "pwned"
    _plant_npz(tmp_path / "data.npz", marker)
    env = {**os.environ, "EDGELNN_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "edgelnn", "train", "--data", str(tmp_path / "data.npz"),
                           "--out", str(tmp_path / "run"), "--quiet"], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "pickle" in lines[0], proc.stderr
    assert not marker.exists()


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """One tiny ONNX export per model kind (1 epoch on sine: the weights only need to be trained ones)."""
    tmp = tmp_path_factory.mktemp("faults")
    out = {}
    for kind in KINDS:
        options = {"backbone_units": 8} if kind == "cfc" else {}
        cfg = TrainConfig(model=kind, task="sine", hidden_size=8, epochs=1, batch_size=16, patience=0,
                          model_options=options, task_options=dict(TINY_SINE))
        run = train(cfg, tmp / f"run-{kind}", progress=False).run_dir
        export_model(resolve_source(run=run), ExportConfig(formats=("onnx",), verify_sequences=8), tmp / kind)
        out[kind] = tmp / kind
    return out


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _edit_manifest(export_dir: Path, edit) -> None:
    path = export_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("where", ["artifact", "torch_checkpoint"])
def test_manifest_path_traversal_is_refused(exports, tmp_path, where):
    export_dir = _copy(exports["cfc"], tmp_path / "export")
    # A file outside the export directory, with the sha256 the manifest claims: only the path is wrong.
    outside = tmp_path / "outside.bin"
    name = "step_fp32.onnx"
    shutil.copy(export_dir / (name if where == "artifact" else "model.safetensors"), outside)

    def edit(manifest):
        entry = manifest["torch_checkpoint"] if where == "torch_checkpoint" else next(
            a for a in manifest["artifacts"] if a["precision"] == "fp32" and a["kind"] == "step")
        entry["file"] = "../outside.bin"

    _edit_manifest(export_dir, edit)
    backend = "torch" if where == "torch_checkpoint" else "onnxruntime"
    with pytest.raises(ArtifactLoadError, match="not a file of the export directory"):
        load(export_dir, backend=backend)


def test_manifest_symlink_out_of_the_export_is_refused(exports, tmp_path):
    export_dir = _copy(exports["cfc"], tmp_path / "export")
    outside = tmp_path / "outside.safetensors"
    shutil.move(export_dir / "model.safetensors", outside)
    (export_dir / "model.safetensors").symlink_to(outside)
    with pytest.raises(ArtifactLoadError, match="not a file of the export directory"):
        load(export_dir, backend="torch")


def _bound(kind: str, state_layout: list[dict]) -> float:
    """A bound no healthy state exceeds: CfC/GRU/LSTM-h are tanh/convex mixes in [-1, 1]; LTC/LRC voltages
    stay within their reversal/leak potentials (ncps init: a few units); LSTM's cell c may drift, slowly."""
    return {"cfc": 1.0 + 1e-5, "gru": 1.0 + 1e-5, "lstm": 1e3, "ltc": 1e2, "lrc": 1e2}[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_hundred_thousand_step_rollout_stays_finite_and_bounded(exports, kind):
    model = load(exports[kind], backend="onnxruntime")
    rng = np.random.default_rng(0)
    # Inputs beyond the training range (3x the task's scale) and dt from 1e-3 to 10x a training step.
    seq = (3.0 * rng.standard_normal((LONG_STEPS, model.input_size))).astype(np.float32)
    spans = np.exp(rng.uniform(np.log(1e-3), np.log(2.0), LONG_STEPS)).astype(np.float32)
    y = model.run(seq, spans)
    state = model.state
    assert np.isfinite(y).all() and np.isfinite(state).all(), f"{kind}: NaN/Inf after {LONG_STEPS} steps"
    layout = {part["name"]: part for part in model.state_layout}
    h = state[0]
    if kind == "lstm" and "c" in layout:  # h is tanh-bounded, c only bounded by a slow drift
        part = layout["h"]
        assert np.abs(h[part["offset"]: part["offset"] + part["size"]]).max() <= 1.0 + 1e-5
    assert np.abs(h).max() <= _bound(kind, model.state_layout), f"{kind}: state {np.abs(h).max():.3g}"
    assert np.abs(y).max() < 1e4, f"{kind}: output {np.abs(y).max():.3g}"
