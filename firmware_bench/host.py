"""Host "c" backend: compile generated C into a shared library (cached) and step it through ctypes.

    runner = CStepRunner.from_export("artifacts/cfc")
    y, state = runner(x, state, dt)             # float32 [B,F], [B,S], [B,1] -> [B,O], [B,S]

Compiler: ``cc`` (or ``gcc``) on PATH, else ``python -m ziglang cc``; flags ``-O2 -std=c99 -fPIC -shared
-fopenmp-simd -fno-trapping-math -ffp-contract=off``, plus ``-march=native`` on x86-64. No -ffast-math: the
math must match the float model; -ffp-contract=off keeps every a * b + c two roundings with clang too (gcc
already does so in ISO C mode), so gcc and ziglang builds compute the same thing. -fno-trapping-math and
-march=native change no operation's result, only whether and how wide the loops are vectorized:

- -fno-trapping-math says nothing reads the floating-point exception flags (clang's default); without it
  gcc does not if-convert the selects in expf/sigmoid/tanh, so those loops stay scalar;
- -march=native lets the host build use AVX2/AVX-512 (reductions then sum in 8 or 16 lanes instead of 4,
  a rounding-level difference); the cache key includes this CPU's identity, so a copied export directory
  recompiles on another machine instead of running foreign instructions.

Measured here (Xeon, gcc 12, best of 300 blocks of steps): LTC-64 6 unfolds 134 us (strict) -> 44 us
(-fno-trapping-math) -> 18 us (-march=native); CfC-64 5.0 -> 3.5 -> 2.6 us.

The library is cached as ``<export>/.edgelnn-c-cache/<sha256 of compiler, flags and sources>.so`` (written
to a temporary name and renamed, so a crash never leaves half a library), so a second load of the same
export does not compile.
Calls go through ctypes with c_void_p arguments whose addresses are converted once into preallocated
buffers (passing ``arr.ctypes`` per call costs microseconds); rows of a batch are looped in C.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgelnn.errors import CompileError, CompilerNotFoundError
from edgelnn.firmware_bench.codegen import CSource, generate

FLAGS = ("-O2", "-std=c99", "-fPIC", "-shared", "-fopenmp-simd", "-fno-trapping-math", "-ffp-contract=off")
NATIVE_FLAGS = ("-march=native",) if platform.machine().lower() in ("x86_64", "amd64") else ()
CACHE_DIRNAME = ".edgelnn-c-cache"
COMPILE_TIMEOUT_S = 300
ERROR_LINES = 12  # compiler output lines quoted in a CompileError
F32 = np.dtype(np.float32)


def find_compiler() -> list[str]:
    """The host C compiler command: $CC, cc or gcc on PATH, else ``python -m ziglang cc``."""
    env = os.environ.get("CC")
    if env and shutil.which(env.split()[0]):
        return env.split()
    for name in ("cc", "gcc"):
        path = shutil.which(name)
        if path:
            return [path]
    if importlib.util.find_spec("ziglang") is not None:
        return [sys.executable, "-m", "ziglang", "cc"]
    raise CompilerNotFoundError("the c backend needs a C compiler: install cc/gcc, or pip install ziglang")


def host_wrapper(src: CSource) -> tuple[str, str]:
    """(file name, text) of the host-only batch loop over ``<name>_step_p`` (not for microcontrollers)."""
    n = src.name
    text = f"""/* {n}_host.c: batch loop for the host "c" backend (uses libc's memcpy). */
#include <string.h>
#include "{n}.h"

void {n}_host_rows(int rows, const float *x, const float *dt, const float *state_in, float *state_out, float *y)
{{
    for (int r = 0; r < rows; ++r) {{
        float *s = state_out + (size_t)r * {src.state_size};
        if (state_in != state_out) {{
            memcpy(s, state_in + (size_t)r * {src.state_size}, sizeof(float) * {src.state_size});
        }}
        {n}_step_p(x + (size_t)r * {src.input_size}, dt + r, s, y + (size_t)r * {src.output_size});
    }}
}}

