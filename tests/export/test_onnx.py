"""ONNX artifacts: fp32 exactness at batch 1 and 5 over fed-back rollouts, dynamic batch/time dims, dt kept
as an input, int8 error bounds, the Scan sequence model, and the onnxruntime runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from numeric import ATOL, RTOL_ROLLOUT, assert_close

from edgelnn.artifact import Artifact
from edgelnn.errors import ShapeError
from edgelnn.export.calibration import calibration_from_rollouts
from edgelnn.export.formats.base import FORMATS, ExportContext
from edgelnn.export.formats.onnx import export_onnx, step_signature
from edgelnn.export.formats.onnx_graph import check_signature, ensure_input
from edgelnn.export.step import extract_step_module
from edgelnn.models import build_model, make_config
from edgelnn.runtime.backends import BACKENDS, backend_for
from edgelnn.runtime.onnxruntime_runner import OnnxStepRunner
from edgelnn.tasks import Split

F, H = 3, 8
VARIANTS = {
    "cfc": ("cfc", {"backbone_units": 16}),
    "cfc-pure": ("cfc", {"mode": "pure", "backbone_units": 16}),
    "cfc-mixed": ("cfc", {"mixed_memory": True, "backbone_units": 16}),
    "cfc-ncp": ("cfc", {"wiring": {"type": "auto_ncp", "units": 16, "output_size": 4}}),
    "ltc-fused": ("ltc", {"solver": "fused"}),
    "ltc-euler": ("ltc", {"solver": "euler"}),  # default 6 unfolds: with 3, explicit Euler/RK4 diverge at dt 2
    "ltc-rk4": ("ltc", {"solver": "rk4"}),
    "lrc": ("lrc", {}),
    "lstm": ("lstm", {}),
    "gru": ("gru", {}),
}
INT8 = {"cfc", "lstm", "gru", "ltc-fused", "lrc"}  # also quantized (LTC/LRC to check honest reporting)


def synthetic_split(seed: int, n: int = 16, steps: int = 16) -> Split:
    """Smooth multi-frequency inputs with irregular dt, the kind of signal the cells are built for."""
    rng = np.random.default_rng(seed)
    dt = rng.uniform(0.5, 1.5, (n, steps)).astype(np.float32)
    t = np.cumsum(dt, axis=1)[..., None]
    x = 1.5 * np.sin(t * rng.uniform(0.1, 0.6, (n, 1, F)) + rng.uniform(0, 6.3, (n, 1, F)))
    x = (x + 0.1 * rng.standard_normal(x.shape)).astype(np.float32)
    return Split(x=x, t=dt, y=np.zeros(n, np.int64), mask=np.ones((n, steps), bool))


class Exported:
    """One variant exported once: model, step module, artifacts by name, opened runners."""

    def __init__(self, name: str, out_dir: Path) -> None:
        kind, options = VARIANTS[name]
        torch.manual_seed(0)
        hidden = options.get("wiring", {}).get("units", H)
        self.model = build_model(make_config(kind, F, hidden, **options)).eval()
        self.step = extract_step_module(self.model)
        ctx = ExportContext(step_module=self.step, input_size=F, state_size=self.model.state_size,
                            output_size=self.model.output_size,
                            calibration=calibration_from_rollouts(self.model, synthetic_split(0)),
                            out_dir=out_dir, int8=name in INT8, options={"sequence": True})
        self.dir = out_dir
        self.artifacts = {a.name: a for a in export_onnx(ctx)}

    def runner(self, name: str) -> OnnxStepRunner:
        return backend_for(self.artifacts[name]).open(self.dir / self.artifacts[name].file, self.artifacts[name])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    cache: dict[str, Exported] = {}

    def get(name: str) -> Exported:
        if name not in cache:
            cache[name] = Exported(name, tmp_path_factory.mktemp(name))
        return cache[name]

    return get


def rollout_inputs(batch: int, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((steps, batch, F)).astype(np.float32)
    dt = rng.uniform(0.2, 2.0, (steps, batch, 1)).astype(np.float32)
    return x, dt


@pytest.mark.parametrize("name", list(VARIANTS))
def test_fp32_step_matches_pytorch_over_rollouts(exported, name):
    e = exported(name)
    runner = e.runner("onnx-fp32")
    got, want = [], []
    for batch in (1, 5):
        xs, dts = rollout_inputs(batch, 20, seed=batch)
        s_onnx = np.zeros((batch, e.model.state_size), np.float32)
        s_torch = torch.zeros(batch, e.model.state_size)
        for x, dt in zip(xs, dts):
            y, s_onnx = runner(x, s_onnx, dt)  # the artifact's own state, fed back
            with torch.no_grad():
                y_ref, s_torch = e.step(torch.from_numpy(x), s_torch, torch.from_numpy(dt))
            got += [y.ravel(), s_onnx.ravel()]
            want += [y_ref.numpy().ravel(), s_torch.numpy().ravel()]
    got, want = np.concatenate(got), np.concatenate(want)
    # 20 fed-back steps (up to 6 ODE unfolds each): a rollout bound (see tests/numeric.py)
    error = assert_close(got, want, atol=ATOL, rtol=RTOL_ROLLOUT, what=f"{name} onnx-fp32 rollout")
    print(f"{name}: fp32 max abs error {error:.2e}, max|ref| {np.abs(want).max():.3g}")


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_artifact_keeps_the_step_signature(exported, name):
    e = exported(name)
    sizes = (F, e.model.state_size, e.model.output_size)
    inputs, outputs = step_signature(*sizes)
    for art in e.artifacts.values():
        model = onnx.load(e.dir / art.file)
        assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
        assert [i.name for i in model.graph.input] == ["x", "state", "dt"]  # dt too, for LSTM/GRU
        assert [s.name for s in art.inputs] == ["x", "state", "dt"] and all(s.dtype == "float32" for s in art.inputs)
        if art.kind == "step":
            check_signature(model, inputs, outputs)
            assert [s.shape for s in art.inputs] == [["batch", F], ["batch", sizes[1]], ["batch", 1]]
        assert art.settings["opset"] == 20 and set(art.tool_versions) >= {"torch", "onnx", "onnxruntime"}
    assert sorted(p.name for p in e.dir.iterdir()) == sorted(a.file for a in e.artifacts.values())


def test_fixed_batch_dim_raises_shape_error(exported):
    e = exported("lstm")
    model = onnx.load(e.dir / "step_fp32.onnx")
    inputs, outputs = step_signature(F, e.model.state_size, e.model.output_size)
    check_signature(model, inputs, outputs)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1  # what a batch-1 trace produces
    with pytest.raises(ShapeError, match="fixed at 1"):
        check_signature(model, inputs, outputs)


def test_dropped_dt_input_is_restored_and_runs(exported):
    e = exported("gru")
    model = onnx.load(e.dir / "step_fp32.onnx")
    del model.graph.input[2]  # what the TorchScript exporter does to an unused dt
    assert ensure_input(model, "dt", ["batch", 1], position=2)
    assert not ensure_input(model, "dt", ["batch", 1])
    path = e.dir.parent / "gru-restored.onnx"
    onnx.save(model, path)
    y, _ = OnnxStepRunner(path, e.artifacts["onnx-fp32"])(np.ones((2, F), np.float32), np.zeros((2, H), np.float32),
                                                       np.ones((2, 1), np.float32))
    assert y.shape == (2, H)


def _int8_errors(e: Exported, name: str) -> tuple[float, float]:
    """Relative RMS and max abs error of one step on held-out rollout rows (y and state together)."""
    rows = calibration_from_rollouts(e.model, synthetic_split(1))
    y, s = e.runner(name)(rows.x, rows.state, rows.dt)
    with torch.no_grad():
        y_ref, s_ref = e.step(*(torch.from_numpy(a) for a in (rows.x, rows.state, rows.dt)))
    ref = np.concatenate([y_ref.numpy(), s_ref.numpy()], axis=1)
    diff = np.concatenate([y, s], axis=1) - ref
    return float(np.sqrt((diff**2).mean() / (ref**2).mean())), float(np.abs(diff).max())


@pytest.mark.parametrize("name", sorted(INT8))
def test_int8_artifacts_have_bounded_error(exported, name):
    e = exported(name)
    for art in ("onnx-int8-dynamic", "onnx-int8-static"):
        rel, worst = _int8_errors(e, art)
        print(f"{name} {art}: relative RMS {rel:.4f}, max abs {worst:.4f}, "
              f"quantized ops {e.artifacts[art].settings['quantized_ops']}")
        assert rel < 0.05  # relative RMS: already scaled by the reference (int8 error, not float noise)
    static = e.artifacts["onnx-int8-static"].settings
    assert static["calibration_rows"] == 256 and static["quantized_ops"] > 0
    dynamic = e.artifacts["onnx-int8-dynamic"].settings
    if name == "ltc-fused":  # no MatMul: reported as unquantized, not passed off as int8
        assert dynamic["quantized_ops"] == 0 and dynamic["effective_precision"] == "fp32"
    else:
        assert dynamic["quantized_ops"] > 0 and dynamic["weight_type"] == "QUInt8"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_sequence_artifact_matches_model_run_for_any_length(exported, name):
    e = exported(name)
    art = e.artifacts["onnx-fp32-sequence"]
    assert art.kind == "sequence" and art.inputs[0].shape == ["batch", "time", F]
    runner = e.runner("onnx-fp32-sequence")
    for steps in (7, 13):  # one file, two lengths
        xs, dts = rollout_inputs(3, steps, seed=steps)
        x, dt = xs.transpose(1, 0, 2).copy(), dts.transpose(1, 0, 2).copy()
        state = np.random.default_rng(0).normal(0, 0.1, (3, e.model.state_size)).astype(np.float32)
        y, s = runner(x, state, dt)
        with torch.no_grad():
            y_ref, s_ref = e.model.run(torch.from_numpy(x), torch.from_numpy(dt[..., 0]), torch.from_numpy(state))
        assert y.shape == (3, steps, e.model.output_size)
        # a Scan over up to 13 steps against model.run: a rollout bound (see tests/numeric.py)
        error = max(assert_close(y, y_ref, atol=ATOL, rtol=RTOL_ROLLOUT, what=f"{name} sequence y, {steps} steps"),
                    assert_close(s, s_ref, atol=ATOL, rtol=RTOL_ROLLOUT, what=f"{name} sequence state"))
        print(f"{name} {steps} steps: max abs error {error:.2e}, max|ref| {np.abs(y_ref.numpy()).max():.3g}")


def test_registered_and_runner_checks_ranks(exported):
    e = exported("lstm")
    assert FORMATS["onnx"] is export_onnx and backend_for(e.artifacts["onnx-fp32"]) is BACKENDS["onnxruntime"]
    with pytest.raises(ShapeError):
        e.runner("onnx-fp32")(np.zeros((1, 1, F), np.float32), np.zeros((1, 2 * H), np.float32),
                              np.ones((1, 1), np.float32))
    art = Artifact(name="bad", format="onnx", precision="fp32", file="step_fp32.onnx", runtime="onnxruntime")
    assert BACKENDS["onnxruntime"].open(e.dir / art.file, art).input_names == ("x", "state", "dt")
