"""LTC as C: input mapping, sensory synapses once per step, then K unfolds of the fused, euler or rk4 solver.

The synapse sums come from :mod:`edgelnn.firmware_bench.codegen.synapses` (float, or fixed point at int8).

Mirrors edgelnn.models.ltc. Weights that torch transforms on every step but that do not depend on the
input are transformed here once, at generation time: softplus of the positive parameters ("softplus"
constraints; "clip" constraints store them already clipped), the sparsity masks, w * erev, gleak * vleak.
"""

from __future__ import annotations

import numpy as np

from edgelnn.errors import UnsupportedModelError
from edgelnn.firmware_bench.codegen.emit import CBuilder, emit_memory_lstm, emit_projection
from edgelnn.firmware_bench.codegen.source import ModelSpec
from edgelnn.firmware_bench.codegen.synapses import Synapses, emit_synapse_sums

SOLVERS = ("fused", "euler", "rk4")
CONSTRAINTS = ("softplus", "clip")
MAPPINGS = ("affine", "linear", "none")


def positive(values: np.ndarray, constraints: str) -> np.ndarray:
    """torch.nn.functional.softplus (threshold 20) in float64, rounded to float32; identity for "clip"."""
    if constraints not in CONSTRAINTS:
        raise UnsupportedModelError(f"constraints {constraints!r} are not supported (supported: "
                                    f"{', '.join(CONSTRAINTS)})")
    if constraints == "clip":
        return np.asarray(values, np.float32)
    v = np.asarray(values, np.float64)
    return np.where(v > 20.0, v, np.log1p(np.exp(np.minimum(v, 20.0)))).astype(np.float32)


def emit_input_mapping(spec: ModelSpec, c: CBuilder, kind: str) -> None:
    """``float u[F]``: the elementwise input mapping of x (affine, linear or none)."""
    if kind not in MAPPINGS:
        raise UnsupportedModelError(f"input_mapping {kind!r} is not supported (supported: {', '.join(MAPPINGS)})")
    f = spec.input_size
    c.line(f"float u[{f}];")
    if kind == "none":
        c.line(f"eln_copy(u, x, {f});")
        return
    w = c.const("in_w", spec.tensor("input_w"))
    expr = f"x[i] * {w}[i]"
    if kind == "affine":
        expr += f" + {c.const('in_b', spec.tensor('input_b'))}[i]"
    c.line(f"for (int i = 0; i < {f}; ++i) u[i] = {expr};")


def emit_output_mapping(spec: ModelSpec, c: CBuilder, kind: str, v: str, size: int) -> str:
    """Declare ``float out[size]`` = mapping of the first ``size`` neurons of ``v``; returns "out"."""
    if kind not in MAPPINGS:
        raise UnsupportedModelError(f"output_mapping {kind!r} is not supported (supported: {', '.join(MAPPINGS)})")
    c.line(f"float out[{size}];")
    if kind == "none":
        c.line(f"eln_copy(out, {v}, {size});")
        return "out"
    expr = f"{v}[i] * {c.const('out_w', spec.tensor('output_w'))}[i]"
    if kind == "affine":
        expr += f" + {c.const('out_b', spec.tensor('output_b'))}[i]"
    c.line(f"for (int i = 0; i < {size}; ++i) out[i] = {expr};")
    return "out"


def core_output_size(spec: ModelSpec, mapping: str) -> int:
    """Neurons read out by the cell: the output mapping's width, else the projection's input, else y."""
    if mapping != "none":
        return int(spec.tensor("output_w").size)
    if spec.has("proj.weight"):
        return int(spec.tensor("proj.weight").shape[1])
    return spec.output_size


def ltc_state_range(spec: ModelSpec, w: np.ndarray, sw: np.ndarray) -> float:
    """A bound on |v| for the fixed-point synapses: 4x the largest of 1, |vleak|, |erev| and |mu|.

    With the fused solver v stays within [min, max] of its start (0), vleak and the reversal potentials of
    its active synapses (each update is a positive weighted average of them); euler and rk4 follow the same
    ODE, and the mixed-memory LSTM's output lies in [-1, 1]. The factor 4 leaves room for overshoot.
    """
    erev = np.concatenate([spec.tensor("erev")[w != 0], spec.tensor("sensory_erev")[sw != 0]])
    parts = [1.0, np.abs(spec.tensor("vleak")).max(initial=0.0), np.abs(erev).max(initial=0.0),
             np.abs(spec.tensor("mu")).max(initial=0.0)]
    return 4.0 * float(max(parts))


