"""C99 code generation for exported edgelnn models (CfC, LTC, LRC, LSTM, GRU), fp32.

    from edgelnn.firmware_bench.codegen import generate
    src = generate("artifacts/cfc")            # reads manifest.json + model.safetensors only
    src.write("build/cfc")                     # cfc.h, cfc.c, edgelnn_math.h, edgelnn_ops.h

What the generated C provides (``<name>`` defaults to the model kind, e.g. ``cfc``):

- ``<name>_state_t``: a struct holding the flat float state ``v[<NAME>_STATE_SIZE]`` in the manifest's
  ``state_layout`` order (named slices as ``<NAME>_STATE_<SLICE>_OFFSET`` / ``_SIZE`` macros);
- ``void <name>_reset(<name>_state_t *state)``: zero state;
- ``void <name>_step(const float *x, float dt, <name>_state_t *state, float *y)``: one step, exactly the
  computation of ``model.step(x, state, dt)`` (ODE solver and unfolds as fixed in the export);
- ``void <name>_step_p(const float *x, const float *dt, float *state, float *y)``: the same with pointer
  arguments only (one calling convention for soft- and hard-float ARM ABIs: r0-r3).

Precisions: "fp32" and "int8", every kind. At int8 each matrix product's weights are int8 with one float
scale per output row, packed at generation time for SXTB16/SMLAD (bytes w0, w2, w1, w3 per word), its input
quantized per call (one scale), int32 sums; on Cortex-M4/M7 (``__ARM_FEATURE_SIMD32``) the inner loop uses
``__sxtb16``/``__smlad``. LTC's and LRC's recurrent sigmoid synapses (their cost: units^2 per unfold) run in
fixed point (int16 differences, a Q14 sigmoid table, int8 weights, int32 sums; see ``synapses.py``); their
sensory synapses, activations, state, the ODE solver's division and all elementwise math stay float.

Weights are ``static const`` arrays (flash on a microcontroller). The code is C99 and freestanding: the
math it needs (exp, tanh, sigmoid, log1p, softplus) comes from ``edgelnn_math.h``, whose measured error
bounds are recorded in that header (and checked by tests/firmware_bench/test_mathlib.py). Reductions carry
``#pragma omp simd reduction(+:acc)``: compile with ``-fopenmp-simd`` to vectorize them on a host.
Options the generator cannot write raise :class:`edgelnn.errors.UnsupportedModelError` (e.g. a GELU
backbone, a precision other than fp32/int8).

On a host, :class:`edgelnn.firmware_bench.host.CStepRunner` compiles and steps the generated code through
ctypes (the runtime's ``load(export_dir, backend="c")``); tests/firmware_bench/test_codegen.py checks every
kind and its main options against ``model.step``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgelnn.errors import UnsupportedModelError
from edgelnn.firmware_bench.codegen.cfc import emit_cfc
from edgelnn.firmware_bench.codegen.emit import CBuilder, header_text, source_text
from edgelnn.firmware_bench.codegen.lrc import emit_lrc
from edgelnn.firmware_bench.codegen.ltc import emit_ltc
from edgelnn.firmware_bench.codegen.mathlib import support_headers
from edgelnn.firmware_bench.codegen.rnn import emit_gru, emit_lstm
from edgelnn.firmware_bench.codegen.source import ModelSpec, read_export

PRECISIONS = ("fp32", "int8")
# Model kind -> function that fills a CBuilder with the step body of that kind.
EMITTERS: dict[str, Callable[[ModelSpec, CBuilder], None]] = {
    "cfc": emit_cfc, "ltc": emit_ltc, "lrc": emit_lrc, "lstm": emit_lstm, "gru": emit_gru,
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

__all__ = ["PRECISIONS", "CSource", "generate", "generate_spec"]


@dataclass
class CSource:
    """Generated C for one model: file name -> text, and the step signature sizes."""

    name: str
    files: dict[str, str]
    input_size: int
    state_size: int
    output_size: int
    precision: str = "fp32"
    state_layout: list[dict[str, Any]] = field(default_factory=list)

    @property
    def step_symbol(self) -> str:
        """The pointer-only entry point, ``<name>_step_p``."""
        return f"{self.name}_step_p"

    def write(self, directory: str | Path) -> Path:
        """Write every file into ``directory`` (created if needed), each atomically; returns the directory."""
        from edgelnn.utils.atomic import atomic_write

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for fname, text in self.files.items():
            atomic_write(directory / fname, lambda tmp, text=text: Path(tmp).write_text(text), ".tmp")
        return directory


def generate_spec(spec: ModelSpec, precision: str = "fp32", name: str | None = None) -> CSource:
    """C source for an already read :class:`ModelSpec` (see :func:`generate`)."""
    if precision not in PRECISIONS:
        raise UnsupportedModelError(f"precision {precision!r} is not supported by the C generator yet "
                                    f"(supported: {', '.join(PRECISIONS)})")
    name = spec.kind if name is None else name
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"name={name!r} is not valid; it must be a C identifier (letters, digits, _)")
    if spec.kind not in EMITTERS:
        raise UnsupportedModelError(f"model kind {spec.kind!r} has no C generator "
                                    f"(supported: {', '.join(EMITTERS)})")
    builder = CBuilder(name, precision)
    EMITTERS[spec.kind](spec, builder)
    files = {f"{name}.h": header_text(spec, name), f"{name}.c": source_text(spec, name, builder),
             **support_headers()}
    return CSource(name=name, files=files, input_size=spec.input_size, state_size=spec.state_size,
                   output_size=spec.output_size, precision=precision, state_layout=spec.state_layout)


def generate(export_dir: str | Path, precision: str = "fp32", name: str | None = None) -> CSource:
    """C99 source of the step model in ``export_dir`` (its manifest.json and float checkpoint).

    ``name`` (a C identifier) prefixes every symbol and file; it defaults to the model kind.
    """
    return generate_spec(read_export(export_dir), precision, name)
