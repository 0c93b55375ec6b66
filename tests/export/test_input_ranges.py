"""Declared input ranges (issue 8, item 14): int8 artifacts calibrated over them, the manifest records them,
the runtime counts inputs outside them, and every task verifies dt beyond its training range.

The problem reproduced: calibration rows came from the training split only, so an int8 artifact's dt
quantizer covered the training dt range ([0.1, 0.5] on the tiny sine task) and clipped everything above it:
dt = 0.6 and dt = 2.0 gave the same int8 outputs while the fp32 outputs differed.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from edgelnn.cli import main
from edgelnn.errors import InputRangeWarning
from edgelnn.export import ExportConfig, export_model, read_manifest, resolve_source
from edgelnn.export.calibration import calibration_rows
from edgelnn.export.input_ranges import declared_ranges, parse_range
from edgelnn.models.registry import build_model, make_config
from edgelnn.runtime import load
from edgelnn.tasks import load_task
from edgelnn.training import TrainConfig, train

TINY_SINE = {"n_train": 48, "n_val": 16, "n_test": 16, "seq_len": 12}
HAS_TFLITE = all(importlib.util.find_spec(m) for m in ("litert_torch", "ai_edge_quantizer", "ai_edge_litert"))
INT8 = [("onnxruntime", "int8-static"),
        pytest.param("litert", "int8-full", marks=pytest.mark.skipif(not HAS_TFLITE, reason="no TFLite packages"))]
DECLARED_DT = (0.01, 5.0)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    cfg = TrainConfig(model="cfc", task="sine", hidden_size=8, epochs=1, batch_size=16, patience=0,
                      model_options={"backbone_units": 8}, task_options=dict(TINY_SINE))
    return train(cfg, tmp_path_factory.mktemp("ranges") / "run", progress=False).run_dir


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ranges-export") / "export"
    formats = ("onnx", "tflite") if HAS_TFLITE else ("onnx",)
    cfg = ExportConfig(formats=formats, int8=True, verify_sequences=16, calibration_rows=256,
                       calibration_range=(f"dt={DECLARED_DT[0]}:{DECLARED_DT[1]}",))
    export_model(resolve_source(run=run), cfg, out)
    return out


def _outputs_at(export_dir: Path, backend: str, precision: str, dts: tuple[float, ...]) -> dict[float, np.ndarray]:
    """From each test sequence's state after 4 real steps, the output of step 5 taken with each dt."""
    split = load_task("sine", **TINY_SINE).splits["test"]
    model = load(export_dir, backend=backend, precision=precision, batch=len(split))
    for k in range(4):
        model.step(split.x[:, k], split.t[:, k])
    state = model.state
    out = {}
    for dt in dts:
        model.state = state
        out[dt] = model.step(split.x[:, 4], dt)
    return out


@pytest.mark.parametrize(("backend", "precision"), INT8)
def test_int8_outputs_follow_dt_over_the_declared_range(exported, backend, precision):
    dts = (0.6, 2.0)  # both beyond the training dt range (max 0.5), inside the declared one
    ref = _outputs_at(exported, "onnxruntime", "fp32", dts)
    got = _outputs_at(exported, backend, precision, dts)
    ref_change = np.abs(ref[2.0] - ref[0.6]).mean()
    got_change = np.abs(got[2.0] - got[0.6]).mean()
    scale = max(np.abs(ref[dt]).max() for dt in dts)
    assert ref_change > 0.05 * scale, "the fp32 model must react to dt for this check to mean anything"
    # A clipped dt quantizer gives (nearly) the same int8 output for both dts; a covering one follows fp32.
    assert got_change > 0.5 * ref_change
    for dt in dts:
        assert np.abs(got[dt] - ref[dt]).mean() < 0.5 * ref_change


