"""LRC as C: sensory terms once per step, then K unfolds of the explicit or hybrid update with the
asymmetric, symmetric or constant elastance (edgelnn.models.lrc semantics).

Positive parameters (gleak, w, sensory_w, distr_shift) are transformed at generation time (softplus or, for
"clip" constraints, stored as they are).
"""

from __future__ import annotations

import numpy as np

from edgelnn.errors import UnsupportedModelError
from edgelnn.firmware_bench.codegen.emit import CBuilder, emit_projection
from edgelnn.firmware_bench.codegen.ltc import emit_input_mapping, emit_output_mapping, positive
from edgelnn.firmware_bench.codegen.source import ModelSpec
from edgelnn.firmware_bench.codegen.synapses import Synapses, emit_synapse_sums

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


def lrc_state_range(spec: ModelSpec, vleak: np.ndarray) -> float:
    """A bound on |v| for the fixed-point synapses: 4x the largest of 1, |vleak| and |mu|.

    v relaxes towards vleak tanh(.) / sigmoid(.); between those bounds the factor 4 leaves room for a weak
    leak (values beyond the bound saturate, where a synapse's sigmoid is nearly saturated anyway).
    """
    parts = [1.0, np.abs(vleak).max(initial=0.0), np.abs(spec.tensor("mu")).max(initial=0.0)]
    return 4.0 * float(max(parts))


def emit_lrc(spec: ModelSpec, c: CBuilder) -> None:
    """The LRC step. Precision int8: the recurrent synapses in fixed point (int8 weights, a sigmoid table);
    the sensory synapses, the elastance and the update in float."""
    cfg = spec.config
    units, f, unfolds = int(cfg["hidden_size"]), spec.input_size, int(cfg.get("ode_unfolds", 1))
    update, cons = cfg.get("update", "explicit"), cfg.get("constraints", "clip")
    if update not in UPDATES:
        raise UnsupportedModelError(f"LRC update {update!r} is not supported (supported: {', '.join(UPDATES)})")
    sensory = emit_synapse_sums(c, "sensory", Synapses(spec.tensor("sensory_sigma"), spec.tensor("sensory_mu"),
                                                       positive(spec.tensor("sensory_w"), cons),
                                                       spec.tensor("sensory_h")))
    recurrent = Synapses(spec.tensor("sigma"), spec.tensor("mu"), positive(spec.tensor("w"), cons),
                         spec.tensor("h"))
    vleak_values = spec.tensor("vleak")
    fixed = lrc_state_range(spec, vleak_values) if c.precision == "int8" else None
    synaptic = emit_synapse_sums(c, "synaptic", recurrent, fixed)
    g, vleak = c.const("gleak", positive(spec.tensor("gleak"), cons)), c.const("vleak", vleak_values)
    elastance = _elastance_code(spec, c, cfg.get("elastance", "asymmetric"), units, cons)
    new_v = ("(eps[i] * drive + v[i]) / (1.0f + eps[i] * fi)" if update == "hybrid"
             else "v[i] + eps[i] * (drive - v[i] * fi)")
    c.line("{  /* LRC cell */")
    start = len(c.body)
    emit_input_mapping(spec, c, cfg.get("input_mapping", "affine"))
    c.lines(f"""
        float f_s[{units}], g_s[{units}];
        {sensory}(u, f_s, g_s);
        float sub = dt / {unfolds}.0f;
        float *v = s;
        float cat[{f + units}], eps[{units}], fw[{units}], hw[{units}];
        eln_copy(cat, u, {f});
        (void)cat;
        for (int step = 0; step < {unfolds}; ++step) {{
            {elastance}
            {synaptic}(v, fw, hw);
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
