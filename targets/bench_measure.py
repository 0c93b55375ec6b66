"""Timing and memory helpers for the bench child: latency percentiles, throughput, peak RSS.

Everything here runs inside one child process per backend, so peak RSS is that process's own.

Peak RSS on Linux is ``VmHWM`` from /proc/self/status, not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux
carries ru_maxrss across fork + exec, so a child of a parent that holds 230 MB (e.g. torch imported)
starts with ru_maxrss >= 230 MB although its own image holds 11 MB (measured here). VmHWM belongs to the
process's current memory map, which exec replaces. Elsewhere ru_maxrss is the fallback.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

StepFn = Callable[[int], Any]  # called with the step index; does one step


def _vm_hwm() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_source() -> str:
    """Which number :func:`peak_rss_bytes` reports here."""
    return "VmHWM (/proc/self/status)" if _vm_hwm() is not None else "getrusage(RUSAGE_SELF).ru_maxrss"


def peak_rss_bytes() -> int:
    """Peak resident set size of this process image so far, in bytes (see the module docstring)."""
    hwm = _vm_hwm()
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # KiB on Linux, bytes on macOS


def percentiles_us(samples_ns: list[int] | np.ndarray) -> dict[str, float]:
    """p50/p90/p99/mean/min/max of per-call times, in microseconds, and the number of samples (the one place
    the project turns timings into percentiles: bench rows, control loops)."""
    us = np.asarray(samples_ns, np.float64) / 1e3
    p50, p90, p99 = np.percentile(us, [50, 90, 99])
    return {"p50": float(p50), "p90": float(p90), "p99": float(p99), "mean": float(us.mean()),
            "min": float(us.min()), "max": float(us.max()), "n": int(us.size)}


def interleaved_latency(calls: dict[str, StepFn], steps: int, warmup: int, block: int = 50
                        ) -> dict[str, dict[str, float]]:
    """Per-call latency of each callable, measured in alternating blocks so drift and noise hit all alike.

    Each callable runs ``warmup`` untimed calls first, then ``steps`` timed calls in blocks of ``block``,
    round-robin over ``calls``. Returns name -> :func:`percentiles_us`.
    """
    for fn in calls.values():
        for i in range(warmup):
            fn(i)
    samples: dict[str, list[int]] = {name: [] for name in calls}
    clock = time.perf_counter_ns
    done = 0
    while done < steps:
        n = min(block, steps - done)
        for name, fn in calls.items():
            out = samples[name]
            for i in range(done, done + n):
                start = clock()
                fn(i)
                out.append(clock() - start)
        done += n
    return {name: percentiles_us(s) for name, s in samples.items()}


def throughput(fn: StepFn, batch: int, min_calls: int, min_seconds: float = 0.2, warmup: int = 3
               ) -> dict[str, float]:
    """Rows stepped per second at ``batch``: at least ``min_calls`` calls and ``min_seconds`` of work."""
    for i in range(warmup):
        fn(i)
    calls, start = 0, time.perf_counter()
    elapsed = 0.0
    while calls < min_calls or elapsed < min_seconds:
        fn(calls)
        calls += 1
        elapsed = time.perf_counter() - start
    return {"calls": calls, "seconds": elapsed, "calls_per_s": calls / elapsed, "steps_per_s": batch * calls / elapsed}
