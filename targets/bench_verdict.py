"""Fits / does-not-fit verdict of one benchmarked backend against a target profile's memory budgets.

Which numbers are compared (and what they are not):

- flash: the artifact file's size vs ``flash_bytes``. On a microcontroller the model flatbuffer sits in
  flash; the interpreter's own code (TFLite Micro: some tens of KB) is not counted.
- RAM, mcu targets: an upper estimate of device RAM = TFLite Micro arena (holds the model's input,
  output and intermediate tensors) + a persistent copy of the state + host-side x, dt and y buffers, vs
  ``ram_bytes``. Only the tflm backend measures an arena; host RSS says nothing about a microcontroller,
  so other backends get "unknown" for RAM there.
- RAM, cpu/gpu targets: the peak RSS of the backend's own child process (the whole Python process:
  interpreter, numpy, edgelnn.runtime with what it imports, the runtime library and the model) vs
  ``ram_bytes`` when the profile sets one. This is host memory, not a GPU's device memory, and it is
  measured on this host, not on the stand-in device (same libraries, other CPU architecture).

A check whose budget the profile leaves unset does not count. The verdict is "does not fit" when any
counted check fails, "unknown" when a counted check has no measurement (or the backend failed, or the
profile sets no budget at all), and "fits" when every counted check passes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FITS, DOES_NOT_FIT, UNKNOWN = "fits", "does not fit", "unknown"


def _dtype_bytes(spec: dict[str, Any]) -> int:
    return int(np.dtype(spec.get("dtype", "float32")).itemsize)


def _width(spec: dict[str, Any]) -> int:
    return int(np.prod([d for d in spec["shape"] if isinstance(d, int)] or [1]))


def io_state_bytes(artifact: dict[str, Any] | None, manifest: dict[str, Any]) -> tuple[int, int]:
    """(state bytes, x + dt + y bytes) at batch 1, in the artifact's own tensor dtypes (float32 if unknown)."""
    specs = {}
    for spec in manifest["signature"]["inputs"] + manifest["signature"]["outputs"]:
        specs[spec["name"]] = spec
    if artifact is not None:
        for spec in artifact.get("inputs", []) + artifact.get("outputs", []):
            specs[spec["name"]] = spec
    size = {name: _width(s) * _dtype_bytes(s) for name, s in specs.items()}
    return size.get("state", 0), size.get("x", 0) + size.get("dt", 0) + size.get("y", 0)


def _check(resource: str, measured: str, value: int | None, budget: int | None) -> dict[str, Any]:
    fits = None if value is None or budget is None else bool(value <= budget)
    return {"resource": resource, "measured": measured, "bytes": value, "budget_bytes": budget, "fits": fits}


def verdict(result: dict[str, Any], profile: dict[str, Any], manifest: dict[str, Any],
            artifact: dict[str, Any] | None) -> dict[str, Any]:
    """The verdict of one backend result (a bench JSON row) against ``profile`` (its JSON form)."""
    ram, flash = profile.get("ram_bytes"), profile.get("flash_bytes")
    checks = [_check("flash", "artifact file size", result.get("artifact_bytes"), flash)]
    if profile.get("kind") == "mcu":
        arena = result.get("arena_bytes")
        if arena is None:
            checks.append(_check("ram", "no device RAM estimate (only tflm measures an arena; host RSS is not "
                                        "microcontroller RAM)", None, ram))
        else:
            state, io = io_state_bytes(artifact, manifest)
            checks.append(_check("ram", f"tflm arena {arena} + state {state} + x/dt/y buffers {io}",
                                 arena + state + io, ram))
    else:
        checks.append(_check("ram", "peak RSS of the backend's child process (whole Python process on the host)",
                             result.get("peak_rss_bytes"), ram))
    counted = [c["fits"] for c in checks if c["budget_bytes"] is not None]
    if result.get("status") != "ok" or not counted:
        overall = UNKNOWN
    elif False in counted:
        overall = DOES_NOT_FIT
    elif None in counted:
        overall = UNKNOWN
    else:
        overall = FITS
    return {"verdict": overall, "checks": checks}
