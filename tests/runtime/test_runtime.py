"""edgelnn.runtime on a tiny exported CfC: parity with PyTorch per backend, state handling, refused
artifacts, clear errors for bad input, and the TFLite Micro arena.

The session's tiny sine CfC and its export (tests/conftest.py: ONNX, and TFLite where its converter is
installed, fp32 and int8) are shared with the export and bench tests; tests that damage files work on a copy.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from numeric import RTOL_OP, RTOL_ROLLOUT, assert_close
from tiny_runs import HAS_TFLITE, TINY_SINE

from edgelnn.artifact import sha256_of
from edgelnn.errors import (
    ArtifactIntegrityError,
    ArtifactLoadError,
    ArtifactNotFoundError,
    RuntimeInputError,
    RuntimeMissingError,
)
from edgelnn.export import read_manifest
from edgelnn.models import load_checkpoint
from edgelnn.runtime import BACKENDS, StreamingModel, list_backends, load
from edgelnn.runtime import tflm as tflm_module
from edgelnn.tasks import load_task

INSTALLED = list_backends()
needs = {name: pytest.mark.skipif(not ok, reason=f"{name} not installed") for name, ok in INSTALLED.items()}
needs_tflite = pytest.mark.skipif(not HAS_TFLITE, reason="TFLite export packages not installed")

# (backend, precision) pairs checked for parity; skipped only where the backend (or the TFLite converter) is
# not installed: the fixture exports every one of them, so a missing artifact fails.
COMBOS = [("torch", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8-dynamic"),
          ("onnxruntime", "int8-static"), ("litert", "fp32"), ("litert", "fp16"), ("litert", "int8-dynamic"),
          ("litert", "int8-full"), ("tflm", "fp32"), ("tflm", "int8-full")]
TFLITE_BACKENDS = ("litert", "tflm")


@pytest.fixture(scope="module")
def exported(tiny_sine_export) -> Path:
    """The session's tiny sine export (read-only: tests that damage it use ``copy``)."""
    return tiny_sine_export


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """Test sequences of the task the model was trained on: x [N,T,F], timespans [N,T]."""
    split = load_task("sine", **TINY_SINE).splits["test"]
    return split.x[:4].astype(np.float32), split.t[:4].astype(np.float32)


@pytest.fixture(scope="module")
def reference(exported, data) -> np.ndarray:
    """PyTorch outputs [N,T,O] of the export's float model, stepped from zero state."""
    model = load_checkpoint(exported / "model.safetensors").eval()
    x, t = data
    state = model.init_state(x.shape[0])
    out = []
    with torch.no_grad():
        for i in range(x.shape[1]):
            y, state = model.step(torch.from_numpy(x[:, i]), state, torch.from_numpy(t[:, i : i + 1]))
            out.append(y.numpy())
    return np.stack(out, axis=1)


@pytest.fixture
def copy(exported, tmp_path) -> Path:
    """A private copy of the export directory, for tests that damage it."""
    return Path(shutil.copytree(exported, tmp_path / "export"))


def _skip_unless(exported: Path, backend: str, precision: str) -> None:
    """Skip where ``backend``, or the converter its artifacts come from, is not installed. Anything else the
    fixture was asked to export (int8 included) must be in the manifest: a missing artifact fails the test."""
    if not INSTALLED[backend]:
        pytest.skip(f"{backend} not installed")
    if backend in TFLITE_BACKENDS and not HAS_TFLITE:
        pytest.skip("no TFLite artifacts (converter not installed)")
    if backend == "torch":
        return
    runtime = "litert" if backend in TFLITE_BACKENDS else "onnxruntime"
    exported_here = sorted({a["precision"] for a in read_manifest(exported)["artifacts"] if a["runtime"] == runtime})
    if precision not in exported_here:
        pytest.fail(f"no {precision} artifact for {backend} although the fixture exported int8; "
                    f"the manifest has {exported_here}")


def _tolerance(manifest: dict, model: StreamingModel) -> tuple[float, float]:
    """(atol, rtol) against PyTorch. fp32: the export's own check (atol + rtol * max|ref|). Others: twice the
    max abs error recorded at export (a litert int8-full figure for tflm), plus 5% of max|ref| for
    batch-dependent dynamic quantization."""
    v = manifest["verification"]
    if model.precision == "fp32":
        return v["atol"], v["rtol"]
    recorded = next(a for a in manifest["artifacts"]
                    if a["precision"] == model.precision and a["format"] == model.artifact["format"])
    return 2 * recorded["parity"]["max_abs_error"], 0.05


