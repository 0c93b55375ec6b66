"""The golden test as C: ``test_main.c`` replays an export's golden vectors through ``<name>_step``.

The generated file embeds golden.npz (inputs, dt, mask, the PyTorch outputs and final states) as
``static const`` arrays, steps each sequence from the zero state (a masked step is skipped: the state is held,
as in the export's rollout), and checks every real step's outputs with ``|y - ref| <= atol + rtol * max|ref|``
and each final state the same way (``max|ref|`` over the final states), with the tolerance the manifest's
verification states for fp32.

    int <name>_golden_run(<name>_golden_result_t *result);   /* 0 when every check passed */

Hosted builds (``__STDC_HOSTED__``) also get a ``main`` that prints the result and exits 0 or 1; freestanding
builds (a microcontroller, the emulator) call ``<name>_golden_run`` and read the result struct, eight 32-bit
words: failures, checked, worst sequence, worst step, worst output error, output bound, worst final-state
error, state bound (see :class:`GoldenResult`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.errors import UnsupportedModelError
from edgelnn.export.golden import GoldenVectors
from edgelnn.firmware_bench.codegen.emit import c_float

TEST_FILE = "test_main.c"
VALUES_PER_LINE = 8
RESULT_FORMAT = "<4i4f"  # the result struct: 4 ints then 4 floats, little-endian (x86-64 and Cortex-M)
RESULT_BYTES = struct.calcsize(RESULT_FORMAT)
INT8_MIN_RTOL = 0.02  # int8 golden bound: at least 2 % of max|ref| ...
INT8_DEFAULT_RTOL = 0.05  # ... and 5 % when the export verified no int8 artifact to take it from


@dataclass(frozen=True)
class GoldenResult:
    """What ``<name>_golden_run`` wrote into its result struct."""

    failures: int
    checked: int
    worst_sequence: int
    worst_step: int
    worst_error: float
    bound: float
    state_worst_error: float
    state_bound: float

    @property
    def passed(self) -> bool:
        return self.failures == 0 and self.checked > 0

    @classmethod
    def from_bytes(cls, data: bytes) -> GoldenResult:
        return cls(*struct.unpack(RESULT_FORMAT, bytes(data[:RESULT_BYTES])))

    def summary(self) -> str:
        head = "PASS" if self.passed else f"FAIL ({self.failures} of {self.checked} checks)"
        return (f"{head}: worst output error {self.worst_error:.3g} (bound {self.bound:.3g}) at sequence "
                f"{self.worst_sequence} step {self.worst_step}; worst final-state error "
                f"{self.state_worst_error:.3g} (bound {self.state_bound:.3g})")


def golden_tolerance(manifest: dict[str, Any], precision: str = "fp32") -> tuple[float, float]:
    """(atol, rtol) the golden test checks with.

    fp32: the manifest's verification tolerance. int8: the fp32 atol, and an rtol of twice the worst relative
    output error (max |artifact - pytorch| / max|pytorch|, free-running) of the export's verified
    int8-dynamic artifacts (the same scheme as the C: int8 weights, inputs quantized per call, float
    activations), or of all its int8 artifacts when it has no int8-dynamic one; at least INT8_MIN_RTOL;
    INT8_DEFAULT_RTOL when the export has no int8 artifact. Taking every int8 artifact would let
    full-integer LTC artifacts (a third to half of their accuracy lost) set a bound that hides a broken C.
    """
    verification = manifest.get("verification") or {}
    atol, rtol = float(verification.get("atol", 1e-4)), float(verification.get("rtol", 1e-4))
    if precision == "fp32":
        return atol, rtol
    if precision != "int8":
        raise UnsupportedModelError(f"golden-vector tolerance for precision {precision!r} is not defined "
                                    "(fp32, int8)")
    verified = [a for a in manifest.get("artifacts", []) if str(a.get("precision", "")).startswith("int8")
                and (a.get("parity") or {}).get("reference_max_abs")]
    same_scheme = [a for a in verified if a["precision"] == "int8-dynamic"]
    relative = [a["parity"]["max_abs_error"] / a["parity"]["reference_max_abs"] for a in same_scheme or verified]
    return atol, max(INT8_MIN_RTOL, 2.0 * max(relative)) if relative else INT8_DEFAULT_RTOL


def _array(ctype: str, ident: str, values: np.ndarray, fmt) -> str:
    flat = np.asarray(values).ravel()
    rows = [", ".join(fmt(v) for v in flat[i : i + VALUES_PER_LINE]) for i in range(0, flat.size, VALUES_PER_LINE)]
    inner = ",\n    ".join(rows) or "0"
    return f"static const {ctype} {ident}[{max(flat.size, 1)}] = {{\n    {inner}\n}};"


def _check_shapes(golden: GoldenVectors, input_size: int, state_size: int, output_size: int) -> None:
    n, t = golden.mask.shape
    expected = {"x": (n, t, input_size), "dt": (n, t), "y": (n, t, output_size), "state_final": (n, state_size)}
    for key, shape in expected.items():
        if tuple(getattr(golden, key).shape) != shape:
            raise UnsupportedModelError(f"golden vectors: {key} has shape {tuple(getattr(golden, key).shape)}, the "
                                        f"model needs {shape}")
    if golden.steps == 0:
        raise UnsupportedModelError("golden vectors hold no real step")


def golden_test_c(name: str, golden: GoldenVectors, atol: float, rtol: float, *, input_size: int,
                  state_size: int, output_size: int) -> str:
    """The text of ``test_main.c`` for the generated model ``name`` (see the module docstring)."""
    _check_shapes(golden, input_size, state_size, output_size)
    n, t = golden.mask.shape
    mask = golden.mask.astype(bool)
    ref_max = float(np.abs(golden.y[mask]).max())
    state_max = float(np.abs(golden.state_final).max())
    bound = float(np.float32(atol + rtol * ref_max))
    state_bound = float(np.float32(atol + rtol * state_max))
    up = name.upper()
    arrays = "\n\n".join([
        _array("float", f"{name}_golden_x", golden.x, c_float),
        _array("float", f"{name}_golden_dt", golden.dt, c_float),
        _array("unsigned char", f"{name}_golden_mask", mask.astype(np.uint8), lambda v: str(int(v))),
        _array("float", f"{name}_golden_y", golden.y, c_float),
        _array("float", f"{name}_golden_state", golden.state_final, c_float),
    ])
    return f"""/* {TEST_FILE}: golden-vector test of {name}, generated by edgelnn.firmware_bench.golden_c.
 * {n} sequences x {t} steps ({golden.steps} real steps) of a free-running PyTorch rollout; every real step's
 * outputs must be within atol + rtol * max|ref| = {atol:g} + {rtol:g} * {ref_max:.6g} of the reference, and
 * each final state within {atol:g} + {rtol:g} * {state_max:.6g}.
 * Hosted: `main` prints the result and exits 0 (pass) or 1. Freestanding: call {name}_golden_run. */