/* One streaming step of `rows` samples with the state updated in place, for StreamingModel.step():
 * counts the x values outside [lo, hi] (elementwise bounds of x's shape) in the same pass. Returns -1 and
 * steps nothing when x holds NaN or Inf (they fail both bounds, and x - x is then not 0), else the count. */
int {n}_host_stream(int rows, const float *x, const float *dt, float *state, float *y, const float *lo,
                    const float *hi)
{{
    const int n = rows * {src.input_size};
    int outside = 0;
    for (int i = 0; i < n; ++i) {{
        outside += !(x[i] >= lo[i]) + !(x[i] <= hi[i]);
    }}
    if (outside) {{
        for (int i = 0; i < n; ++i) {{
            if (x[i] - x[i] != 0.0f) {{
                return -1;
            }}
        }}
    }}
    for (int r = 0; r < rows; ++r) {{
        {n}_step_p(x + (size_t)r * {src.input_size}, dt + r, state + (size_t)r * {src.state_size},
                   y + (size_t)r * {src.output_size});
    }}
    return outside;
}}
"""
    return f"{n}_host.c", text


def host_cpu_id() -> str:
    """This machine's CPU model and feature flags (what -march=native compiles for), for the cache key."""
    parts = [platform.machine()]
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "flags", "Features", "CPU part")):
                    parts.append(line.strip())
                if line.strip() == "":  # the first processor's block is enough
                    break
    except OSError:
        parts.append(platform.processor())
    return "\n".join(parts)


def _cache_key(compiler: list[str], flags: tuple[str, ...], files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for part in (*compiler, *flags, host_cpu_id() if NATIVE_FLAGS else ""):
        digest.update(part.encode() + b"\0")
    for fname in sorted(files):
        digest.update(fname.encode() + b"\0" + files[fname].encode() + b"\0")
    return digest.hexdigest()


def build_library(src: CSource, cache_dir: str | Path, compiler: list[str] | None = None) -> tuple[Path, bool]:
    """Compile ``src`` (plus the host batch loop) into ``cache_dir``; (path of the .so, whether it compiled).

    An existing library with the same key (compiler, flags, sources) is reused without compiling.
    """
    compiler = find_compiler() if compiler is None else compiler
    flags = (*FLAGS, *NATIVE_FLAGS)
    wrapper_name, wrapper = host_wrapper(src)
    files = {**src.files, wrapper_name: wrapper}
    cache_dir = Path(cache_dir)
    lib = cache_dir / f"{_cache_key(compiler, flags, files)}.so"
    if lib.is_file():
        return lib, False
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="build-", dir=cache_dir) as tmp:
        for fname, text in files.items():
            Path(tmp, fname).write_text(text)
        out = Path(tmp, "lib.so")
        sources = [fname for fname in files if fname.endswith(".c")]
        cmd = [*compiler, *flags, "-o", str(out), *sources]
        try:
            proc = subprocess.run(cmd, cwd=tmp, check=False, capture_output=True, text=True,
                                  timeout=COMPILE_TIMEOUT_S)
        except FileNotFoundError as err:
            raise CompilerNotFoundError(f"C compiler {compiler[0]!r} cannot be run: {err}") from None
        except subprocess.TimeoutExpired:
            raise CompileError(f"{' '.join(compiler)} did not finish within {COMPILE_TIMEOUT_S} s") from None
        if proc.returncode != 0 or not out.is_file():
            lines = (proc.stderr or proc.stdout).strip().splitlines()[:ERROR_LINES]
            raise CompileError(f"{' '.join(compiler)} failed (exit {proc.returncode}) on {src.name}:\n"
                               + "\n".join(lines))
        os.replace(out, lib)
    return lib, True


def default_cache_dir(export_dir: Path) -> Path:
    """``<export>/.edgelnn-c-cache`` where the export directory is writable, else a per-user cache."""
    if os.access(export_dir, os.W_OK):
        return export_dir / CACHE_DIRNAME
    base = Path(os.environ.get("EDGELNN_CACHE") or Path.home() / ".cache" / "edgelnn")
    return base / "c"


