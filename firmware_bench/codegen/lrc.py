"""LRC as C: sensory terms once per step, then K unfolds of the explicit or hybrid update with the
asymmetric, symmetric or constant elastance (edgelnn.models.lrc semantics).

Positive parameters (gleak, w, sensory_w, distr_shift) are transformed at generation time (softplus or, for
"clip" constraints, stored as they are).
"""

from __future__ import annotations

from edgelnn.errors import UnsupportedModelError
from edgelnn.firmware_bench.codegen.emit import CBuilder, emit_projection
from edgelnn.firmware_bench.codegen.ltc import emit_input_mapping, emit_output_mapping, positive
from edgelnn.firmware_bench.codegen.source import ModelSpec

ELASTANCES = ("asymmetric", "symmetric", "constant")
UPDATES = ("explicit", "hybrid")


def _elastance_code(spec: ModelSpec, c: CBuilder, kind: str, units: int, cons: str) -> str:
    """C lines that fill ``eps[units]`` for the current v (u and sub in scope)."""
    if kind not in ELASTANCES:
        raise UnsupportedModelError(f"LRC elastance {kind!r} is not supported (supported: {', '.join(ELASTANCES)})")
    if kind == "constant":
        return f"for (int i = 0; i < {units}; ++i) eps[i] = sub;"
    f = spec.input_size
    dense = c.dense("elastance", spec.tensor("elastance.weight"), spec.tensor("elastance.bias"), "cat", "eps")
    lines = [f"eln_copy(cat + {f}, v, {units});", dense]
    if kind == "asymmetric":
        lines.append(f"for (int i = 0; i < {units}; ++i) eps[i] = eln_sigmoid(eps[i]) * sub;")
    else:
        shift = c.const("shift", positive(spec.tensor("distr_shift"), cons))
        lines.append(f"for (int i = 0; i < {units}; ++i) eps[i] = (eln_sigmoid(eps[i] + {shift}[i]) - "
                     f"eln_sigmoid(eps[i] - {shift}[i])) * sub;")
    return ("\n" + " " * 12).join(lines)


def emit_lrc(spec: ModelSpec, c: CBuilder) -> None:
    cfg = spec.config
    units, f, unfolds = int(cfg["hidden_size"]), spec.input_size, int(cfg.get("ode_unfolds", 1))
    update, cons = cfg.get("update", "explicit"), cfg.get("constraints", "clip")
    if update not in UPDATES:
        raise UnsupportedModelError(f"LRC update {update!r} is not supported (supported: {', '.join(UPDATES)})")
    s_sigma, s_mu = c.const("s_sigma", spec.tensor("sensory_sigma")), c.const("s_mu", spec.tensor("sensory_mu"))
    s_w = c.const("s_w", positive(spec.tensor("sensory_w"), cons))
    s_h = c.const("s_h", spec.tensor("sensory_h"))
    r_sigma, r_mu = c.const("sigma", spec.tensor("sigma")), c.const("mu", spec.tensor("mu"))
    r_w, r_h = c.const("w", positive(spec.tensor("w"), cons)), c.const("h", spec.tensor("h"))
    g, vleak = c.const("gleak", positive(spec.tensor("gleak"), cons)), c.const("vleak", spec.tensor("vleak"))
    elastance = _elastance_code(spec, c, cfg.get("elastance", "asymmetric"), units, cons)
    new_v = ("(eps[i] * drive + v[i]) / (1.0f + eps[i] * fi)" if update == "hybrid"
             else "v[i] + eps[i] * (drive - v[i] * fi)")
    c.line("{  /* LRC cell */")
    start = len(c.body)
    emit_input_mapping(spec, c, cfg.get("input_mapping", "affine"))
    c.lines(f"""
        float f_s[{units}], g_s[{units}];
        for (int i = 0; i < {units}; ++i) {{ f_s[i] = 0.0f; g_s[i] = 0.0f; }}
        for (int k = 0; k < {f}; ++k) {{
            const float uk = u[k];
            const float *sg = {s_sigma} + k * {units}, *mu = {s_mu} + k * {units};
            const float *w = {s_w} + k * {units}, *hh = {s_h} + k * {units};
        #pragma omp simd
            for (int i = 0; i < {units}; ++i) {{
                float a = eln_sigmoid(sg[i] * (uk - mu[i]));
                f_s[i] += w[i] * a;
                g_s[i] += hh[i] * a;
            }}
        }}
        float sub = dt / {unfolds}.0f;
        float *v = s;
        float cat[{f + units}], eps[{units}], fw[{units}], hw[{units}];
        eln_copy(cat, u, {f});
        (void)cat;
        for (int step = 0; step < {unfolds}; ++step) {{
            {elastance}
            for (int i = 0; i < {units}; ++i) {{ fw[i] = 0.0f; hw[i] = 0.0f; }}
            for (int j = 0; j < {units}; ++j) {{
                const float vj = v[j];
                const float *sg = {r_sigma} + j * {units}, *mu = {r_mu} + j * {units};
                const float *w = {r_w} + j * {units}, *hh = {r_h} + j * {units};
        #pragma omp simd
                for (int i = 0; i < {units}; ++i) {{
                    float a = eln_sigmoid(sg[i] * (vj - mu[i]));
                    fw[i] += w[i] * a;
                    hw[i] += hh[i] * a;
                }}
            }}
            for (int i = 0; i < {units}; ++i) {{
                float fi = eln_sigmoid({g}[i] + fw[i] + f_s[i]);
                float drive = {vleak}[i] * eln_tanhf({g}[i] + hw[i] + g_s[i]);
                v[i] = {new_v};
            }}
        }}""")
    out = emit_output_mapping(spec, c, cfg.get("output_mapping", "affine"), "v", units)
    emit_projection(spec, c, out, units)
    c.body[start:] = ["    " + ln if ln else ln for ln in c.body[start:]]
    c.line("}")
