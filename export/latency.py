"""Per-step latency at batch 1, as a user's control loop pays it (a quick measurement, not a benchmark suite)."""

from __future__ import annotations

import statistics
import time

import numpy as np

from edgelnn.artifact import StepRunner


def step_latency_us(runner: StepRunner, input_size: int, state_size: int, steps: int = 200, warmup: int = 20,
                    seed: int = 0) -> float:
    """Median wall time of one ``runner`` call (batch 1, state fed back), in microseconds."""
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((warmup + steps, 1, input_size)).astype(np.float32)
    dt = np.ones((1, 1), np.float32)
    state = np.zeros((1, state_size), np.float32)
    times = []
    for i in range(warmup + steps):
        started = time.perf_counter()
        _, state = runner(xs[i], state, dt)
        if i >= warmup:
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6
