"""The runtime's "c" backend on a real export (ONNX fp32 of a tiny CfC): load, parity with the torch
backend, the cache beside the export, batch rows, and named errors through load()."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from edgelnn.artifact import sha256_of
from edgelnn.errors import ArtifactLoadError, CompileError, CompilerNotFoundError, UnsupportedModelError
from edgelnn.export import ExportConfig, Source, export_model
from edgelnn.firmware_bench import host
from edgelnn.models import build_model, make_config, save_checkpoint
from edgelnn.runtime import BACKENDS, list_backends, load
from edgelnn.runtime.loader import candidates
from edgelnn.tasks import load_npz_task

ATOL, RTOL = 1e-5, 1e-5
INPUTS, OUTPUTS, HIDDEN = 3, 2, 8


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("c-backend")
    rng = np.random.default_rng(0)
    data = tmp / "data.npz"
    np.savez(data, x=rng.standard_normal((24, 10, INPUTS)).astype(np.float32),
             y=rng.standard_normal((24, 10, OUTPUTS)).astype(np.float32),
             t=rng.uniform(0.1, 1.5, (24, 10)).astype(np.float32))
    torch.manual_seed(0)
    model = build_model(make_config("cfc", INPUTS, HIDDEN, proj_size=OUTPUTS, backbone_units=16)).eval()
    ckpt = save_checkpoint(model, tmp / "model.safetensors", {"task": str(data)})
    cfg = ExportConfig(formats=("onnx",), int8=False, calibration_rows=32, verify_sequences=4)
    export_model(Source(model, ckpt, None, load_npz_task(str(data))), cfg, tmp / "export")
    return tmp / "export"


def test_backend_is_registered():
    backend = BACKENDS["c"]
    assert backend.precisions == ("fp32", "int8-dynamic") and backend.batched and backend.checkpoint
    assert list_backends()["c"]  # this machine has a compiler


def test_candidates_run_the_checkpoint(exported):
    from edgelnn.export import read_manifest

    manifest = read_manifest(exported)
    (entry,) = candidates(manifest, BACKENDS["c"], "fp32")
    assert entry["file"] == manifest["torch_checkpoint"]["file"] and entry["runtime"] == "c"
    (int8,) = candidates(manifest, BACKENDS["c"], "int8")  # int8 weights generated from the same checkpoint
    assert int8["precision"] == "int8-dynamic" and int8["file"] == entry["file"] and int8["name"] == "c-int8-dynamic"
    assert candidates(manifest, BACKENDS["c"], "int8-full") == []


def test_int8_c_is_close_to_float_but_quantized(exported):
    """The int8 C (int8 weights, per-row scales, int32 sums) through the runtime: within a few percent of the
    float model's output range, and not the float model itself (quantization really happens)."""
    c8, ref = load(exported, backend="c", precision="int8"), load(exported, backend="torch")
    assert c8.precision == "int8-dynamic"
    rng = np.random.default_rng(5)
    seq = rng.standard_normal((40, INPUTS)).astype(np.float32)
    spans = rng.uniform(0.2, 1.4, 40).astype(np.float32)
    y8, yf = c8.run(seq, spans), ref.run(seq, spans)
    err, scale = float(np.abs(y8 - yf).max()), float(np.abs(yf).max())
    assert 1e-6 * scale < err <= 0.05 * scale, (err, scale)