def emit_ltc(spec: ModelSpec, c: CBuilder) -> None:
    """The LTC step. Precision int8: the recurrent synapses in fixed point (int8 weights, a sigmoid table);
    the sensory synapses (once per step), the input/output mappings and the solver in float."""
    cfg = spec.config
    solver, unfolds = cfg.get("solver", "fused"), int(cfg.get("ode_unfolds", 6))
    if solver not in SOLVERS:
        raise UnsupportedModelError(f"LTC solver {solver!r} is not supported (supported: {', '.join(SOLVERS)})")
    cons = cfg.get("constraints", "softplus")
    units = int(cfg["hidden_size"])
    sw = positive(spec.tensor("sensory_w"), cons) * spec.tensor("sensory_sparsity_mask")
    w = positive(spec.tensor("w"), cons) * spec.tensor("sparsity_mask")
    sensory = emit_synapse_sums(c, "sensory", Synapses(spec.tensor("sensory_sigma"), spec.tensor("sensory_mu"),
                                                       sw * spec.tensor("sensory_erev"), sw))
    fixed = ltc_state_range(spec, w, sw) if c.precision == "int8" else None
    synaptic = emit_synapse_sums(c, "synaptic", Synapses(spec.tensor("sigma"), spec.tensor("mu"),
                                                         w * spec.tensor("erev"), w), fixed)
    gleak = positive(spec.tensor("gleak"), cons)
    g, gv = c.const("gleak", gleak), c.const("gleak_vleak", gleak * spec.tensor("vleak"))
    cm = c.const("cm", positive(spec.tensor("cm"), cons))
    eps = f"{np.float32(cfg.get('epsilon', 1e-8)):.9g}f"
    name = c.name
    if solver != "fused":
        c.helper(f"""
        /* dv/dt = (gleak vleak + num + num_s - (gleak + den + den_s) v) / cm */
        static void {name}_rhs(const float *v, const float *num_s, const float *den_s, float *out)
        {{
            float num[{units}], den[{units}];
            {synaptic}(v, num, den);
            for (int i = 0; i < {units}; ++i) {{
                out[i] = ({gv}[i] + num[i] + num_s[i] - ({g}[i] + den[i] + den_s[i]) * v[i]) / {cm}[i];
            }}
        }}""")
    mapping_in, mapping_out = cfg.get("input_mapping", "affine"), cfg.get("output_mapping", "affine")
    if cfg.get("mixed_memory"):
        emit_memory_lstm(spec, c, units)
    c.line("{  /* LTC cell */")
    c.body.append("")
    start = len(c.body)
    emit_input_mapping(spec, c, mapping_in)
    c.lines(f"""
        float num_s[{units}], den_s[{units}];
        {sensory}(u, num_s, den_s);
        float h = dt / {unfolds}.0f;
        float *v = s;""")
    if solver == "fused":
        c.lines(f"""
            float cm_t[{units}], num[{units}], den[{units}];
            for (int i = 0; i < {units}; ++i) cm_t[i] = {cm}[i] / h;
            for (int step = 0; step < {unfolds}; ++step) {{
                {synaptic}(v, num, den);
                for (int i = 0; i < {units}; ++i) {{
                    v[i] = (cm_t[i] * v[i] + {gv}[i] + num[i] + num_s[i])
                           / (cm_t[i] + {g}[i] + den[i] + den_s[i] + {eps});
                }}
            }}""")
    elif solver == "euler":
        c.lines(f"""
            float k1[{units}];
            for (int step = 0; step < {unfolds}; ++step) {{
                {name}_rhs(v, num_s, den_s, k1);
                for (int i = 0; i < {units}; ++i) v[i] = v[i] + h * k1[i];
            }}""")
    else:
        c.lines(f"""
            float k1[{units}], k2[{units}], k3[{units}], k4[{units}], tmp[{units}];
            float half = 0.5f * h, sixth = h / 6.0f;
            for (int step = 0; step < {unfolds}; ++step) {{
                {name}_rhs(v, num_s, den_s, k1);
                for (int i = 0; i < {units}; ++i) tmp[i] = v[i] + half * k1[i];
                {name}_rhs(tmp, num_s, den_s, k2);
                for (int i = 0; i < {units}; ++i) tmp[i] = v[i] + half * k2[i];
                {name}_rhs(tmp, num_s, den_s, k3);
                for (int i = 0; i < {units}; ++i) tmp[i] = v[i] + h * k3[i];
                {name}_rhs(tmp, num_s, den_s, k4);
                for (int i = 0; i < {units}; ++i) {{
                    v[i] = v[i] + sixth * (k1[i] + 2.0f * k2[i] + 2.0f * k3[i] + k4[i]);
                }}
            }}""")
    size = core_output_size(spec, mapping_out)
    out = emit_output_mapping(spec, c, mapping_out, "v", size)
    emit_projection(spec, c, out, size)
    c.body[start:] = ["    " + ln if ln else ln for ln in c.body[start:]]
    c.line("}")