#include "{name}.h"

#define {up}_GOLDEN_SEQUENCES {n}
#define {up}_GOLDEN_STEPS {t}

/* Eight 32-bit words, read by the emulator after a freestanding run. */
typedef struct {{
    int failures;          /* checks that exceeded their bound (a NaN fails too) */
    int checked;           /* values checked: outputs of real steps plus final-state entries */
    int worst_sequence;    /* where the largest output error relative to its bound was */
    int worst_step;
    float worst_error;     /* largest |y - ref| over the outputs */
    float bound;           /* atol + rtol * max|ref| of the outputs */
    float state_worst_error;
    float state_bound;
}} {name}_golden_result_t;

{arrays}

static float {name}_golden_abs(float v)
{{
    return v < 0.0f ? -v : v;
}}

int {name}_golden_run({name}_golden_result_t *result)
{{
    static {name}_state_t state;
    float y[{up}_OUTPUT_SIZE];
    const float bound = {c_float(bound)};
    const float state_bound = {c_float(state_bound)};
    result->failures = 0;
    result->checked = 0;
    result->worst_sequence = -1;
    result->worst_step = -1;
    result->worst_error = 0.0f;
    result->bound = bound;
    result->state_worst_error = 0.0f;
    result->state_bound = state_bound;
    for (int n = 0; n < {up}_GOLDEN_SEQUENCES; ++n) {{
        {name}_reset(&state);
        for (int k = 0; k < {up}_GOLDEN_STEPS; ++k) {{
            const int row = n * {up}_GOLDEN_STEPS + k;
            if (!{name}_golden_mask[row]) {{
                continue; /* past the end of this sequence: the state is held */
            }}
            {name}_step(&{name}_golden_x[row * {up}_INPUT_SIZE], {name}_golden_dt[row], &state, y);
            for (int o = 0; o < {up}_OUTPUT_SIZE; ++o) {{
                float err = {name}_golden_abs(y[o] - {name}_golden_y[row * {up}_OUTPUT_SIZE + o]);
                result->checked += 1;
                if (!(err <= bound)) {{
                    result->failures += 1;
                }}
                if (!(err <= result->worst_error)) {{ /* NaN is recorded as the worst error */
                    result->worst_error = err;
                    result->worst_sequence = n;
                    result->worst_step = k;
                }}
            }}
        }}
        for (int i = 0; i < {up}_STATE_SIZE; ++i) {{
            float err = {name}_golden_abs(state.v[i] - {name}_golden_state[n * {up}_STATE_SIZE + i]);
            result->checked += 1;
            if (!(err <= state_bound)) {{
                result->failures += 1;
            }}
            if (!(err <= result->state_worst_error)) {{
                result->state_worst_error = err;
            }}
        }}
    }}
    return result->failures == 0 ? 0 : 1;
}}

