"""C text building blocks: weight arrays, the step body, and the .h/.c frame every model shares.

Each cell module (cfc, ltc, lrc, rnn) fills a :class:`CBuilder` with ``static const`` weight arrays and the
lines of the step body. The body sees ``const float *x`` (input), ``float dt``, ``float *s`` (the flat
state, updated in place, in the manifest's state_layout order) and ``float *y`` (output).
"""

from __future__ import annotations

import textwrap

import numpy as np

from edgelnn.errors import UnsupportedModelError
from edgelnn.firmware_bench.codegen.source import ModelSpec

VALUES_PER_LINE = 8


def c_float(value: float) -> str:
    """A C float literal that reads back as exactly this float32 (9 significant digits)."""
    v = float(np.float32(value))
    if not np.isfinite(v):
        raise UnsupportedModelError(f"a weight is {v}: the model cannot be written as C")
    text = f"{v:.9g}"
    if not any(ch in text for ch in ".en"):
        text += ".0"
    return text + "f"


# The C integer types const_ints writes, and the numpy type that gives their range and size.
C_INT_TYPES = {"int8_t": np.int8, "int16_t": np.int16, "uint16_t": np.uint16, "int32_t": np.int32}


class CBuilder:
    """Collects the weight arrays, helper functions and step-body lines of one generated model."""

    def __init__(self, name: str, precision: str = "fp32") -> None:
        self.name = name
        self.precision = precision
        self.arrays: list[str] = []
        self.helpers: list[str] = []
        self.body: list[str] = []
        self._names: set[str] = set()
        self.weight_count = 0
        self.int_bytes = 0  # bytes of integer arrays (fixed-point weights and tables)

    def _array(self, label: str, ctype: str, texts: list[str], per_line: int = VALUES_PER_LINE) -> str:
        """Add ``static const <ctype> <name>_<label>[n]`` with the given element texts; its identifier."""
        ident = f"{self.name}_{label}"
        if ident in self._names:
            raise ValueError(f"duplicate weight array {ident}")
        self._names.add(ident)
        rows = [", ".join(texts[i : i + per_line]) for i in range(0, len(texts), per_line)]
        inner = ",\n    ".join(rows)
        self.arrays.append(f"static const {ctype} {ident}[{max(len(texts), 1)}] = {{\n    {inner}\n}};")
        return ident

    def const(self, label: str, values: np.ndarray) -> str:
        """Add ``static const float <name>_<label>[n]`` (row-major) and return its identifier."""
        flat = np.asarray(values, dtype=np.float32).ravel()
        ident = self._array(label, "float", [c_float(v) for v in flat])
        self.weight_count += flat.size
        return ident

    def const_words(self, label: str, words: np.ndarray) -> str:
        """Add ``static const uint32_t <name>_<label>[n]`` (packed int8 weights) and return its identifier."""
        flat = np.asarray(words, dtype=np.uint32).ravel()
        ident = self._array(label, "uint32_t", [f"0x{int(v):08x}u" for v in flat])
        self.int_bytes += 4 * flat.size
        return ident

    def const_ints(self, label: str, values: np.ndarray, ctype: str) -> str:
        """Add ``static const <ctype> <name>_<label>[n]`` (int8_t, int16_t, uint16_t or int32_t, row-major)
        and return its identifier; values must fit the type."""
        if ctype not in C_INT_TYPES:
            raise ValueError(f"unsupported C integer type {ctype!r}")
        info = np.iinfo(C_INT_TYPES[ctype])
        flat = np.asarray(values).ravel().astype(np.int64)
        if flat.size and (flat.min() < info.min or flat.max() > info.max):
            raise ValueError(f"{self.name}_{label}: values outside {ctype}")
        ident = self._array(label, ctype, [str(int(v)) for v in flat], per_line=16)
        self.int_bytes += flat.size * info.bits // 8
        return ident

    def sigmoid_table(self) -> str:
        """The Q14 sigmoid table of the fixed-point synapses (added once per model); returns its identifier."""
        ident = f"{self.name}_sigmoid_q14"
        if ident not in self._names:
            from edgelnn.firmware_bench.codegen.synapses import sigmoid_table

            self.const_ints("sigmoid_q14", sigmoid_table(), "uint16_t")
        return ident

    def dense(self, label: str, weight: np.ndarray, bias: np.ndarray | None, inp: str, out: str,
              add: bool = False) -> str:
        """One C statement: ``out = W inp + b`` (``add``: ``out += W inp``), at the builder's precision.

        fp32: ``eln_dense``. int8: weights quantized per output row (symmetric, scale max|row| / 127) and
        packed four to a word in SXTB16/SMLAD order; the input is quantized on the fly (one scale per call),
        sums are int32 and the result is scaled back to float.
        """
        weight = np.asarray(weight, np.float32)
        rows, cols = weight.shape
        if self.precision == "fp32":
            w = self.const(f"{label}_w", weight)
            if add:
                return f"eln_dense_add({w}, {inp}, {rows}, {cols}, {out});"
            b = "NULL" if bias is None else self.const(f"{label}_b", bias)
            return f"eln_dense({w}, {b}, {inp}, {rows}, {cols}, {out});"
        words, scales = quantize_rows_q8(weight)
        w, s = self.const_words(f"{label}_q8", interleave_rows_q8(words)), self.const(f"{label}_scale", scales)
        cols4 = words.shape[1] * 4
        if add:
            b, fn = "NULL", "eln_dense_q8_add"
        else:
            b, fn = ("NULL" if bias is None else self.const(f"{label}_b", bias)), "eln_dense_q8"
        return (f"{{ uint32_t xq[{cols4 // 2}]; float xs = eln_quantize_q8({inp}, {cols}, {cols4}, xq); "
                f"{fn}({w}, {s}, {b}, xq, xs, {rows}, {cols4}, {out}); }}")

    def line(self, text: str = "") -> None:
        self.body.append(text)

    def lines(self, text: str, indent: int = 0) -> None:
        """Add several body lines (a dedented block of C, indented ``indent`` levels)."""
        pad = "    " * indent
        self.body.extend(pad + ln if ln else ln for ln in textwrap.dedent(text).strip("\n").split("\n"))

    def helper(self, text: str) -> None:
        """Add a static helper function defined before the step function."""
        self.helpers.append(textwrap.dedent(text).strip("\n"))


