"""Simulated kinematics tasks (Pendulum, Walker2d, HalfCheetah): irregular next-state prediction."""

from __future__ import annotations

import numpy as np
import pytest
from numeric import ATOL, RTOL_OP, assert_close

from edgelnn.tasks import load_task
from edgelnn.tasks.kinematics import generate
from edgelnn.tasks.simulate import ENVS, make_env

SMALL = {"n_train": 10, "n_val": 4, "n_test": 6, "seq_len": 16}
OBS = {"pendulum": 3, "walker2d": 17, "halfcheetah": 17}
DT = {"pendulum": 0.05, "walker2d": 0.008, "halfcheetah": 0.05}


@pytest.fixture(scope="module")
def small_tasks(tmp_path_factory):
    cache = tmp_path_factory.mktemp("kinematics-cache")
    return {name: load_task(name, seed=0, cache_dir=cache, **SMALL) for name in OBS}


@pytest.fixture(scope="module")
def pendulum_default(tmp_path_factory):
    return load_task("pendulum", cache_dir=tmp_path_factory.mktemp("pendulum-cache"))


def raw_positions(split, dt: float) -> np.ndarray:
    """Env-step index of every sample relative to the first one."""
    return np.round(np.cumsum(split.t, axis=1) / dt).astype(int) - 1


def test_pendulum_default_registry_load(pendulum_default, check_task):
    check_task(pendulum_default)
    assert {n: s.x.shape for n, s in pendulum_default.splits.items()} == {
        "train": (512, 64, 3),
        "val": (128, 64, 3),
        "test": (128, 64, 3),
        "ood-noise": (128, 64, 3),
        "ood-drop": (128, 64, 3),
        "ood-physics": (128, 64, 3),
        "ood-timing": (128, 64, 3),
    }
    assert pendulum_default.info["physics"]["ood-physics"] == {"l": 1.5}


@pytest.mark.parametrize("name", sorted(OBS))
def test_contract_and_next_state_targets(small_tasks, check_task, name):
    task = small_tasks[name]
    check_task(task)
    assert (task.kind, task.metric, task.input_size, task.output_size) == (
        "regression",
        "mse",
        OBS[name],
        OBS[name],
    )
    assert set(task.ood_splits()) == {"ood-noise", "ood-drop", "ood-physics", "ood-timing"}
    assert task.info["dt"] == pytest.approx(DT[name])
    for split_name in ("train", "val", "test", "ood-drop", "ood-physics"):
        split = task.splits[split_name]
        assert split.x.shape == (len(split), SMALL["seq_len"], OBS[name]) and split.mask.all()
        np.testing.assert_array_equal(split.y[:, :-1], split.x[:, 1:])  # target = next kept observation
        gaps = split.t / task.info["dt"]
        assert_close(gaps, np.round(gaps), atol=0, rtol=1e-3, what=f"{split_name} gaps in dt")  # off grid: >= 0.5
        assert (np.round(gaps[:, 0]) == 1).all()
    train = task.splits["train"].x.reshape(-1, OBS[name]).astype(np.float64)
    # standardized: the data's scale is 1, so this atol is relative to it (the reference, 0, has none)
    assert_close(train.mean(axis=0), np.zeros(OBS[name]), atol=1e-4, rtol=0, what="standardized mean")


@pytest.mark.parametrize("name", sorted(OBS))
def test_ood_noise(small_tasks, assert_noise_split, name):
    task = small_tasks[name]
    assert_noise_split(task.splits["test"], task.splits["ood-noise"], np.full(OBS[name], 0.2), rel_tol=0.35)


@pytest.mark.parametrize("name", sorted(OBS))
def test_ood_drop_resamples_the_test_rollouts_more_sparsely(small_tasks, name):
    task = small_tasks[name]
    test, drop, dt = task.splits["test"], task.splits["ood-drop"], task.info["dt"]
    pos_test, pos_drop = raw_positions(test, dt), raw_positions(drop, dt)
    shared = 0
    for i in range(len(test)):
        common, ia, ib = np.intersect1d(pos_test[i], pos_drop[i], return_indices=True)
        np.testing.assert_array_equal(test.x[i, ia], drop.x[i, ib])
        shared += len(common)
    assert shared >= len(test) * 4
    assert drop.t.mean() > 1.3 * test.t.mean()


def test_drop_rates_match_the_description(pendulum_default):
    dt = pendulum_default.info["dt"]
    kept = {n: 1.0 / (pendulum_default.splits[n].t[:, 1:].mean() / dt) for n in ("train", "ood-drop")}
    assert 0.75 < kept["train"] < 0.85  # per-sequence drop rate in [0.1, 0.3]
    assert kept["ood-drop"] == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("name", sorted(OBS))
def test_ood_physics_is_the_test_split_under_other_physics(small_tasks, name):
    task = small_tasks[name]
    test, phys = task.splits["test"], task.splits["ood-physics"]
    np.testing.assert_array_equal(phys.t, test.t)  # same sampling pattern
    mean, std = np.asarray(task.info["x_mean"]), np.asarray(task.info["x_std"])
    n, seq_len, drop_range = SMALL["n_test"], SMALL["seq_len"], tuple(task.info["drop_range"])
    x_default, t_default, _ = generate(name, 0, "test", n, seq_len, drop_range)
    x_ood, _, _ = generate(name, 0, "test", n, seq_len, drop_range, task.info["physics"]["ood-physics"])
    assert_close(test.x, (x_default - mean) / std, atol=ATOL, rtol=RTOL_OP, what="test x")
    assert_close(phys.x, (x_ood - mean) / std, atol=ATOL, rtol=RTOL_OP, what="ood-physics x")
    assert_close(test.t, t_default, atol=0, rtol=RTOL_OP, what="test timespans")
    assert np.abs(phys.x - test.x).mean() > 0.01


def test_physics_overrides_reach_the_simulator():
    walker = make_env(ENVS["walker2d"])
    heavy = make_env(ENVS["walker2d"], dict(ENVS["walker2d"].ood_physics))
    # float64, one multiplication each: a 1e-12 relative bound
    assert_close(heavy.model.body_mass, 1.5 * walker.model.body_mass, atol=0, rtol=1e-12, what="mass")
    assert_close(heavy.model.body_inertia, 1.5 * walker.model.body_inertia, atol=0, rtol=1e-12, what="inertia")
    assert make_env(ENVS["pendulum"], {"l": 1.5}).l == 1.5
    with pytest.raises(ValueError, match="unsupported physics override"):
        make_env(ENVS["pendulum"], {"friction": 2.0})


def test_deterministic_for_a_seed(tmp_path, small_tasks, assert_same_task):
    again = load_task("walker2d", seed=0, cache_dir=tmp_path / "a", **SMALL)
    assert_same_task(again, small_tasks["walker2d"])
    other = load_task("pendulum", seed=1, cache_dir=tmp_path / "b", **SMALL)
    assert not np.array_equal(other.splits["train"].x, small_tasks["pendulum"].splits["train"].x)


def test_mujoco_writes_no_log_file_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    load_task("halfcheetah", cache_dir=tmp_path / "cache", n_train=2, n_val=1, n_test=1, seq_len=4)
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
