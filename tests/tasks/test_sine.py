"""Irregularly sampled sine forecasting."""

from __future__ import annotations

import numpy as np
import pytest
from numeric import RTOL_OP, assert_close

from edgelnn.tasks import load_task


@pytest.fixture(scope="module")
def sine_task():
    return load_task("sine")


def sample_times(split) -> np.ndarray:
    return np.cumsum(split.t, axis=1) - split.t[:, :1]  # first sample at time 0


def crossings_per_time(split) -> np.ndarray:
    signs = np.sign(split.x[..., 0])
    duration = sample_times(split)[:, -1]
    return (np.diff(signs, axis=1) != 0).sum(axis=1) / duration


def test_defaults_and_contract(sine_task, check_task):
    check_task(sine_task)
    assert {n: s.x.shape for n, s in sine_task.splits.items()} == {
        "train": (2000, 64, 1),
        "val": (500, 64, 1),
        "test": (500, 64, 1),
        "ood-noise": (500, 64, 1),
        "ood-frequency": (500, 64, 1),
        "ood-drop": (500, 64, 1),
        "ood-timing": (500, 64, 1),
    }
    assert sine_task.splits["train"].mask.all()


@pytest.mark.parametrize("name", ["train", "test", "ood-frequency", "ood-drop"])
def test_timespans_on_grid_and_target_is_value_horizon_ahead(sine_task, name):
    split, grid = sine_task.splits[name], sine_task.info["grid_dt"]
    steps = split.t / grid
    assert_close(steps, np.round(steps), atol=0, rtol=RTOL_OP, what="gaps in grid steps")  # off grid: >= 0.1
    assert (split.t[:, 0] == np.float32(grid)).all()
    # Where a later sample falls exactly `horizon` after an earlier one, the target equals it.
    index = np.round(sample_times(split) / grid).astype(int)
    ahead = round(sine_task.info["horizon"] / grid)
    targets, later = [], []
    for i in range(0, len(split), 10):
        where = {k: j for j, k in enumerate(index[i])}
        for j, k in enumerate(index[i]):
            if k + ahead in where:
                targets.append(split.y[i, j, 0])
                later.append(split.x[i, where[k + ahead], 0])
    assert len(targets) > 100
    # the same float64 sine at (nearly) the same time, rounded to float32
    assert_close(np.array(targets), np.array(later), rtol=RTOL_OP, what="target vs sample horizon ahead")


def test_drop_rates(sine_task):
    grid = sine_task.info["grid_dt"]
    mean_gap = {n: sine_task.splits[n].t[:, 1:].mean() / grid for n in ("test", "ood-drop")}
    assert mean_gap["test"] == pytest.approx(1 / 0.8, rel=0.05)
    assert mean_gap["ood-drop"] == pytest.approx(1 / 0.5, rel=0.05)


def test_ood_drop_samples_the_same_test_signals(sine_task):
    test, drop, grid = sine_task.splits["test"], sine_task.splits["ood-drop"], sine_task.info["grid_dt"]
    shared = 0
    for i in range(len(test)):
        a = np.round(sample_times(test)[i] / grid).astype(int)
        b = np.round(sample_times(drop)[i] / grid).astype(int)
        common, ia, ib = np.intersect1d(a, b, return_indices=True)
        assert_close(drop.x[i, ib], test.x[i, ia], rtol=RTOL_OP, what=f"shared samples of sequence {i}")
        shared += len(common)
    assert shared > 10 * len(test)


def test_ood_frequency_is_faster(sine_task):
    rate_test = crossings_per_time(sine_task.splits["test"]).mean()
    rate_ood = crossings_per_time(sine_task.splits["ood-frequency"]).mean()
    assert rate_test == pytest.approx(2.0 / np.pi, rel=0.1)  # mean omega 2 -> omega/pi crossings
    assert rate_ood == pytest.approx(4.25 / np.pi, rel=0.1)
    assert sine_task.info["splits"]["ood-frequency"]["omega_range"] == [3.5, 5.0]


def test_ood_noise(sine_task, assert_noise_split):
    sigma = 0.2 * np.asarray(sine_task.info["x_std"])
    assert_noise_split(sine_task.splits["test"], sine_task.splits["ood-noise"], sigma, rel_tol=0.05)


def test_deterministic(sine_task, assert_same_task):
    assert_same_task(load_task("sine"), sine_task)
    assert not np.array_equal(load_task("sine", seed=3).splits["train"].x, sine_task.splits["train"].x)
