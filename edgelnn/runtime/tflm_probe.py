"""Child-process probe: the tensor arena a .tflite model needs in TFLite Micro.

Run as ``python tflm_probe.py MODEL.tflite`` (by path: it imports only numpy and tflite_micro, not edgelnn,
so it starts fast). A too-small arena can crash TFLM (segfault), which is why this runs apart from the
caller. Steps:

1. open the model with a generous arena, invoke once on zeros, and read the RecordingMicroAllocator's
   report (``print_allocations`` writes to C stderr, so fd 2 is captured);
2. binary-search the smallest arena (16-byte steps) with which the interpreter opens and invokes, between
   the recorded total (what the model's tensors and buffers take) and the generous size.

Every arena found to work is printed at once as one JSON line on stdout, so a crash mid-search still leaves
the caller the best size known so far. The last line holds the result.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile

import numpy as np
from tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema_fb

STEP = 16  # TFLM aligns arena allocations to 16 bytes
MIN_GENEROUS = 1 << 18  # 256 KiB
MAX_ARENA = 1 << 26  # 64 MiB: give up beyond this


def _emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _open_and_invoke(data: bytes, arena: int):
    """The interpreter after one invoke on zeros; RuntimeError when the arena is too small."""
    interp = runtime.Interpreter.from_bytes(data, arena_size=arena)
    for index in range(schema_fb.Model.GetRootAsModel(data, 0).Subgraphs(0).InputsLength()):
        detail = interp.get_input_details(index)
        interp.set_input(np.zeros(detail["shape"], detail["dtype"]), index)
    interp.invoke()
    return interp


def _works(data: bytes, arena: int) -> bool:
    try:
        _open_and_invoke(data, arena)
    except RuntimeError:
        return False
    return True


def _allocations(interp) -> dict:
    """Parse print_allocations() (captured from fd 2) into byte counts."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            interp.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    out: dict = {"breakdown": {}}
    for part in ("total", "head", "tail"):
        match = re.search(rf"Arena allocation {part} (\d+) bytes", text)
        if match:
            out[f"recorded_{part}_bytes"] = int(match.group(1))
    for name, used in re.findall(r"'([^']+)' used (\d+) bytes", text):
        out["breakdown"][name] = int(used)
    if "recorded_total_bytes" not in out:
        raise RuntimeError(f"no arena total in print_allocations output: {text[:200]!r}")
    return out


def main(path: str) -> int:
    with open(path, "rb") as f:
        data = f.read()
    generous = max(10 * len(data), MIN_GENEROUS)
    interp = None
    while interp is None:
        try:
            interp = _open_and_invoke(data, generous)
        except RuntimeError:
            if generous >= MAX_ARENA:
                raise
            generous *= 4
    record = {"arena_bytes": generous, **_allocations(interp)}
    del interp
    _emit(record)
    lo = record["recorded_total_bytes"] // STEP * STEP  # works only if the allocator needed no bookkeeping
    if _works(data, lo):
        record["arena_bytes"] = lo
    else:
        hi = generous
        while hi - lo > STEP:
            mid = (lo + hi) // 2 // STEP * STEP
            if _works(data, mid):
                hi = mid
                _emit({**record, "arena_bytes": hi})
            else:
                lo = mid
        record["arena_bytes"] = hi
    _emit({**record, "done": True})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