def quantize_rows_q8(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(packed words [rows, cols4 / 4] uint32, per-row float32 scales) of a float weight [rows, cols].

    Row r is scaled by max|W[r]| / 127 and rounded to int8 in [-127, 127]; columns are zero-padded to a
    multiple of 4, and each group of four (w0, w1, w2, w3) is stored as the bytes (w0, w2, w1, w3) of one
    little-endian word, so that SXTB16(word) = (w0, w1) and SXTB16(ROR(word, 8)) = (w2, w3): two SMLADs
    against the input pairs (x0, x1), (x2, x3) without reshuffling at run time.
    """
    weight = np.asarray(weight, np.float64)
    rows, cols = weight.shape
    peak = np.abs(weight).max(axis=1) if cols else np.zeros(rows)
    scales = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(weight / scales[:, None].astype(np.float64)), -127, 127).astype(np.int8)
    cols4 = -(-cols // 4) * 4
    padded = np.zeros((rows, cols4), np.int8)
    padded[:, :cols] = q
    grouped = padded.reshape(rows, cols4 // 4, 4)[:, :, [0, 2, 1, 3]]
    words = np.ascontiguousarray(grouped).view(np.uint8).reshape(rows, cols4 // 4, 4).astype(np.uint32)
    packed = words[..., 0] | (words[..., 1] << 8) | (words[..., 2] << 16) | (words[..., 3] << 24)
    return packed.astype(np.uint32), scales


def interleave_rows_q8(words: np.ndarray, block: int = 4) -> np.ndarray:
    """The packed words [rows, W] in the order eln_dense_q8 reads them (flat): rows in blocks of ``block``,
    each block word-major (word g of its rows side by side), then the remaining rows one after another."""
    words = np.asarray(words, np.uint32)
    full = words.shape[0] // block * block
    blocks = words[:full].reshape(-1, block, words.shape[1]).transpose(0, 2, 1).ravel()
    return np.concatenate([blocks, words[full:].ravel()]).astype(np.uint32)


ACTIVATIONS_C = {
    "lecun_tanh": "1.7159f * eln_tanhf(0.666f * {v})",
    "tanh": "eln_tanhf({v})",
    "relu": "({v} > 0.0f ? {v} : 0.0f)",
    "silu": "{v} / (1.0f + eln_expf(-{v}))",
}


def activation(name: str, var: str) -> str:
    """C expression applying activation ``name`` to ``var``; UnsupportedModelError where none is written."""
    if name not in ACTIVATIONS_C:
        raise UnsupportedModelError(f"activation {name!r} is not supported by the C generator "
                                    f"(supported: {', '.join(ACTIVATIONS_C)})")
    return ACTIVATIONS_C[name].format(v=var)


def emit_memory_lstm(spec: ModelSpec, c: CBuilder, hidden: int) -> None:
    """The mixed-memory LSTM before a liquid cell: updates h = s[0:H] and c = s[H:2H] in place."""
    w_in, b_in = spec.tensor("memory.input_map.weight"), spec.tensor("memory.input_map.bias")
    w_rec = spec.tensor("memory.recurrent_map.weight")
    first = c.dense("mem_in", w_in, b_in, "x", "z")
    second = c.dense("mem_rec", w_rec, None, "s", "z", add=True)
    c.lines(f"""
        {{  /* mixed memory: LSTM (input act, input gate, forget gate (+1), output gate) before the cell */
            float z[{4 * hidden}];
            {first}
            {second}
            for (int i = 0; i < {hidden}; ++i) {{
                float cell = s[{hidden} + i] * eln_sigmoid(z[{2 * hidden} + i] + 1.0f)
                             + eln_tanhf(z[i]) * eln_sigmoid(z[{hidden} + i]);
                s[{hidden} + i] = cell;
                s[i] = eln_tanhf(cell) * eln_sigmoid(z[{3 * hidden} + i]);
            }}
        }}""")


def emit_projection(spec: ModelSpec, c: CBuilder, core_out: str, core_size: int) -> None:
    """y = proj(core_out) when the model has a projection, else a copy of the core output."""
    if spec.has("proj.weight"):
        c.line(c.dense("proj", spec.tensor("proj.weight"), spec.tensor("proj.bias"), core_out, "y"))
    else:
        if core_size != spec.output_size:
            raise UnsupportedModelError(f"core output {core_size} differs from the output size {spec.output_size}")
        c.line(f"eln_copy(y, {core_out}, {core_size});")


def header_text(spec: ModelSpec, name: str) -> str:
    """``<name>.h``: sizes, the state struct with named slices, and the entry points."""
    up = name.upper()
    slices = "\n".join(f"#define {up}_STATE_{p['name'].upper()}_OFFSET {int(p['offset'])}\n"
                       f"#define {up}_STATE_{p['name'].upper()}_SIZE {int(p['size'])}" for p in spec.state_layout)
    return f"""/* {name}.h: generated by edgelnn.firmware_bench.codegen from an edgelnn export ({spec.kind}). */
#ifndef {up}_H
#define {up}_H

#define {up}_INPUT_SIZE {spec.input_size}
#define {up}_STATE_SIZE {spec.state_size}
#define {up}_OUTPUT_SIZE {spec.output_size}

/* Named slices of the flat state, in the export manifest's state_layout order. */
{slices}

typedef struct {{
    float v[{up}_STATE_SIZE]; /* flat state: the slices above, in order */
}} {name}_state_t;

/* Zero the state (the state every sequence starts from). */
void {name}_reset({name}_state_t *state);

/* One step: x[{up}_INPUT_SIZE], dt > 0 -> y[{up}_OUTPUT_SIZE]; the state is updated in place. */
void {name}_step(const float *x, float dt, {name}_state_t *state, float *y);

/* The same step with pointer arguments only (same call under soft- and hard-float ABIs): dt points to one
 * float, state to {up}_STATE_SIZE floats. */
void {name}_step_p(const float *x, const float *dt, float *state, float *y);

#endif /* {up}_H */
"""


def source_text(spec: ModelSpec, name: str, c: CBuilder) -> str:
    """``<name>.c``: weights as static const arrays (flash), helpers, reset and the two step entries."""
    definitions = "\n\n".join([*c.arrays, *c.helpers])
    body = "\n".join(("    " + ln) if ln else "" for ln in c.body)
    return f"""/* {name}.c: generated by edgelnn.firmware_bench.codegen from an edgelnn export ({spec.kind}).
 * {c.weight_count} float32 values, {c.int_bytes} bytes of integer weights and tables. C99, freestanding (no libc,
 * no libm). */
#include "{name}.h"
#include "edgelnn_math.h"
#include "edgelnn_ops.h"

{definitions}

void {name}_reset({name}_state_t *state)
{{
    for (int i = 0; i < {spec.state_size}; ++i) {{
        state->v[i] = 0.0f;
    }}
}}

void {name}_step(const float *x, float dt, {name}_state_t *state, float *y)
{{
    float *s = state->v;
    (void)dt;
{body}
}}

void {name}_step_p(const float *x, const float *dt, float *state, float *y)
{{
    {name}_step(x, *dt, ({name}_state_t *)state, y);
}}
"""
