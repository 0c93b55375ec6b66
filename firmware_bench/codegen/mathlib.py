"""The C support headers (package data in ``c/``) and the math error bounds recorded in edgelnn_math.h."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

SUPPORT_FILES = ("edgelnn_math.h", "edgelnn_ops.h")


def _read(fname: str) -> str:
    return resources.files("edgelnn.firmware_bench.codegen").joinpath("c", fname).read_text()


def support_headers() -> dict[str, str]:
    """File name -> text of the headers every generated model includes."""
    return {fname: _read(fname) for fname in SUPPORT_FILES}


@dataclass(frozen=True)
class ErrorBound:
    """A math function's measured maximum relative error over [lo, hi], as recorded in the header."""

    function: str
    lo: float
    hi: float
    max_rel_error: float


def error_bounds() -> dict[str, ErrorBound]:
    """The ``ERROR-TABLE`` rows of edgelnn_math.h: function -> its recorded bound (tests check them)."""
    bounds = {}
    for line in _read("edgelnn_math.h").splitlines():
        parts = line.replace("*", " ").split()
        if len(parts) == 5 and parts[0] == "ERROR-TABLE" and parts[1] != "function":
            bounds[parts[1]] = ErrorBound(parts[1], float(parts[2]), float(parts[3]), float(parts[4]))
    return bounds
