"""UEA sets from the aeon wheel: default registry loads, preparation and OOD splits."""

from __future__ import annotations

import numpy as np
import pytest
from numeric import assert_close

from edgelnn.tasks import load_task

# name -> (features, classes, aeon train size, aeon test size, min length, max length)
EXPECTED = {
    "basicmotions": (6, 4, 40, 40, 100, 100),
    "japanesevowels": (12, 9, 270, 370, 7, 29),
    "pickupgesture": (1, 10, 50, 50, 29, 361),
}


@pytest.fixture(scope="module")
def uea_tasks(tmp_path_factory):
    cache = tmp_path_factory.mktemp("uea-cache")
    return {name: load_task(name, seed=0, cache_dir=cache) for name in EXPECTED}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shapes_labels_and_sizes(uea_tasks, check_task, name):
    task = uea_tasks[name]
    features, classes, n_train, n_test, min_len, max_len = EXPECTED[name]
    check_task(task)
    assert (task.kind, task.metric, task.input_size, task.output_size) == (
        "classification",
        "accuracy",
        features,
        classes,
    )
    assert set(task.ood_splits()) == {"ood-noise", "ood-resample", "ood-drop"}
    train, val, test = (task.splits[s] for s in ("train", "val", "test"))
    assert len(train) + len(val) == n_train and len(test) == n_test
    assert abs(len(val) - 0.2 * n_train) <= len(np.unique(train.y))  # ~80/20
    assert set(np.unique(val.y)) <= set(np.unique(train.y))
    lengths = np.concatenate([train.lengths, val.lengths, test.lengths])
    assert lengths.min() >= min_len and lengths.max() <= max_len
    assert (train.t[train.mask] == 1.0).all() and task.info["dt"] == 1.0
    assert len(task.info["classes"]) == classes


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_standardized_with_train_statistics(uea_tasks, name):
    train = uea_tasks[name].splits["train"]
    real = train.x[train.mask].astype(np.float64)
    # standardized: the data's scale is 1, so the mean's atol is relative to it (the reference, 0, has none)
    assert_close(real.mean(axis=0), np.zeros(real.shape[1]), atol=1e-4, rtol=0, what=f"{name} mean")
    assert_close(real.std(axis=0), np.ones(real.shape[1]), atol=0, rtol=1e-3, what=f"{name} std")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ood_noise(uea_tasks, assert_noise_split, name):
    task = uea_tasks[name]
    sigma = np.full(task.input_size, task.info["noise_std"])
    assert_noise_split(task.splits["test"], task.splits["ood-noise"], sigma, rel_tol=0.25)
    assert "sigma=0.2" in task.ood_descriptions["ood-noise"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ood_resample_halves_the_rate(uea_tasks, name):
    test, res = uea_tasks[name].splits["test"], uea_tasks[name].splits["ood-resample"]
    np.testing.assert_array_equal(res.lengths, (test.lengths + 1) // 2)
    assert (res.t[res.mask] == 2.0).all()
    np.testing.assert_array_equal(res.y, test.y)
    for i in range(len(test)):
        np.testing.assert_array_equal(res.x[i, : res.lengths[i]], test.x[i, : test.lengths[i] : 2])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ood_drop_keeps_a_subsequence_with_true_elapsed_time(uea_tasks, name):
    test, drop = uea_tasks[name].splits["test"], uea_tasks[name].splits["ood-drop"]
    np.testing.assert_array_equal(drop.y, test.y)
    assert (drop.t[:, 0] == 1.0).all()
    for i in range(len(test)):
        positions = np.cumsum(drop.t[i, : drop.lengths[i]]).astype(int) - 1  # original sample index
        assert positions[-1] < test.lengths[i]
        np.testing.assert_array_equal(drop.x[i, : drop.lengths[i]], test.x[i, positions])
    kept = drop.lengths.sum() / test.lengths.sum()
    assert 0.6 < kept < 0.8  # drop rate 0.3


def test_deterministic_and_seed_changes_only_val_split_and_ood(tmp_path, uea_tasks, assert_same_task):
    again = load_task("basicmotions", seed=0, cache_dir=tmp_path / "a")
    assert_same_task(again, uea_tasks["basicmotions"])
    other = load_task("basicmotions", seed=1, cache_dir=tmp_path / "b")
    base = uea_tasks["basicmotions"]
    assert not np.array_equal(np.sort(other.splits["val"].x.ravel()), np.sort(base.splits["val"].x.ravel()))
    np.testing.assert_array_equal(other.splits["test"].y, base.splits["test"].y)
