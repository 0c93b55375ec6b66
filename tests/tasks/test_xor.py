"""Event-based bit-stream XOR."""

from __future__ import annotations

import numpy as np
import pytest

from edgelnn.tasks import load_task
from edgelnn.tasks.xor import encode_events


def parity_from_events(split) -> np.ndarray:
    ones = (split.x[..., 0] > 0) & split.mask
    return (np.round(split.t * ones).sum(axis=1).astype(int)) % 2


@pytest.fixture(scope="module")
def xor_task():
    return load_task("xor")  # default sizes: fast, not cached


def test_defaults_and_contract(xor_task, check_task):
    check_task(xor_task)
    sizes = {name: len(split) for name, split in xor_task.splits.items()}
    assert sizes == {
        "train": 10000,
        "val": 1000,
        "test": 2000,
        "ood-longer": 2000,
        "ood-timing": 2000,
        "ood-noise": 2000,
    }
    assert (xor_task.input_size, xor_task.output_size) == (1, 2)
    assert 0.45 < xor_task.splits["train"].y.mean() < 0.55


@pytest.mark.parametrize("name", ["train", "val", "test", "ood-longer", "ood-timing", "ood-noise"])
def test_label_is_parity_of_the_event_stream(xor_task, name):
    split = xor_task.splits[name]
    np.testing.assert_array_equal(parity_from_events(split), split.y)
    values = split.x[..., 0][split.mask]
    if name != "ood-noise":
        assert set(np.unique(values)) == {-1.0, 1.0}
        assert (np.diff(np.sign(split.x[..., 0]), axis=1)[split.mask[:, 1:]] != 0).all()  # runs alternate


def test_ood_longer_and_timing(xor_task):
    total = {name: split.t.sum(axis=1, where=split.mask) for name, split in xor_task.splits.items()}
    assert (
        (total["test"] == 32).all()
        and (total["ood-longer"] == 64).all()
        and (total["ood-timing"] == 32).all()
    )
    events_test = xor_task.splits["test"].lengths.mean()
    events_timing = xor_task.splits["ood-timing"].lengths.mean()
    assert events_test == pytest.approx(1 + 31 * 0.5, rel=0.05)
    assert events_timing == pytest.approx(1 + 31 * 0.2, rel=0.05)  # repeat probability 0.8
    assert xor_task.splits["ood-timing"].t[xor_task.splits["ood-timing"].mask].mean() > 2 * (
        xor_task.splits["test"].t[xor_task.splits["test"].mask].mean()
    )


def test_ood_noise(xor_task, assert_noise_split):
    sigma = 0.2 * np.asarray(xor_task.info["x_std"])
    assert_noise_split(xor_task.splits["test"], xor_task.splits["ood-noise"], sigma, rel_tol=0.05)


def test_encode_events_by_hand():
    split = encode_events(np.array([[1, 1, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0]]))
    np.testing.assert_array_equal(split.x[..., 0], [[1, -1, 1], [-1, 0, 0]])
    np.testing.assert_array_equal(split.t, [[2, 1, 3], [6, 1, 1]])
    np.testing.assert_array_equal(split.mask, [[1, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(split.y, [1, 0])


def test_deterministic(xor_task, assert_same_task):
    assert_same_task(load_task("xor"), xor_task)
    other = load_task("xor", seed=1, n_train=100, n_val=10, n_test=10, n_ood=10)
    assert not np.array_equal(other.splits["train"].y, xor_task.splits["train"].y[:100])


def test_short_streams_are_learned_end_to_end(tmp_path):
    """Events, padding masks, the last-step label and the time input fit together: on 4-bit streams (16
    distinct ones) a time-aware GRU gets every test stream right within a few epochs. It says nothing about
    32 bits, where parity is a long plateau for gradient descent (docs/study/README.md)."""
    from edgelnn.training import TrainConfig, train

    cfg = TrainConfig(model="gru", task="xor", hidden_size=16, model_options={"time_input": True}, epochs=4,
                      batch_size=32, lr=1e-2, patience=0, seed=0,
                      task_options={"n_bits": 4, "ood_bits": 8, "n_train": 1000, "n_val": 200, "n_test": 400,
                                    "n_ood": 200})
    result = train(cfg, tmp_path / "run", progress=False, device="cpu")
    assert result.metrics["test"] >= 0.9