def test_dt_beyond_the_declared_range_is_counted_and_warned_once(exported):
    model = load(exported, backend="onnxruntime", precision="int8-static")
    x = np.zeros(1, np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.step(x, 2.0)  # inside: nothing
        assert model.out_of_range == {"x": 0, "dt": 0, "steps": 0}
        model.step(x, 50.0)
        model.step(x, 50.0)
        model.step(np.array([100.0], np.float32), 1.0)
    ranged = [w for w in caught if issubclass(w.category, InputRangeWarning)]
    assert len(ranged) == 1
    text = str(ranged[0].message)
    assert "dt = 50" in text and f"[{DECLARED_DT[0]:g}, {DECLARED_DT[1]:g}]" in text
    assert model.out_of_range == {"x": 1, "dt": 2, "steps": 3}


def test_manifest_records_ranges_runtimes_and_representable_int8_ranges(exported):
    manifest = read_manifest(exported)
    ranges = manifest["input_ranges"]
    assert (ranges["dt"]["min"], ranges["dt"]["max"]) == DECLARED_DT
    assert ranges["source"] == "train+ood splits, margin 10%; user: dt"
    task = load_task("sine", **TINY_SINE)
    want = declared_ranges(task)
    np.testing.assert_allclose(ranges["x"]["min"], want.x_min, rtol=1e-6)
    np.testing.assert_allclose(ranges["x"]["max"], want.x_max, rtol=1e-6)
    for artifact in manifest["artifacts"]:
        assert artifact["metrics_runtime"] == artifact["runtime"]
    full = [a for a in manifest["artifacts"] if a["precision"] == "int8-full"]
    for artifact in full:  # int8 inputs: what the recorded scale and zero point can represent
        dt = artifact["representable_input_ranges"]["dt"]
        step = next(t for t in artifact["inputs"] if t["name"] == "dt")["quantization"]["scale"]
        assert dt["min"] <= DECLARED_DT[0] and dt["max"] >= DECLARED_DT[1] - step


def test_default_range_is_train_and_ood_splits_with_a_margin():
    task = load_task("sine", **TINY_SINE)
    real = [task.splits[n] for n in ["train", *task.ood_splits()]]
    xs = np.concatenate([s.x[s.mask] for s in real])
    ts = np.concatenate([s.t[s.mask] for s in real])
    got = declared_ranges(task)
    span = xs.max(axis=0) - xs.min(axis=0)
    np.testing.assert_allclose(got.x_min, xs.min(axis=0) - 0.1 * span, rtol=1e-6)
    np.testing.assert_allclose(got.x_max, xs.max(axis=0) + 0.1 * span, rtol=1e-6)
    assert got.dt_min == pytest.approx(ts.min() / 1.1) and got.dt_max == pytest.approx(ts.max() * 1.1)
    assert got.dt_max > task.splits["train"].t.max() * 2  # the ood-timing split reaches beyond training
    assert got.source == "train+ood splits, margin 10%"
    assert declared_ranges(task, [("x0", -3.0, 3.0)]).source.endswith("user: x0")


def test_calibration_rows_cover_the_declared_range_with_real_states():
    task = load_task("sine", **TINY_SINE)
    model = build_model(make_config("cfc", 1, 8, proj_size=1, backbone_units=8)).eval()
    ranges = declared_ranges(task, [("dt", 0.01, 5.0)])
    rows = calibration_rows(model, task, ranges, max_rows=128, seed=0)
    assert rows.dt.min() == pytest.approx(0.01) and rows.dt.max() == pytest.approx(5.0)
    np.testing.assert_allclose(rows.x.min(axis=0), ranges.x_min)
    np.testing.assert_allclose(rows.x.max(axis=0), ranges.x_max)
    assert len(rows) <= 128 + 4 and np.isfinite(rows.state).all()
    # besides the bound rows, re-timed rollouts step with dt far beyond the training range (max 0.5)
    assert (rows.dt[:-4] > 4 * task.splits["train"].t.max()).sum() >= 3


@pytest.mark.parametrize(("text", "problem"), [
    ("dt=0:5", "lo > 0"), ("dt=5:1", "lo < hi"), ("x=nan:1", "finite"), ("y=0:1", "valid names"),
    ("dt=1", "NAME=LO:HI"), ("dt=a:b", "NAME=LO:HI"),
])
def test_bad_calibration_ranges_are_refused(text, problem):
    with pytest.raises(ValueError, match=problem):
        ExportConfig(calibration_range=(text,))
    with pytest.raises(ValueError, match=problem):
        parse_range(text)


def test_feature_beyond_the_task_is_refused():
    task = load_task("sine", **TINY_SINE)
    with pytest.raises(ValueError, match="task has 1 features"):
        declared_ranges(task, [("x3", 0.0, 1.0)])


def test_cli_refuses_a_bad_range_in_one_line(run, tmp_path):
    result = CliRunner().invoke(main, ["export", "--run", str(run), "--formats", "onnx", "--calibration-range",
                                       "dt=5:1", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["error: calibration range dt=5.0:1.0 is not valid; it needs lo < hi"]
    assert not (tmp_path / "x").exists()


def _npz(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    np.savez(path, x=rng.standard_normal((40, 6, 2)).astype(np.float32), y=rng.integers(0, 2, 40))
    return path


@pytest.mark.parametrize("name", ["xor", "sine", "npz", "pendulum", "japanesevowels"])
def test_every_task_verifies_dt_beyond_its_training_range(name, tmp_path):
    options = {"xor": {"n_train": 64, "n_val": 16, "n_test": 16, "n_ood": 16}, "sine": TINY_SINE,
               "pendulum": {"n_train": 8, "n_val": 4, "n_test": 4, "seq_len": 8}}.get(name, {})
    if name == "japanesevowels" and not importlib.util.find_spec("aeon"):
        pytest.skip("aeon not installed")
    task = load_task(str(_npz(tmp_path)) if name == "npz" else name, cache_dir=tmp_path / "cache", **options)
    train = task.splits["train"]
    beyond = {n: float(task.splits[n].t[task.splits[n].mask].max()) for n in task.ood_splits()}
    assert max(beyond.values()) >= 1.5 * float(train.t[train.mask].max()), beyond