def test_int8_c_of_an_ltc_runs_its_synapses_in_fixed_point(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "data.npz"
    np.savez(data, x=rng.standard_normal((12, 6, INPUTS)).astype(np.float32),
             y=rng.standard_normal((12, 6, OUTPUTS)).astype(np.float32))
    model = build_model(make_config("ltc", INPUTS, HIDDEN, proj_size=OUTPUTS, ode_unfolds=2)).eval()
    ckpt = save_checkpoint(model, tmp_path / "model.safetensors", {"task": str(data)})
    cfg = ExportConfig(formats=("onnx",), int8=False, calibration_rows=16, verify_sequences=4)
    export_model(Source(model, ckpt, None, load_npz_task(str(data))), cfg, tmp_path / "export")
    c8, ref = load(tmp_path / "export", backend="c", precision="int8"), load(tmp_path / "export", backend="torch")
    assert c8.precision == "int8-dynamic" and "eln_sigmoid_q14" in c8.raw.source.files["ltc.c"]
    seq = rng.standard_normal((30, INPUTS)).astype(np.float32)
    spans = rng.uniform(0.2, 1.4, 30).astype(np.float32)
    y8, yf = c8.run(seq, spans), ref.run(seq, spans)
    err, scale = float(np.abs(y8 - yf).max()), float(np.abs(yf).max())
    assert 1e-6 * scale < err <= 0.05 * scale, (err, scale)


def test_load_c_matches_torch_backend(exported):
    c_model = load(exported, backend="c")
    ref = load(exported, backend="torch")
    assert c_model.backend == "c" and c_model.precision == "fp32"
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((30, INPUTS)).astype(np.float32)
    dts = rng.uniform(0.2, 1.4, 30)  # inside the range the export declares valid
    for x, dt in zip(xs, dts):
        yc, yt = c_model.step(x, float(dt)), ref.step(x, float(dt))
        bound = ATOL + RTOL * float(np.abs(yt).max())
        assert np.abs(yc - yt).max() <= bound
    st = ref.state
    assert np.abs(c_model.state - st).max() <= ATOL + RTOL * float(np.abs(st).max())
    seq = rng.standard_normal((12, INPUTS)).astype(np.float32)
    yc, yt = c_model.run(seq), ref.run(seq)
    assert np.abs(yc - yt).max() <= ATOL + RTOL * float(np.abs(yt).max())


def test_second_load_reuses_the_cached_library(exported):
    first = load(exported, backend="c")
    second = load(exported, backend="c")
    assert second.raw.library == first.raw.library and not second.raw.compiled
    assert first.raw.library.parent == exported / host.CACHE_DIRNAME


def test_batch_rows_step_independently(exported):
    batched = load(exported, backend="c", batch=2)
    single = load(exported, backend="c")
    x = np.array([[0.5, -1.0, 2.0], [0.1, 0.2, 0.3]], np.float32)
    dt = np.array([0.3, 1.7], np.float32)
    for _ in range(3):
        y = batched.step(x, dt)
    single.state = batched.state[1]
    y1 = single.step(x[1], float(dt[1]))
    y2 = batched.step(x, dt)
    assert y.shape == (2, OUTPUTS) and np.allclose(y2[1], y1, rtol=0, atol=1e-6)


def test_compile_error_surfaces_through_load(exported, tmp_path, monkeypatch):
    monkeypatch.setattr(host, "FLAGS", (*host.FLAGS, "-include", "no_such_header.h"))
    with pytest.raises(CompileError, match="no_such_header"):
        load(_copy(exported, tmp_path), backend="c")


def _copy(exported: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(exported, tmp_path / "export", ignore=shutil.ignore_patterns(host.CACHE_DIRNAME)))


def test_unsupported_option_surfaces_through_load(exported, tmp_path, monkeypatch):
    from edgelnn.firmware_bench.codegen import emit

    monkeypatch.delitem(emit.ACTIVATIONS_C, "lecun_tanh")  # as if the model used an activation without C
    with pytest.raises(UnsupportedModelError, match="lecun_tanh"):
        load(_copy(exported, tmp_path), backend="c")


def test_truncated_checkpoint_is_a_load_error(exported, tmp_path):
    """A checkpoint cut in half (manifest sha256 updated to match) is an ArtifactLoadError, as for torch."""
    copy = _copy(exported, tmp_path)
    path = copy / "model.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["torch_checkpoint"]["sha256"] = sha256_of(path)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactLoadError, match="c cannot load it"):
        load(copy, backend="c")


def test_missing_compiler_is_named(monkeypatch):
    from edgelnn.runtime.backends import _has_c_compiler

    monkeypatch.setenv("CC", "")
    monkeypatch.setattr(host.shutil, "which", lambda name: None)
    monkeypatch.setattr(host.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(CompilerNotFoundError, match="ziglang"):
        host.find_compiler()
    assert not _has_c_compiler()  # so list_backends() reports "c" as not installed


# ----------------------------------------------------------------------------- step() through bind_stream
def test_step_takes_the_in_place_native_path_and_equals_the_raw_runner(exported):
    model = load(exported, backend="c")
    assert model._stream is not None  # the c runner binds the model's own buffers
    rng = np.random.default_rng(5)
    xs = rng.standard_normal((20, INPUTS)).astype(np.float32)
    dts = rng.uniform(0.2, 1.4, 20).astype(np.float32)
    state = np.zeros((1, model.state_size), np.float32)
    for x, dt in zip(xs, dts):
        y = model.step(x, float(dt))
        y_raw, state = model.raw(x[None], state, np.full((1, 1), dt, np.float32))
        # The same compiled step on the same float32 inputs: identical by construction.
        np.testing.assert_array_equal(y, y_raw[0])
    np.testing.assert_array_equal(model.state, state)
    y_keep = model.step(xs[0], 0.5)
    model.step(xs[1], 0.5)
    assert not np.array_equal(y_keep, model.step(xs[2], 0.5))  # outputs are copies, not the shared buffer
    model.reset()
    np.testing.assert_array_equal(model.state, np.zeros_like(state))
    model.state = state[0]
    np.testing.assert_array_equal(model.state, state)


def test_step_with_nan_or_inf_raises_and_leaves_the_state_alone(exported):
    from edgelnn.errors import RuntimeInputError

    model = load(exported, backend="c")
    model.step(np.ones(INPUTS, np.float32), 0.5)
    before = model.state
    for bad in (np.nan, np.inf, -np.inf):
        x = np.zeros(INPUTS, np.float32)
        x[1] = bad
        with pytest.raises(RuntimeInputError, match="NaN or Inf"):
            model.step(x, 0.5)
        np.testing.assert_array_equal(model.state, before)


def test_step_counts_out_of_range_inputs_like_the_other_backends(exported):
    import warnings

    from edgelnn.errors import InputRangeWarning

    c_model, ort_model = load(exported, backend="c"), load(exported, backend="onnxruntime")
    hi = np.asarray(c_model.input_ranges["x"]["max"], np.float32)
    xs = [np.zeros(INPUTS, np.float32), hi + 1.0, -hi - 50.0, np.zeros(INPUTS, np.float32), hi * 0 + 1e6]
    dts = [0.5, 0.5, 40.0, 40.0, 0.5]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x, dt in zip(xs, dts):
            c_model.step(x.copy(), dt)
            ort_model.step(x.copy(), dt)
    assert c_model.out_of_range == ort_model.out_of_range
    assert c_model.out_of_range["x"] >= INPUTS * 2 and c_model.out_of_range["steps"] == 4
    assert sum(issubclass(w.category, InputRangeWarning) for w in caught) == 2  # once per model