#if defined(__STDC_HOSTED__) && __STDC_HOSTED__
#include <stdio.h>

int main(void)
{{
    {name}_golden_result_t r;
    int status = {name}_golden_run(&r);
    printf("{name} golden test: %s (%d of %d checks failed); worst output error %.3g (bound %.3g) at "
           "sequence %d step %d; worst final-state error %.3g (bound %.3g)\\n",
           status == 0 ? "PASS" : "FAIL", r.failures, r.checked, (double)r.worst_error, (double)r.bound,
           r.worst_sequence, r.worst_step, (double)r.state_worst_error, (double)r.state_bound);
    return status;
}}
#endif
"""


@dataclass(frozen=True)
class GoldenSources:
    """An export's model as C plus its golden test, as a firmware bundle ships them."""

    source: Any  # the generator's CSource (model C files, sizes, step symbol)
    golden: GoldenVectors
    atol: float
    rtol: float
    files: dict[str, str]  # the model's C files and TEST_FILE


def golden_sources(export_dir: str | Path, precision: str = "fp32", name: str | None = None,
                   golden: GoldenVectors | None = None) -> GoldenSources:
    """Generate the export's C at ``precision`` and the golden test replaying its golden vectors (``golden``
    overrides them, e.g. to check that a wrong expected value fails) with :func:`golden_tolerance`.

    Raises ArtifactLoadError when the export has no golden vectors, and the generator's errors.
    """
    from edgelnn.artifact import read_manifest
    from edgelnn.errors import ArtifactLoadError
    from edgelnn.export.golden import read_golden
    from edgelnn.firmware_bench.codegen import generate

    manifest = read_manifest(export_dir)
    if golden is None:
        if "golden" not in manifest:
            raise ArtifactLoadError(f"{export_dir} has no golden vectors (no 'golden' entry in manifest.json); "
                                    "re-export it with this edgelnn version")
        golden = read_golden(export_dir, manifest["golden"])
    src = generate(export_dir, precision, name)  # checks the checkpoint (presence, sha256) and the model options
    atol, rtol = golden_tolerance(manifest, precision)
    test = golden_test_c(src.name, golden, atol, rtol, input_size=src.input_size, state_size=src.state_size,
                         output_size=src.output_size)
    return GoldenSources(src, golden, atol, rtol, {**src.files, TEST_FILE: test})


def golden_symbol(name: str) -> str:
    """The freestanding entry of the golden test, ``<name>_golden_run``."""
    return f"{name}_golden_run"


def run_golden_emulated(c_files: dict[str, str], name: str, core: Any, *, build_dir: str | Path | None = None,
                        instruction_budget: int = 2_000_000_000) -> GoldenResult:
    """Cross-compile ``c_files`` (the model and test_main.c) for ``core``, run ``<name>_golden_run`` in the
    emulator and return its result struct (needs the ``mcu`` extra)."""
    import tempfile

    from edgelnn.firmware_bench.mcu.emulator import Emulator
    from edgelnn.firmware_bench.mcu.toolchain import compile_elf

    symbol = golden_symbol(name)
    with tempfile.TemporaryDirectory(prefix="edgelnn-golden-") as tmp:
        out = Path(build_dir) if build_dir is not None else Path(tmp)
        elf = compile_elf(c_files, core, [symbol], out, name=f"{name}-golden-{getattr(core, 'name', core)}")
        emu = Emulator(elf, core)
    buffer = emu.allocate(RESULT_BYTES)
    emu.call(symbol, [buffer], instruction_budget=instruction_budget)
    return GoldenResult.from_bytes(emu.read(buffer, RESULT_BYTES))
