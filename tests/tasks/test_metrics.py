"""compute_metric: sequence accuracy and masked MSE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgelnn.tasks import compute_metric, last_valid, load_task


def test_accuracy_from_logits_labels_and_per_step_outputs():
    y = np.array([0, 1, 2, 1])
    logits = np.eye(3)[[0, 1, 1, 1]] * 5.0
    assert compute_metric("accuracy", logits, y, None) == 0.75
    assert compute_metric("classification", np.array([0, 1, 2, 1]), y, None) == 1.0
    mask = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 1, 1]], dtype=bool)
    steps = np.zeros((4, 3, 3))
    steps[np.arange(4), mask.sum(1) - 1] = np.eye(3)[y]  # correct only at the last valid step
    assert compute_metric("accuracy", steps, y, mask) == 1.0
    np.testing.assert_array_equal(last_valid(steps, mask).argmax(1), y)


def test_mse_counts_only_masked_steps_and_averages_outputs():
    y = np.zeros((2, 3, 2), np.float32)
    pred = np.zeros_like(y)
    pred[0, 0] = [1.0, 3.0]  # real step: squared errors 1 and 9
    pred[1, 2] = [100.0, 100.0]  # padding: ignored
    mask = np.array([[1, 1, 1], [1, 1, 0]], dtype=bool)
    assert compute_metric("mse", pred, y, mask) == pytest.approx(10.0 / (5 * 2))
    assert compute_metric("regression", pred, y, mask) == compute_metric("mse", pred, y, mask)


def test_accepts_torch_tensors_and_tasks():
    task = load_task("sine", n_train=8, n_val=4, n_test=4, seq_len=8)
    split = task.splits["test"]
    value = compute_metric(task, torch.from_numpy(split.y), split.y, torch.from_numpy(split.mask))
    assert value == 0.0


def test_errors():
    with pytest.raises(ValueError, match="unknown metric"):
        compute_metric("f1", np.zeros(2), np.zeros(2), None)
    with pytest.raises(ValueError, match="must both be"):
        compute_metric("mse", np.zeros((2, 3, 1)), np.zeros((2, 3, 2)), np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="selects no steps"):
        compute_metric("mse", np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), np.zeros((2, 3), bool))
    with pytest.raises(ValueError, match="does not match"):
        compute_metric("accuracy", np.zeros((3, 2)), np.zeros(2, np.int64), None)
