"""Generated C vs PyTorch: every model kind and its main options, compiled for the host and rolled out.

Each configuration is a tiny random model (hidden 8, 3 inputs, proj_size 2, untrained) saved into a
minimal export-like directory (manifest.json + model.safetensors), generated as C, compiled once per
configuration (module-scoped fixture), and stepped 50 times with random irregular dt beside
``model.step``. Bound: max|c - torch| <= atol + rtol * max|torch|, atol = rtol = 1e-5 for fp32: the C
uses its own expf/tanhf (errors ~2-3e-7 relative, edgelnn_math.h) and sums in another order, so a few
float32 ulps per step, compounded over 50 recurrent steps (LTC: up to 6 unfolds each).
"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
import torch
from firmware_exports import write_minimal_export

from edgelnn.errors import CompileError, UnsupportedModelError
from edgelnn.firmware_bench import host
from edgelnn.firmware_bench.codegen import generate
from edgelnn.firmware_bench.host import CStepRunner, build_library, find_compiler
from edgelnn.models.registry import build_model, make_config

ATOL, RTOL = 1e-5, 1e-5
STEPS, INPUTS, HIDDEN = 50, 3, 8
NCP = {"type": "ncp", "inter_neurons": 3, "command_neurons": 3, "motor_neurons": 2, "sensory_fanout": 2,
       "inter_fanout": 2, "recurrent_command_synapses": 2, "motor_fanin": 2}

CONFIGS = {
    "cfc_default": ("cfc", {"backbone_units": 16}),
    "cfc_default_2layers": ("cfc", {"backbone_units": 16, "backbone_layers": 2, "activation": "silu"}),
    "cfc_no_gate": ("cfc", {"mode": "no_gate", "backbone_units": 16, "activation": "relu"}),
    "cfc_pure": ("cfc", {"mode": "pure", "backbone_units": 16, "activation": "tanh"}),
    "cfc_pure_no_backbone": ("cfc", {"mode": "pure", "backbone_layers": 0}),
    "cfc_mixed_memory": ("cfc", {"backbone_units": 16, "mixed_memory": True}),
    "cfc_ncp": ("cfc", {"wiring": NCP}),
    "cfc_ncp_no_proj": ("cfc", {"wiring": NCP, "proj_size": None}),
    "cfc_ncp_mixed_memory_no_gate": ("cfc", {"wiring": NCP, "mixed_memory": True, "mode": "no_gate"}),
    "ltc_fused": ("ltc", {"ode_unfolds": 3}),
    "ltc_euler": ("ltc", {"solver": "euler", "ode_unfolds": 3}),
    "ltc_rk4": ("ltc", {"solver": "rk4", "ode_unfolds": 2}),
    "ltc_ncp_clip_linear": ("ltc", {"wiring": NCP, "constraints": "clip", "input_mapping": "linear",
                                    "output_mapping": "none"}),
    "ltc_mixed_memory": ("ltc", {"ode_unfolds": 2, "mixed_memory": True, "output_mapping": "linear"}),
    "lrc_asymmetric": ("lrc", {}),
    "lrc_output_linear": ("lrc", {"output_mapping": "linear", "ode_unfolds": 2}),
    "lrc_symmetric_hybrid": ("lrc", {"elastance": "symmetric", "update": "hybrid", "ode_unfolds": 2,
                                     "constraints": "softplus"}),
    "lrc_constant": ("lrc", {"elastance": "constant", "ode_unfolds": 3, "input_mapping": "none"}),
    "lstm": ("lstm", {}),
    "gru": ("gru", {}),
    "lstm_time_input": ("lstm", {"time_input": True}),
    "gru_time_input": ("gru", {"time_input": True, "proj_size": None}),
}
# Explicit solvers are stable only for small sub-steps on these random (stiff) LTCs: smaller dt there.
DT_MAX = {"ltc_euler": 0.4, "ltc_rk4": 0.4}


def tiny_model(kind: str, options: dict, seed: int = 0):
    options = {"proj_size": 2, **options}
    torch.manual_seed(seed)
    model = build_model(make_config(kind, INPUTS, HIDDEN, **options))
    with torch.no_grad():  # move parameters off their init values (ones, zeros) so every term matters
        for name, p in model.named_parameters():
            if name.endswith(("input_w", "input_b", "output_w", "output_b", ".A", "w_tau", "distr_shift")):
                p.add_(0.3 * torch.randn_like(p))
    return model.eval()




def rollout(model, runner, steps: int = STEPS, seed: int = 1, batch: int = 1, dt_max: float = 2.0):
    """(torch outputs, c outputs, torch states, c states), each [T,B,*], from zero state, dt in [0.02, dt_max]."""
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((steps, batch, model.input_size)).astype(np.float32)
    dts = rng.uniform(0.02, dt_max, (steps, batch, 1)).astype(np.float32)
    st = model.init_state(batch)
    sc = np.zeros((batch, model.state_size), np.float32)
    out = ([], [], [], [])
    with torch.no_grad():
        for t in range(steps):
            yt, st = model.step(torch.from_numpy(xs[t]), st, torch.from_numpy(dts[t]))
            yc, sc = runner(xs[t], sc, dts[t])
            for acc, v in zip(out, (yt.numpy(), yc, st.numpy(), sc)):
                acc.append(v)
    return tuple(np.stack(a) for a in out)


def assert_close(actual: np.ndarray, reference: np.ndarray, what: str) -> None:
    bound = ATOL + RTOL * float(np.abs(reference).max())
    err = float(np.abs(actual - reference).max())
    assert err <= bound, f"{what}: max abs error {err:.3g} > bound {bound:.3g}"


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def compiled(request, tmp_path_factory):
    kind, options = CONFIGS[request.param]
    model = tiny_model(kind, options)
    folder = write_minimal_export(model, tmp_path_factory.mktemp(request.param) / "export")
    return model, CStepRunner.from_export(folder), folder, DT_MAX.get(request.param, 2.0)


def test_c_matches_torch_rollout(compiled):
    model, runner, _, dt_max = compiled
    yt, yc, st, sc = rollout(model, runner, dt_max=dt_max)
    assert yc.shape == yt.shape and sc.shape == st.shape
    # a meaningful reference: bounded, and moving (a diverging or constant rollout would prove little)
    assert np.abs(st).max() < 100 and yt.std() > 1e-3
    assert_close(yc, yt, "outputs")
    assert_close(sc, st, "states")


def test_batch_rows_match_torch(compiled):
    """Rows of a batch are independent steps (looped in C), each with its own dt."""
    model, runner, _, dt_max = compiled
    yt, yc, st, sc = rollout(model, runner, steps=5, seed=2, batch=3, dt_max=dt_max)
    assert_close(yc, yt, "outputs")
    assert_close(sc, st, "states")


def test_generated_files_and_state_layout(compiled):
    model, runner, _, _ = compiled
    src = runner.source
    assert set(src.files) == {f"{src.name}.h", f"{src.name}.c", "edgelnn_math.h", "edgelnn_ops.h"}
    header = src.files[f"{src.name}.h"]
    assert f"void {src.name}_step_p(const float *x, const float *dt, float *state, float *y);" in header
    assert f"void {src.name}_reset({src.name}_state_t *state);" in header
    assert (src.input_size, src.state_size, src.output_size) == (model.input_size, model.state_size,
                                                                 model.output_size)
    for part in src.state_layout:
        assert f"_STATE_{part['name'].upper()}_OFFSET {part['offset']}" in header
    assert "static const float" in src.files[f"{src.name}.c"]


def test_c99_freestanding_compiles_cleanly(compiled, tmp_path):
    """The model's C compiles as strict C99, freestanding, without warnings (-Wall -Wextra -pedantic)."""
    _, runner, _, _ = compiled
    src = runner.source.write(tmp_path / "src")
    compiler = find_compiler()
    quiet = ["-Wno-unused-command-line-argument"] if "ziglang" in compiler else []  # zig cc passes its own -c
    cmd = [*compiler, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", *quiet, "-ffreestanding",
           "-fopenmp-simd", "-c", "-o", "model.o", f"{runner.source.name}.c"]
    proc = subprocess.run(cmd, cwd=src, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_second_load_uses_the_cache(tmp_path, monkeypatch):
    model = tiny_model("gru", {})
    folder = write_minimal_export(model, tmp_path / "export")
    first = CStepRunner.from_export(folder)
    mtime = first.library.stat().st_mtime_ns
    second = CStepRunner.from_export(folder)
    assert first.compiled and not second.compiled
    assert second.library == first.library and second.library.stat().st_mtime_ns == mtime
    assert first.library.parent == folder / ".edgelnn-c-cache"
    assert [p.name for p in first.library.parent.iterdir()] == [first.library.name]  # no temp files left
    if host.NATIVE_FLAGS:  # a library built for this CPU is not reused on another one
        monkeypatch.setattr(host, "host_cpu_id", lambda: "another cpu")
        third = CStepRunner.from_export(folder)
        assert third.compiled and third.library != first.library


def test_compile_error_quotes_the_compiler(tmp_path):
    model = tiny_model("gru", {})
    src = generate(write_minimal_export(model, tmp_path / "export"))
    src.files[f"{src.name}.c"] += "\nthis is not C;\n"
    with pytest.raises(CompileError, match=r"(?s)failed \(exit \d+\).*gru\.c:\d+"):
        build_library(src, tmp_path / "cache")
    assert not any(p.suffix == ".so" for p in (tmp_path / "cache").iterdir())


def test_unsupported_activation_is_named(tmp_path):
    model = tiny_model("cfc", {"activation": "gelu", "backbone_units": 4})
    with pytest.raises(UnsupportedModelError, match="gelu"):
        generate(write_minimal_export(model, tmp_path / "export"))


def test_unsupported_precision_is_named(tmp_path):
    gru = write_minimal_export(tiny_model("gru", {}), tmp_path / "gru")
    with pytest.raises(UnsupportedModelError, match="fp16"):
        generate(gru, precision="fp16")


def test_write_and_name(tmp_path):
    model = tiny_model("lstm", {})
    src = generate(write_minimal_export(model, tmp_path / "export"), name="policy")
    out = src.write(tmp_path / "out")
    assert sorted(os.listdir(out)) == ["edgelnn_math.h", "edgelnn_ops.h", "policy.c", "policy.h"]
    assert "void policy_step(const float *x, float dt, policy_state_t *state, float *y);" in \
        (out / "policy.h").read_text()
    with pytest.raises(ValueError, match="C identifier"):
        generate(tmp_path / "export", name="1bad-name")
