"""Shared helpers of the task-registry tests, exposed as fixtures (import-mode independent)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import numpy as np
import pytest

from edgelnn.tasks import Task
from edgelnn.tasks.base import REQUIRED_SPLITS, validate_task


def _check_task(task: Task) -> None:
    """Contract checks every task must pass (on top of Task's own validation)."""
    validate_task(task)
    assert all(s in task.splits for s in REQUIRED_SPLITS)
    assert task.ood_splits() and all(name.startswith("ood-") for name in task.ood_splits())
    assert all(task.ood_descriptions[name].strip() for name in task.ood_splits())
    assert task.description.strip()
    for split in task.splits.values():
        assert split.x.dtype == np.float32 and split.t.dtype == np.float32 and split.mask.dtype == bool
        assert split.x.shape[:2] == split.t.shape == split.mask.shape
        assert split.x.shape[2] == task.input_size
        assert split.mask[:, 0].all()
        assert np.all(np.diff(split.mask.astype(np.int8), axis=1) <= 0)  # prefix
        assert (split.t[split.mask] > 0).all() and (split.t[~split.mask] == 1.0).all()
        assert (split.x[~split.mask] == 0).all()
        if task.kind == "classification":
            assert split.y.dtype == np.int64 and split.y.shape == (len(split),)
            assert split.y.min() >= 0 and split.y.max() < task.output_size
        else:
            assert split.y.dtype == np.float32 and split.y.shape == (*split.mask.shape, task.output_size)


def _assert_same_task(a: Task, b: Task) -> None:
    assert list(a.splits) == list(b.splits)
    assert (a.name, a.kind, a.metric, a.input_size, a.output_size) == (
        b.name,
        b.kind,
        b.metric,
        b.input_size,
        b.output_size,
    )
    for name in a.splits:
        for field in ("x", "t", "y", "mask"):
            np.testing.assert_array_equal(getattr(a.splits[name], field), getattr(b.splits[name], field))


def _assert_noise_split(test, noisy, sigma: np.ndarray, rel_tol: float = 0.15) -> None:
    """``noisy`` is ``test`` plus zero-mean Gaussian noise of per-feature std ``sigma`` on real samples."""
    np.testing.assert_array_equal(noisy.t, test.t)
    np.testing.assert_array_equal(noisy.y, test.y)
    np.testing.assert_array_equal(noisy.mask, test.mask)
    diff = (noisy.x - test.x).astype(np.float64)
    assert (diff[~test.mask] == 0).all()
    real = diff[test.mask]
    np.testing.assert_allclose(real.std(axis=0), sigma, rtol=rel_tol)
    assert np.all(np.abs(real.mean(axis=0)) < 4 * np.asarray(sigma) / np.sqrt(len(real)) + 1e-6)


@pytest.fixture
def check_task() -> Callable[[Task], None]:
    return _check_task


@pytest.fixture
def assert_same_task() -> Callable[[Task, Task], None]:
    return _assert_same_task


@pytest.fixture
def assert_noise_split() -> Callable[..., None]:
    return _assert_noise_split


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every socket connection attempt fail."""

    def refuse(*args, **kwargs):
        raise OSError("network access blocked in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
