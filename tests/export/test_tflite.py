"""TFLite export (litert-torch, ai-edge-quantizer) and the LiteRT runner, on small seeded zoo models.

Every model is converted once per module (conversion takes seconds) and its artifacts are checked in
closed loop: 20 steps where each runtime feeds back its own state, compared with PyTorch doing the same.
Run with ``-s`` to see the measured errors.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("litert_torch")
pytest.importorskip("ai_edge_quantizer")
pytest.importorskip("ai_edge_litert")

from numeric import ATOL, RTOL_ROLLOUT, assert_close

from edgelnn.artifact import Artifact
from edgelnn.errors import ShapeError
from edgelnn.export.calibration import calibration_from_rollouts
from edgelnn.export.formats import tflite_quant
from edgelnn.export.formats.base import FORMATS, ExportContext
from edgelnn.export.formats.tflite import export_tflite
from edgelnn.export.formats.tflite_fp16 import constants_to_fp16
from edgelnn.export.step import extract_step_module
from edgelnn.models import build_model, make_config
from edgelnn.runtime.backends import BACKENDS, backend_for
from edgelnn.runtime.litert_runner import LiteRTStepRunner, open_litert
from edgelnn.tasks.base import Split

INPUT = 3
STEPS = 20
NCP = {"type": "auto_ncp", "units": 16, "output_size": 4}

# label -> (kind, hidden, input, options). Small sizes and few ODE unfolds keep conversion fast; with
# DT_MAX = 1 the explicit LTC solvers stay stable at these unfolds (at dt = 2 they blow up in PyTorch too).
DT_MAX = 1.0
MODELS: dict[str, tuple[str, int, int, dict[str, Any]]] = {
    "cfc": ("cfc", 8, INPUT, {"backbone_units": 8}),
    "cfc-pure": ("cfc", 8, INPUT, {"mode": "pure", "backbone_units": 8}),
    "cfc-mixed": ("cfc", 8, INPUT, {"mixed_memory": True, "backbone_units": 8, "proj_size": 2}),
    "cfc-ncp": ("cfc", 16, INPUT, {"wiring": NCP}),
    "ltc-fused": ("ltc", 8, INPUT, {"ode_unfolds": 3}),
    "ltc-euler": ("ltc", 8, INPUT, {"solver": "euler", "ode_unfolds": 4}),
    "ltc-rk4": ("ltc", 8, INPUT, {"solver": "rk4", "ode_unfolds": 3}),
    "lrc": ("lrc", 8, INPUT, {}),
    "lstm": ("lstm", 8, INPUT, {}),
    "gru": ("gru", 8, 8, {}),  # x and state both [B,8]: only the signature names tell them apart
}
LIQUID = [label for label, (kind, *_) in MODELS.items() if kind in ("cfc", "ltc", "lrc")]

# Closed-loop relative RMS bounds (about 3x the errors measured here; see the printed numbers).
BOUNDS = {"fp16": 2e-3, "int8-dynamic": 0.03, "int8-full": 0.12}


def _split(input_size: int, seed: int, sequences: int = 16, steps: int = 32) -> Split:
    rng = np.random.default_rng(seed)
    return Split(x=rng.standard_normal((sequences, steps, input_size)).astype(np.float32),
                 t=(0.1 + (DT_MAX - 0.1) * rng.random((sequences, steps))).astype(np.float32),
                 y=np.zeros((sequences, steps, 1), np.float32), mask=np.ones((sequences, steps), bool))


class Exported:
    """One model, its step module and its TFLite artifacts."""

    def __init__(self, label: str, out_dir, **ctx_args: Any) -> None:
        kind, hidden, input_size, options = MODELS[label]
        torch.manual_seed(0)
        self.model = build_model(make_config(kind, input_size, hidden, **options)).eval()
        self.step = extract_step_module(self.model)
        self.input_size = input_size
        calibration = calibration_from_rollouts(self.model, _split(input_size, seed=0), max_rows=256)
        ctx_args.setdefault("options", {"tflite_dynamic_batch": False})
        self.ctx = ExportContext(step_module=self.step, input_size=input_size, state_size=self.model.state_size,
                                 output_size=self.model.output_size, calibration=calibration, out_dir=out_dir,
                                 **ctx_args)
        self.artifacts = {a.name: a for a in export_tflite(self.ctx)}

    def runner(self, name: str):
        artifact = self.artifacts[name]
        return backend_for(artifact).open(self.ctx.out_dir / artifact.file, artifact)

    def inputs(self, batch: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        xs = rng.standard_normal((STEPS, batch, self.input_size)).astype(np.float32)
        dts = (0.1 + (DT_MAX - 0.1) * rng.random((STEPS, batch, 1))).astype(np.float32)
        return xs, dts

    def rollout_torch(self, xs: np.ndarray, dts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        state = torch.zeros(xs.shape[1], self.model.state_size)
        ys, states = [], []
        with torch.no_grad():
            for x, dt in zip(xs, dts):
                y, state = self.step(torch.from_numpy(x), state, torch.from_numpy(dt))
                ys.append(y.numpy())
                states.append(state.numpy())
        return np.stack(ys), np.stack(states)

    def rollout(self, runner, xs: np.ndarray, dts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        state = np.zeros((xs.shape[1], self.model.state_size), np.float32)
        ys, states = [], []
        for x, dt in zip(xs, dts):
            y, state = runner(x, state, dt)
            assert y.dtype == np.float32 and state.dtype == np.float32
            ys.append(y)
            states.append(state)
        return np.stack(ys), np.stack(states)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    cache: dict[str, Exported] = {}

    def get(label: str) -> Exported:
        if label not in cache:
            cache[label] = Exported(label, tmp_path_factory.mktemp(label))
        return cache[label]

    return get


def _rel_rms(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.sqrt(np.mean((got - want) ** 2)) / max(np.sqrt(np.mean(want**2)), 1e-12))


def test_registered():
    assert FORMATS["tflite"] is export_tflite
    assert backend_for(Artifact("x", "tflite", "fp32", "step_fp32.tflite", "litert")) is BACKENDS["litert"]


@pytest.mark.parametrize("label", list(MODELS))
def test_fp32_matches_pytorch_closed_loop(exported, label):
    ex = exported(label)
    runner = ex.runner("tflite-fp32")
    for batch in (1, 5):
        xs, dts = ex.inputs(batch)
        want_y, want_s = ex.rollout_torch(xs, dts)
        got_y, got_s = ex.rollout(runner, xs, dts)
        # 20 fed-back steps: a rollout bound (see tests/numeric.py)
        err = max(assert_close(got_y, want_y, atol=ATOL, rtol=RTOL_ROLLOUT, what=f"{label} tflite-fp32 y"),
                  assert_close(got_s, want_s, atol=ATOL, rtol=RTOL_ROLLOUT, what=f"{label} tflite-fp32 state"))
        print(f"{label} tflite-fp32 batch {batch}: max abs error {err:.2e}, "
              f"max|ref| {max(np.abs(want_y).max(), np.abs(want_s).max()):.3g}")


@pytest.mark.parametrize("label", list(MODELS))
def test_signature_and_settings(exported, label):
    ex = exported(label)
    expected = [("x", ex.input_size), ("state", ex.model.state_size), ("dt", 1)]
    for artifact in ex.artifacts.values():
        assert artifact.format == "tflite" and artifact.runtime == "litert"
        assert (ex.ctx.out_dir / artifact.file).is_file()
        assert [(s.name, s.shape[-1]) for s in artifact.inputs] == expected
        assert [(s.name, s.shape[-1]) for s in artifact.outputs] == [("y", ex.model.output_size),
                                                                     ("state_out", ex.model.state_size)]
        assert set(artifact.tool_versions) >= {"litert-torch", "ai-edge-quantizer", "ai-edge-litert"}
        assert artifact.settings["signature"] and "batch" in artifact.settings
    assert sorted(ex.artifacts) == ["tflite-fp16", "tflite-fp32", "tflite-int8-a16", "tflite-int8-dynamic",
                                   "tflite-int8-full"]


@pytest.mark.parametrize("label", LIQUID)
def test_dt_reaches_the_artifact(exported, label):
    ex = exported(label)
    runner = ex.runner("tflite-fp32")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, ex.input_size)).astype(np.float32)
    state = 0.3 * rng.standard_normal((1, ex.model.state_size)).astype(np.float32)
    short = runner(x, state, np.full((1, 1), 0.1, np.float32))[1]
    long = runner(x, state, np.full((1, 1), DT_MAX, np.float32))[1]
    assert np.abs(short - long).max() > 1e-3


@pytest.mark.parametrize("precision", ["fp16", "int8-dynamic", "int8-full"])
@pytest.mark.parametrize("label", list(MODELS))
def test_quantized_error_is_bounded(exported, label, precision):
    ex = exported(label)
    xs, dts = ex.inputs(5)
    want_y, want_s = ex.rollout_torch(xs, dts)
    got_y, got_s = ex.rollout(ex.runner(f"tflite-{precision}"), xs, dts)
    rel, max_abs = _rel_rms(got_y, want_y), float(np.abs(got_y - want_y).max())
    rel_state = _rel_rms(got_s, want_s)
    print(f"{label} tflite-{precision}: y rel RMS {rel:.4f}, y max abs {max_abs:.4f}, state rel RMS {rel_state:.4f}")
    assert np.isfinite(got_y).all() and np.isfinite(got_s).all()
    assert rel <= BOUNDS[precision] and rel_state <= BOUNDS[precision]


@pytest.mark.parametrize("label", list(MODELS))
def test_full_int8_has_integer_io(exported, label):
    artifact = exported(label).artifacts["tflite-int8-full"]
    used = [s for s in artifact.inputs if s.dtype != "float32"]
    assert {s.name for s in used} >= {"x", "state"}  # dt stays float only where the cell ignores it (LSTM, GRU)
    for spec in (*used, *artifact.outputs):
        assert spec.dtype == "int8" and spec.scale > 0 and -128 <= spec.zero_point <= 127
        assert spec.to_dict()["quantization"] == {"scale": spec.scale, "zero_point": spec.zero_point}
    state_in, state_out = artifact.inputs[1], artifact.outputs[1]
    assert (state_in.scale, state_in.zero_point) == (state_out.scale, state_out.zero_point)
    assert artifact.settings["state_scale_shared"] is True
    settings = artifact.settings
    assert settings["integer_only"] == (not settings["float_ops"])
    # ai-edge-quantizer has no int8 ABS/EXP: pure-mode CfC keeps those two ops in float (recorded, not hidden)
    assert settings["float_ops"] == ({"ABS": 1, "EXP": 1} if label == "cfc-pure" else {})
    assert artifact.settings["calibration"]["method"] == "min_max"
    assert artifact.settings["calibration"]["rows"] == 256


def test_min_max_calibration_beats_moving_average(exported):
    ex = exported("cfc")
    fp32 = (ex.ctx.out_dir / ex.artifacts["tflite-fp32"].file).read_bytes()
    xs, dts = ex.inputs(5)
    want_y, _ = ex.rollout_torch(xs, dts)
    errors = {}
    for method in ("min_max", "moving_average"):
        content, _ = tflite_quant.to_full_int8(fp32, ex.ctx.calibration, method=method)
        path = ex.ctx.out_dir / f"calib_{method}.tflite"
        path.write_bytes(content)
        runner = open_litert(path, Artifact("x", "tflite", "int8-full", path.name, "litert"))
        errors[method] = _rel_rms(ex.rollout(runner, xs, dts)[0], want_y)
    print(f"cfc full int8 y rel RMS by calibration: {errors}")
    assert errors["min_max"] < errors["moving_average"]


@pytest.mark.parametrize("label", list(MODELS))
def test_fp16_file_is_not_larger(exported, label):
    ex = exported(label)
    size = {p: (ex.ctx.out_dir / ex.artifacts[f"tflite-{p}"].file).stat().st_size for p in ("fp32", "fp16")}
    assert size["fp16"] <= size["fp32"]
    settings = ex.artifacts["tflite-fp16"].settings
    assert settings["fp16_constants"] > 0 or "note" in settings
    print(f"{label}: fp32 {size['fp32']} B, fp16 {size['fp16']} B ({settings['fp16_constants']} constants)")


def test_ltc_dynamic_int8_is_described_as_a_no_op(exported):
    dynamic = exported("ltc-fused").artifacts["tflite-int8-dynamic"].settings
    assert dynamic["int8_weight_tensors"] == 0 and "note" in dynamic


def test_fp16_constants_pass_keeps_numerics(exported, tmp_path):
    ex = exported("ltc-fused")  # all its parameters feed elementwise ops, which FLOAT_CASTING does not touch
    fp32 = (ex.ctx.out_dir / ex.artifacts["tflite-fp32"].file).read_bytes()
    content, converted = constants_to_fp16(fp32, min_elements=2)
    assert converted > 0
    assert tflite_quant.model_summary(content)["constants_by_dtype"]["float16"] == converted
    path = tmp_path / "ltc_fp16.tflite"
    path.write_bytes(content)
    xs, dts = ex.inputs(2)
    want_y, _ = ex.rollout_torch(xs, dts)
    rel = _rel_rms(ex.rollout(LiteRTStepRunner(path), xs, dts)[0], want_y)
    print(f"ltc-fused all constants fp16: y rel RMS {rel:.5f} ({converted} constants)")
    assert 0 < rel < 1e-3


def test_runner_rejects_wrong_shapes(exported):
    ex = exported("cfc")
    runner = ex.runner("tflite-fp32")
    x, state, dt = np.zeros((2, 3), np.float32), np.zeros((2, 8), np.float32), np.ones((2, 1), np.float32)
    with pytest.raises(ShapeError):
        runner(x, state[:1], dt)
    with pytest.raises(ShapeError):
        runner(np.zeros((2, 4), np.float32), state, dt)


def test_open_rejects_specs_that_are_not_the_files(exported):
    ex = exported("cfc")
    artifact = ex.artifacts["tflite-int8-full"]
    wrong = dataclasses.replace(artifact.inputs[0], scale=artifact.inputs[0].scale * 2)
    with pytest.raises(ShapeError):
        open_litert(ex.ctx.out_dir / artifact.file, dataclasses.replace(artifact, inputs=[wrong, *artifact.inputs[1:]]))


def test_default_export_tries_dynamic_batch_and_int8_off(tmp_path):
    ex = Exported("cfc", tmp_path, int8=False, options={})
    assert sorted(ex.artifacts) == ["tflite-fp16", "tflite-fp32"]
    settings = ex.artifacts["tflite-fp32"].settings
    if settings["batch"] == "dynamic":  # a litert-torch that converts a dynamic batch
        assert ex.artifacts["tflite-fp32"].inputs[0].shape[0] == "batch"
    else:  # litert-torch 0.10: the attempt fails and says why; the runner steps rows
        assert settings["dynamic_batch_failed"] and settings["dynamic_attempt_seconds"] > 0
        assert ex.artifacts["tflite-fp32"].inputs[0].shape == [1, INPUT]
    xs, dts = ex.inputs(4)
    want_y, _ = ex.rollout_torch(xs, dts)
    got_y, _ = ex.rollout(ex.runner("tflite-fp32"), xs, dts)
    assert_close(got_y, want_y, atol=ATOL, rtol=RTOL_ROLLOUT, what="cfc tflite-fp32 y (default export)")
