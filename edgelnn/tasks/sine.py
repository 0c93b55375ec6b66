"""Irregularly sampled sine forecasting.

Each sequence is ``s(tau) = A sin(omega tau + phi)`` with per-sequence amplitude, angular
frequency and phase. Samples sit on a grid of step ``grid_dt`` from which each point after the
first is dropped with probability ``drop_rate``; timespans are the true elapsed time. The input is
``s`` at each sample time, the per-step target is ``s(tau + horizon)``: a well-posed forecast
that needs the model to track phase through irregular gaps.
"""

from __future__ import annotations

import numpy as np

from .base import Split, Task
from .rng import make_rng
from .sequences import add_noise, feature_stats, kept_indices

OOD_TIMING_FACTOR = 3  # ood-timing: the test sequences on a grid this many times coarser


def sample_times(
    n: int, seq_len: int, grid_dt: float, drop_rate: float, rng: np.random.Generator
) -> np.ndarray:
    """``[n, seq_len]`` sample times on the grid ``k * grid_dt`` (first sample at 0)."""
    return np.stack([kept_indices(seq_len, drop_rate, rng) * grid_dt for _ in range(n)])


def make_sine_split(times: np.ndarray, params: np.ndarray, grid_dt: float, horizon: float) -> Split:
    """Split from sample ``times [N,T]`` and per-sequence ``params [N,3]`` = (A, omega, phi)."""
    amp, omega, phase = (params[:, i : i + 1] for i in range(3))
    x = amp * np.sin(omega * times + phase)
    y = amp * np.sin(omega * (times + horizon) + phase)
    t = np.concatenate([np.full((len(times), 1), grid_dt), np.diff(times, axis=1)], axis=1)
    return Split(
        x=x[..., None].astype(np.float32),
        t=t.astype(np.float32),
        y=y[..., None].astype(np.float32),
        mask=np.ones(times.shape, dtype=bool),
    )


def sample_params(
    n: int, amp_range: tuple[float, float], omega_range: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """``[n, 3]`` (amplitude, angular frequency, phase) drawn uniformly."""
    return np.stack(
        [rng.uniform(*amp_range, n), rng.uniform(*omega_range, n), rng.uniform(0.0, 2 * np.pi, n)], axis=1
    )


def build_sine(
    seed: int = 0,
    n_train: int = 2000,
    n_val: int = 500,
    n_test: int = 500,
    seq_len: int = 64,
    grid_dt: float = 0.1,
    drop_rate: float = 0.2,
    horizon: float = 0.5,
    amp_range: tuple[float, float] = (0.5, 1.5),
    omega_range: tuple[float, float] = (1.0, 3.0),
    ood_omega_range: tuple[float, float] = (3.5, 5.0),
    ood_drop_rate: float = 0.5,
    noise_std: float = 0.2,
) -> Task:
    """Build the irregular sine forecasting task (see the module docstring for the options)."""
    amp_range, omega_range, ood_omega_range = tuple(amp_range), tuple(omega_range), tuple(ood_omega_range)

    def make(split: str, n: int, omegas: tuple[float, float] = omega_range, drop: float = drop_rate) -> Split:
        rng = make_rng(seed, "sine", split)
        params = sample_params(n, amp_range, omegas, rng)
        return make_sine_split(sample_times(n, seq_len, grid_dt, drop, rng), params, grid_dt, horizon)

    train = make("train", n_train)
    test = make("test", n_test)
    # ood-drop: the test sequences (same A, omega, phi) on a sparser random grid.
    test_params = sample_params(n_test, amp_range, omega_range, make_rng(seed, "sine", "test"))
    sparse_times = sample_times(n_test, seq_len, grid_dt, ood_drop_rate, make_rng(seed, "sine", "ood-drop"))
    # ood-timing: the same test signals sampled on a coarser grid: every timespan beyond the training ones.
    coarse_dt = grid_dt * OOD_TIMING_FACTOR
    coarse_times = sample_times(n_test, seq_len, coarse_dt, drop_rate, make_rng(seed, "sine", "ood-timing"))
    _, std = feature_stats(train.x, train.mask)
    splits = {
        "train": train,
        "val": make("val", n_val),
        "test": test,
        "ood-noise": add_noise(test, noise_std * std, make_rng(seed, "sine", "ood-noise")),
        "ood-frequency": make("ood-frequency", n_test, omegas=ood_omega_range),
        "ood-drop": make_sine_split(sparse_times, test_params, grid_dt, horizon),
        "ood-timing": make_sine_split(coarse_times, test_params, coarse_dt, horizon),
    }
    ood = {
        "ood-noise": f"test split + additive gaussian sensor noise, sigma={noise_std} of train feature std",
        "ood-frequency": (
            f"angular frequencies in [{ood_omega_range[0]}, {ood_omega_range[1]}] "
            f"instead of [{omega_range[0]}, {omega_range[1]}]"
        ),
        "ood-drop": (
            f"test sequences with grid points dropped with probability {ood_drop_rate} "
            f"instead of {drop_rate}; timespans are the true elapsed time"
        ),
        "ood-timing": (
            f"test signals sampled on a grid of {coarse_dt:g} instead of {grid_dt:g} ({OOD_TIMING_FACTOR}x "
            "longer timespans, inputs and targets of the same signals)"
        ),
    }
    return Task(
        name="sine",
        kind="regression",
        metric="mse",
        input_size=1,
        output_size=1,
        splits=splits,
        ood_descriptions=ood,
        description=f"irregularly sampled sine: forecast the value {horizon} time units ahead",
        info={
            "grid_dt": grid_dt,
            "horizon": horizon,
            "drop_rate": drop_rate,
            "omega_range": list(omega_range),
            "amp_range": list(amp_range),
            "x_std": std.tolist(),
            "noise_std": noise_std,
            "splits": {
                "ood-frequency": {"omega_range": list(ood_omega_range)},
                "ood-drop": {"drop_rate": ood_drop_rate},
                "ood-timing": {"grid_dt": coarse_dt},
            },
        },
    )