def test_a_missing_int8_artifact_fails_instead_of_skipping(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["artifacts"] = [a for a in manifest["artifacts"] if a["precision"] != "int8-static"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(pytest.fail.Exception, match="no int8-static artifact for onnxruntime"):
        _skip_unless(copy, "onnxruntime", "int8-static")


# ------------------------------------------------------------------------------------------- parity
def test_list_backends_names_every_backend():
    assert set(list_backends()) == {"onnxruntime", "litert", "tflm", "torch", "c"}
    assert all(isinstance(v, bool) for v in list_backends().values())
    assert list_backends()["torch"] is True


@pytest.mark.parametrize(("backend", "precision"), COMBOS)
def test_backend_matches_pytorch_step_by_step(exported, data, reference, backend, precision):
    _skip_unless(exported, backend, precision)
    model = load(exported, backend=backend, precision=precision)
    assert (model.backend, model.precision, model.batch) == (backend, precision, 1)
    x, t = data
    for n in range(x.shape[0]):
        model.reset()
        ys = np.stack([model.step(x[n, i], float(t[n, i])) for i in range(x.shape[1])])
        assert ys.dtype == np.float32
        atol, rtol = _tolerance(model.manifest, model)
        assert_close(ys, reference[n], atol=atol, rtol=rtol, what=f"{backend} {precision} sequence {n}")


@pytest.mark.parametrize(("backend", "precision"), [c for c in COMBOS if c[0] != "tflm"])
def test_batched_run_equals_batch1_and_pytorch(exported, data, reference, backend, precision):
    _skip_unless(exported, backend, precision)
    x, t = data
    batched = load(exported, backend=backend, precision=precision, batch=x.shape[0])
    ys = batched.run(x, timespans=t)
    atol, rtol = _tolerance(batched.manifest, batched)
    assert_close(ys, reference, atol=atol, rtol=rtol, what=f"{backend} {precision} batch {x.shape[0]}")
    if precision in ("fp32", "fp16", "int8-full"):  # no batch-dependent dynamic quantization
        single = load(exported, backend=backend, precision=precision)
        one = np.stack([single.run(x[n], timespans=t[n]) for n in range(x.shape[0])])
        # the same artifact at batch 4 and 1 (other kernels), over 12 fed-back steps: a rollout bound
        assert_close(ys, one, rtol=RTOL_ROLLOUT, what=f"{backend} {precision} batch 4 vs batch 1")


@pytest.mark.parametrize("backend", ["torch", "onnxruntime", "litert", "tflm"])
def test_run_equals_repeated_step(exported, data, backend):
    _skip_unless(exported, backend, "fp32")
    x, t = data
    batch = 1 if backend == "tflm" else 2
    model = load(exported, backend=backend, batch=batch)
    seq, spans = (x[0], t[0]) if batch == 1 else (x[:batch], t[:batch])
    ran = model.run(seq, timespans=spans)
    after_run = model.state
    model.reset()
    stepped = [model.step(seq[..., i, :], spans[..., i]) for i in range(seq.shape[-2])]
    stepped = np.stack(stepped, axis=-2)
    # exact by construction: run() calls the same step on the same loaded model with the same inputs
    np.testing.assert_array_equal(ran, stepped)
    np.testing.assert_array_equal(after_run, model.state)


def test_run_defaults_shared_timespans_and_continuing(exported, data):
    x, t = data
    model = load(exported, backend="onnxruntime")
    ones = model.run(x[0])
    np.testing.assert_array_equal(ones, model.run(x[0], timespans=np.ones(x.shape[1])))
    first = model.run(x[0, :6], timespans=t[0, :6])
    rest = model.run(x[0, 6:], timespans=t[0, 6:], reset=False)
    assert_close(np.concatenate([first, rest]), model.run(x[0], timespans=t[0]), rtol=RTOL_OP,
                 what="run continued after 6 steps")
    shared = load(exported, backend="onnxruntime", batch=2).run(x[:2], timespans=t[0])  # [T] shared by the batch
    assert_close(shared[1], model.run(x[1], timespans=t[0]), rtol=RTOL_ROLLOUT, what="batch 2 vs batch 1")


def test_exported_runtimes_run_without_torch(exported):
    """An app that runs artifacts does not pay for torch (~200 MB, seconds of import): only the torch backend
    imports it."""
    code = ("import sys; from edgelnn.runtime import load; "
            f"backends = [b for b in ('onnxruntime', 'litert', 'tflm') if {HAS_TFLITE} or b == 'onnxruntime']; "
            f"[load({str(exported)!r}, backend=b).step([0.5], 0.1) for b in backends]; "
            "print(sorted(m for m in ('torch', 'onnx', 'litert_torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_auto_and_int8_selection(exported):
    auto = load(exported)
    assert auto.backend == ("litert" if INSTALLED["litert"] and HAS_TFLITE else "onnxruntime")
    assert load(exported, backend="onnxruntime", precision="int8").precision == "int8-dynamic"
    if HAS_TFLITE and INSTALLED["tflm"]:
        assert load(exported, backend="tflm", precision="int8").precision == "int8-full"
    assert load(exported, backend="torch").artifact["file"] == "model.safetensors"


# ------------------------------------------------------------------------------------------- state
def test_reset_and_state_round_trip(exported, data):
    x, t = data
    model = load(exported, backend="onnxruntime")
    assert model.state.shape == (1, model.state_size) and not model.state.any()
    assert model.state_layout == [{"name": "h", "offset": 0, "size": model.state_size}]
    for i in range(5):
        model.step(x[0, i], float(t[0, i]))
    saved = model.state
    saved_copy = saved.copy()
    saved[:] = 99.0  # the getter returns a copy
    np.testing.assert_array_equal(model.state, saved_copy)
    y1 = model.step(x[0, 5], 0.5)
    model.state = saved_copy
    np.testing.assert_array_equal(model.step(x[0, 5], 0.5), y1)
    model.state = saved_copy[0]  # [S] is accepted at batch 1
    np.testing.assert_array_equal(model.step(x[0, 5], 0.5), y1)
    model.reset()
    assert not model.state.any()
    with pytest.raises(RuntimeInputError, match="state has shape"):
        model.state = np.zeros((2, model.state_size))
    with pytest.raises(RuntimeInputError, match="NaN or Inf"):
        model.state = np.full((1, model.state_size), np.nan)
    with pytest.raises(RuntimeInputError, match="dtype"):
        model.state = np.zeros((1, model.state_size), np.int32)


# ------------------------------------------------------------------------------------------- refused
def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate_and_fix_manifest(export_dir: Path, file: str) -> None:
    """Cut ``file`` in half and record its new sha256 and size, so only the runtime can notice."""
    path = export_dir / file
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    manifest_path = export_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for entry in manifest["artifacts"]:
        if entry["file"] == file:
            entry["sha256"], entry["size_bytes"] = sha256_of(path), path.stat().st_size
    if manifest["torch_checkpoint"]["file"] == file:
        manifest["torch_checkpoint"]["sha256"] = sha256_of(path)
    manifest_path.write_text(json.dumps(manifest))


def _file_of(export_dir: Path, backend: str, precision: str = "fp32") -> str:
    if backend == "torch":
        return "model.safetensors"
    runtime = "onnxruntime" if backend == "onnxruntime" else "litert"
    return next(a["file"] for a in read_manifest(export_dir)["artifacts"]
                if a["runtime"] == runtime and a["precision"] == precision and a["kind"] == "step")


@pytest.mark.parametrize(("backend", "precision"), [("onnxruntime", "fp32"), ("torch", "fp32"),
                                                    ("litert", "fp32"), ("tflm", "int8-full")])
def test_tampered_artifact_is_refused(copy, backend, precision):
    _skip_unless(copy, backend, precision)
    _flip_byte(copy / _file_of(copy, backend, precision))
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        load(copy, backend=backend, precision=precision)


@pytest.mark.parametrize(("backend", "precision"), [("onnxruntime", "fp32"), ("torch", "fp32"),
                                                    ("litert", "fp32"), ("tflm", "int8-full")])
def test_truncated_artifact_is_a_load_error(copy, backend, precision):
    _skip_unless(copy, backend, precision)
    _truncate_and_fix_manifest(copy, _file_of(copy, backend, precision))
    with pytest.raises(ArtifactLoadError, match="cannot"):
        load(copy, backend=backend, precision=precision)


def test_missing_file_is_a_load_error(copy):
    (copy / _file_of(copy, "onnxruntime")).unlink()
    with pytest.raises(ArtifactLoadError, match="missing"):
        load(copy, backend="onnxruntime")


def test_missing_backend_package(exported, monkeypatch):
    absent = dataclasses.replace(BACKENDS["litert"], module="edgelnn_test_absent_package")
    monkeypatch.setitem(BACKENDS, "litert", absent)
    assert list_backends()["litert"] is False
    with pytest.raises(RuntimeMissingError, match=r"pip install 'edgelnn\[tflite\]'"):
        load(exported, backend="litert")
    assert load(exported).backend == "onnxruntime"  # auto skips a backend that is not installed


def test_missing_precision_or_backend_names(exported):
    with pytest.raises(ArtifactNotFoundError, match="no fp16 artifact for backend 'onnxruntime'.*available"):
        load(exported, backend="onnxruntime", precision="fp16")
    with pytest.raises(ArtifactNotFoundError, match="int8"):
        load(exported, backend="torch", precision="int8")
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        load(exported, backend="tensorrt")
    with pytest.raises(ValueError, match="unknown precision 'int4'"):
        load(exported, precision="int4")
    with pytest.raises(ValueError, match="batch=0"):
        load(exported, batch=0)
    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        load(exported.parent)


@needs["tflm"]
@needs_tflite
def test_tflm_refuses_batches_and_hybrid_int8(exported):
    with pytest.raises(ValueError, match="batch 1 only"):
        load(exported, backend="tflm", batch=2)
    with pytest.raises(ArtifactNotFoundError, match="int8-dynamic"):
        load(exported, backend="tflm", precision="int8-dynamic")


# ------------------------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def stepper(exported) -> StreamingModel:
    return load(exported, backend="onnxruntime")


@pytest.mark.parametrize(("x", "dt", "message"), [
    (np.zeros(3, np.float32), 0.1, "features"),
    (np.zeros((2, 1), np.float32), 0.1, "batch 2"),
    (np.zeros((1, 1, 1), np.float32), 0.1, "shape"),
    (np.zeros(1, np.int64), 0.1, "dtype int64"),
    (np.array(["a"]), 0.1, "dtype <U1"),
    ([1], 0.1, "dtype int64"),
    (np.array([np.nan], np.float32), 0.1, "NaN or Inf"),
    (np.array([np.inf]), 0.1, "NaN or Inf"),
    (np.array([1e39]), 0.1, "NaN or Inf"),  # finite in float64, Inf once cast to float32
    (np.zeros(1, np.float32), 0.0, "dt must be finite and > 0"),
    (np.zeros(1, np.float32), -1.0, "dt must be finite and > 0"),
    (np.zeros(1, np.float32), float("nan"), "dt must be finite and > 0"),
    (np.zeros(1, np.float32), float("inf"), "dt must be finite and > 0"),
    (np.zeros(1, np.float32), 1e39, "dt must be finite and > 0"),  # Inf in float32
    (np.zeros(1, np.float32), 1e-50, "below float32.s smallest normal value"),  # 0 in float32
    (np.zeros(1, np.float32), np.array([0.1, 0.2]), "dt has shape"),
    (np.zeros(1, np.float32), np.array([[0.0]]), "dt must be finite and > 0"),
    (np.zeros(1, np.float32), "0.1", "dtype"),
    (np.zeros(1, np.float32), True, "dtype bool"),
])
def test_bad_step_input_is_one_clear_error(stepper, x, dt, message):
    assert stepper.input_size == 1
    stepper.reset()
    stepper.step(np.ones(1, np.float32), 0.1)
    before = stepper.state
    with pytest.raises(RuntimeInputError, match=message):
        stepper.step(x, dt)
    np.testing.assert_array_equal(stepper.state, before)  # a refused step changes nothing


def test_batched_model_wants_batched_input(exported):
    model = load(exported, backend="onnxruntime", batch=2)
    with pytest.raises(RuntimeInputError, match="x has batch 1; this model was loaded with batch=2"):
        model.step(np.zeros(1, np.float32), 0.1)
    with pytest.raises(RuntimeInputError, match="dt has shape"):
        model.step(np.zeros((2, 1), np.float32), np.ones(3))
    y = model.step(np.zeros((2, 1), np.float32), np.array([0.1, 0.2]))  # per-sample dt
    assert y.shape == (2, model.output_size)
    assert model.step(np.zeros((2, 1), np.float32), 0.1).shape == (2, model.output_size)


def test_accepted_input_forms_agree(stepper):
    outs = []
    for x, dt in [(np.array([0.25], np.float32), 0.1), (np.array([0.25]), np.float32(0.1)), ([0.25], 0.1),
                  (np.array([[0.25]], np.float32), np.array([0.1])), (torch.tensor([0.25]), np.array([[0.1]])),
                  (np.array([0.25], np.float16), 0.1)]:
        stepper.reset()
        outs.append(np.atleast_2d(stepper.step(x, dt)))
    for out in outs[1:]:  # the same float32 values once converted
        assert_close(out, outs[0], rtol=RTOL_OP, what="another input form")
    assert stepper.step(np.array([0.25], np.float32), 1).shape == (stepper.output_size,)  # integer dt is a time


def test_bad_run_input(stepper):
    seq = np.zeros((5, 1), np.float32)
    with pytest.raises(RuntimeInputError, match="NaN or Inf"):
        stepper.run(np.full((5, 1), np.nan, np.float32))
    with pytest.raises(RuntimeInputError, match="timespans has shape"):
        stepper.run(seq, timespans=np.ones(4))
    with pytest.raises(RuntimeInputError, match="timespans must be finite and > 0"):
        stepper.run(seq, timespans=np.array([1, 1, 0, 1, 1.0]))
    with pytest.raises(RuntimeInputError, match="seq has batch 2"):
        stepper.run(np.zeros((2, 5, 1), np.float32))
    with pytest.raises(RuntimeInputError, match="seq has shape"):
        stepper.run(np.zeros((5, 3), np.float32))


# ------------------------------------------------------------------------------------------- tflm arena
@needs["tflm"]
@needs_tflite
def test_tflm_arena_is_recorded_and_cached(copy, data, reference, monkeypatch):
    model = load(copy, backend="tflm", precision="int8-full")
    cache = copy / (model.artifact["file"] + ".tflm.json")
    record = json.loads(cache.read_text())
    assert record["arena_bytes"] == model.arena_bytes > 0
    assert 0 < record["recorded_total_bytes"] <= record["arena_bytes"] and record["search"] == "complete"
    assert record["sha256"] == model.artifact["sha256"]
    assert load(copy, backend="onnxruntime").arena_bytes is None

    def no_probe(path):
        raise AssertionError("measured again despite a valid cache")

    monkeypatch.setattr(tflm_module, "_probe", no_probe)
    assert load(copy, backend="tflm", precision="int8-full").arena_bytes == model.arena_bytes
    monkeypatch.undo()
    record["sha256"] = "0" * 64  # a stale cache (another file) is measured again
    cache.write_text(json.dumps(record))
    assert load(copy, backend="tflm", precision="int8-full").arena_bytes == model.arena_bytes
    assert json.loads(cache.read_text())["sha256"] == model.artifact["sha256"]

    x, t = data
    model.reset()
    ys = model.run(x[0], timespans=t[0])
    rel_rms = float(np.sqrt(np.mean((ys - reference[0]) ** 2)) / np.sqrt(np.mean(reference[0] ** 2)))
    assert rel_rms < 0.2, rel_rms


@needs["tflm"]
@needs_tflite
def test_tflm_raw_runner_steps_rows_and_dequantizes(exported, data):
    model = load(exported, backend="tflm", precision="int8-full")
    x, t = data
    state = np.zeros((3, model.state_size), np.float32)
    y, s = model.raw(x[:3, 0], state, t[:3, :1])  # rows one at a time: same as three batch-1 calls
    assert y.dtype == np.float32 and y.shape == (3, model.output_size) and s.shape == state.shape
    for i in range(3):
        yi, si = model.raw(x[i : i + 1, 0], state[i : i + 1], t[i : i + 1, :1])
        np.testing.assert_array_equal(y[i : i + 1], yi)
        np.testing.assert_array_equal(s[i : i + 1], si)
    spec = model.artifact["outputs"][0]["quantization"]
    codes = np.round(y / spec["scale"] + spec["zero_point"])  # outputs lie on the int8 grid of the manifest
    # off the grid is up to scale / 2 away (~max|y| / 256); float32 rounding of y is ~1e-7 relative
    assert_close(y, (codes - spec["zero_point"]) * spec["scale"], atol=0, rtol=RTOL_OP, what="int8 grid")