class CStepRunner:
    """StepRunner over a compiled model: ``(x [B,F], state [B,S], dt [B,1]) -> (y [B,O], state [B,S])``.

    Inputs are copied into preallocated buffers whose addresses were converted once; outputs are returned
    as fresh arrays (the caller may keep them).
    """

    def __init__(self, src: CSource, library: Path, compiled: bool) -> None:
        self.source = src
        self.library = library
        self.compiled = compiled  # False: loaded from the cache without compiling
        self._lib = ctypes.CDLL(str(library))
        fn = getattr(self._lib, f"{src.name}_host_rows")
        fn.argtypes = [ctypes.c_int, *([ctypes.c_void_p] * 5)]
        fn.restype = None
        self._fn = fn
        self.input_size, self.state_size, self.output_size = src.input_size, src.state_size, src.output_size
        self._rows = 0
        self._allocate(1)

    @classmethod
    def from_export(cls, export_dir: str | Path, cache_dir: str | Path | None = None,
                    name: str | None = None, precision: str = "fp32") -> CStepRunner:
        """Generate (at ``precision``), compile (or reuse the cached library) and load the model of
        ``export_dir``."""
        export_dir = Path(export_dir)
        src = generate(export_dir, precision, name)
        lib, compiled = build_library(src, default_cache_dir(export_dir) if cache_dir is None else cache_dir)
        return cls(src, lib, compiled)

    def _allocate(self, rows: int) -> None:
        self._rows = rows
        self._x = np.zeros((rows, self.input_size), F32)
        self._dt = np.zeros((rows, 1), F32)
        self._s_in = np.zeros((rows, self.state_size), F32)
        self._s_out = np.zeros((rows, self.state_size), F32)
        self._y = np.zeros((rows, self.output_size), F32)
        self._args = (rows, *(a.ctypes.data for a in (self._x, self._dt, self._s_in, self._s_out, self._y)))

    def bind_stream(self, x: np.ndarray, dt: np.ndarray, state: np.ndarray, y: np.ndarray, lo: np.ndarray,
                    hi: np.ndarray) -> Callable[[], int]:
        """A zero-argument call that steps the caller's own buffers in place: reads x [B,F] and dt [B,1],
        updates state [B,S], writes y [B,O], and returns how many x values lie outside the elementwise
        bounds lo/hi [B,F] (-1, with nothing stepped, when x holds NaN or Inf).

        This is StreamingModel.step()'s path: one C call does the range test and the step, with no copies
        of state or outputs. The buffers' addresses are taken once; the call keeps the arrays alive, and
        the caller must keep them in place (copy into them, never rebind them).
        """
        rows = x.shape[0]
        shapes = {"x": (x, (rows, self.input_size)), "dt": (dt, (rows, 1)), "state": (state, (rows, self.state_size)),
                  "y": (y, (rows, self.output_size)), "lo": (lo, (rows, self.input_size)),
                  "hi": (hi, (rows, self.input_size))}
        for what, (arr, shape) in shapes.items():
            if arr.dtype != F32 or arr.shape != shape or not arr.flags.c_contiguous or not arr.flags.writeable:
                raise ValueError(f"bind_stream: {what} must be a writable C-contiguous float32 array of shape "
                                 f"{list(shape)}; got {arr.dtype} {list(arr.shape)}")
        fn = getattr(self._lib, f"{self.source.name}_host_stream")
        fn.argtypes = [ctypes.c_int, *([ctypes.c_void_p] * 6)]
        fn.restype = ctypes.c_int
        arrays = (x, dt, state, y, lo, hi)
        call = functools.partial(fn, rows, *(a.ctypes.data for a in arrays))
        call.buffers = arrays  # keeps the arrays (and so the addresses) alive as long as the call
        return call

    def __call__(self, x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = x.shape[0]
        if rows != self._rows:
            self._allocate(rows)
        self._x[...] = x
        self._s_in[...] = state
        self._dt[...] = dt
        self._fn(*self._args)
        return self._y.copy(), self._s_out.copy()

