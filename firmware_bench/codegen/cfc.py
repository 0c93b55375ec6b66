"""CfC as C: backbone, the closed-form update (modes default, no_gate, pure), NCP layers, mixed memory.

Mirrors edgelnn.models.cfc: z = backbone(cat[x, h]); heads ff1, ff2, time_a, time_b stacked in one weight
([4H, width], as ``CfCBlock.head_weights``) so one dense call computes them; a wiring's sparsity mask is
multiplied into ff1/ff2 at generation time (masked weights are exact zeros, as in torch).
"""

from __future__ import annotations

import numpy as np

from edgelnn.errors import UnsupportedModelError
from edgelnn.firmware_bench.codegen.emit import CBuilder, activation, emit_memory_lstm, emit_projection
from edgelnn.firmware_bench.codegen.source import ModelSpec

MODES = ("default", "no_gate", "pure")


def _backbone_layers(spec: ModelSpec, block: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The Linear layers of block ``block``'s backbone, in order (Sequential indices skip activations)."""
    prefix = f"blocks.{block}.backbone."
    indices = sorted({int(k[len(prefix):].split(".")[0]) for k in spec.tensors if k.startswith(prefix)})
    return [(spec.tensor(f"{prefix}{i}.weight"), spec.tensor(f"{prefix}{i}.bias")) for i in indices]


def _emit_block(spec: ModelSpec, c: CBuilder, block: int, inp: str, n_in: int, h: str, hidden: int,
                act: str, mode: str) -> None:
    """One CfC block: reads ``inp`` [n_in] and its state slice ``h`` [hidden], writes the new h in place."""
    p = f"blocks.{block}."
    mask = spec.tensor(p + "sparsity_mask") if spec.has(p + "sparsity_mask") else None
    c.line(f"{{  /* CfC block {block}: {n_in} inputs, {hidden} neurons, mode {mode} */")
    # Each backbone layer's input lives in an inner scope that ends once the layer is computed, so the
    # compiler can reuse its stack for the heads (the stack is most of a microcontroller's RAM figure).
    layers = _backbone_layers(spec, block)
    cat = [f"float cat[{n_in + hidden}];", f"eln_copy(cat, {inp}, {n_in});", f"eln_copy(cat + {n_in}, {h}, {hidden});"]
    feat = "cat"
    if not layers:
        for text in cat:
            c.line("    " + text)
    for i, (w, b) in enumerate(layers):
        units = w.shape[0]
        c.line(f"    float z{i}[{units}];")
        c.line("    {")
        for text in cat if i == 0 else []:
            c.line("        " + text)
        c.line("        " + c.dense(f"b{block}_bb{i}", w, b, feat, f"z{i}"))
        c.line("    }")
        c.line(f"    for (int i = 0; i < {units}; ++i) z{i}[i] = {activation(act, f'z{i}[i]')};")
        feat = f"z{i}"
    ff1_w = spec.tensor(p + "ff1.weight")
    if mask is not None:
        ff1_w = ff1_w * mask
    if mode == "pure":
        ff1 = c.dense(f"b{block}_ff1", ff1_w, spec.tensor(p + "ff1.bias"), feat, "ff1")
        tau = c.const(f"b{block}_abs_w_tau", np.abs(spec.tensor(p + "w_tau")).ravel())
        big_a = c.const(f"b{block}_A", spec.tensor(p + "A").ravel())
        c.lines(f"""
            float ff1[{hidden}];
            {ff1}
            for (int i = 0; i < {hidden}; ++i) {{
                float a = ff1[i] < 0.0f ? -ff1[i] : ff1[i];
                {h}[i] = -{big_a}[i] * eln_expf(-dt * ({tau}[i] + a)) * ff1[i] + {big_a}[i];
            }}""", indent=1)
        c.line("}")
        return
    ff2_w = spec.tensor(p + "ff2.weight")
    if mask is not None:
        ff2_w = ff2_w * mask
    heads_w = np.concatenate([ff1_w, ff2_w, spec.tensor(p + "time_a.weight"), spec.tensor(p + "time_b.weight")])
    heads_b = np.concatenate([spec.tensor(p + n) for n in ("ff1.bias", "ff2.bias", "time_a.bias", "time_b.bias")])
    heads = c.dense(f"b{block}_heads", heads_w, heads_b, feat, "heads")
    update = "ff1 + gate * ff2" if mode == "no_gate" else "ff1 * (1.0f - gate) + gate * ff2"
    c.lines(f"""
            float heads[{4 * hidden}];
            {heads}
            for (int i = 0; i < {hidden}; ++i) {{
                float ff1 = eln_tanhf(heads[i]);
                float ff2 = eln_tanhf(heads[{hidden} + i]);
                float gate = eln_sigmoid(heads[{2 * hidden} + i] * dt + heads[{3 * hidden} + i]);
                {h}[i] = {update};
            }}""", indent=1)
    c.line("}")


def emit_cfc(spec: ModelSpec, c: CBuilder) -> None:
    """The CfC step body (fully connected with backbone, or one masked block per wiring layer)."""
    cfg = spec.config
    mode, hidden = cfg.get("mode", "default"), int(cfg["hidden_size"])
    if mode not in MODES:
        raise UnsupportedModelError(f"CfC mode {mode!r} is not supported (supported: {', '.join(MODES)})")
    blocks = sorted({int(k.split(".")[1]) for k in spec.tensors if k.startswith("blocks.")})
    sizes = [spec.tensor(f"blocks.{b}.ff1.weight").shape[0] for b in blocks]
    if sum(sizes) != hidden:
        raise UnsupportedModelError(f"CfC layer sizes {sizes} do not add up to hidden_size {hidden}")
    if cfg.get("mixed_memory"):
        emit_memory_lstm(spec, c, hidden)
    wired = len(blocks) > 1 or cfg.get("wiring") is not None
    act = "lecun_tanh" if wired else cfg.get("activation", "lecun_tanh")
    inp, n_in, offset = "x", spec.input_size, 0
    for block, size in zip(blocks, sizes):
        _emit_block(spec, c, block, inp, n_in, f"(s + {offset})", size, act, mode)
        inp, n_in, offset = f"(s + {offset})", size, offset + size
    emit_projection(spec, c, inp, n_in)
