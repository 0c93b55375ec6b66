"""Split and Task containers and their validation."""

from __future__ import annotations

import numpy as np
import pytest

from edgelnn.tasks import Split, Task


def make_split(
    n: int = 4, steps: int = 5, features: int = 2, lengths=(5, 3, 1, 4), kind: str = "classification"
):
    lengths = np.asarray(lengths[:n])
    mask = np.arange(steps)[None, :] < lengths[:, None]
    x = np.where(mask[..., None], 1.0, 0.0).astype(np.float32) * np.ones((n, steps, features), np.float32)
    t = np.where(mask, 0.5, 1.0).astype(np.float32)
    if kind == "classification":
        y = np.arange(n, dtype=np.int64) % 2
    else:
        y = (np.where(mask[..., None], 2.0, 0.0) * np.ones((1, 1, 2))).astype(np.float32)
    return Split(x=x, t=t, y=y, mask=mask)


def make_task(**changes):
    splits = {"train": make_split(), "val": make_split(), "test": make_split(), "ood-noise": make_split()}
    kwargs = {
        "name": "toy",
        "kind": "classification",
        "metric": "accuracy",
        "input_size": 2,
        "output_size": 2,
        "splits": splits,
        "ood_descriptions": {"ood-noise": "noise"},
        "description": "toy task",
    }
    kwargs.update(changes)
    return Task(**kwargs)


def test_split_len_lengths_subset():
    split = make_split()
    assert len(split) == 4
    np.testing.assert_array_equal(split.lengths, [5, 3, 1, 4])
    sub = split.subset([2, 0])
    assert len(sub) == 2
    np.testing.assert_array_equal(sub.lengths, [1, 5])
    np.testing.assert_array_equal(sub.y, [0, 0])
    assert len(split.subset(slice(1, 3))) == 2
    assert len(split.subset(np.array([True, False, True, False]))) == 2


def test_task_ood_splits_in_order():
    splits = {
        "train": make_split(),
        "val": make_split(),
        "test": make_split(),
        "ood-b": make_split(),
        "ood-a": make_split(),
    }
    task = make_task(splits=splits, ood_descriptions={"ood-a": "a", "ood-b": "b"})
    assert task.ood_splits() == ["ood-b", "ood-a"]
    assert task.info == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "ranking"}, "kind must be"),
        ({"metric": "mse"}, "metric of a classification task"),
        ({"input_size": 3}, "features"),
        ({"output_size": 1}, "labels must lie"),
        ({"ood_descriptions": {"ood-other": "x"}}, "ood_descriptions keys"),
    ],
)
def test_task_rejects_inconsistent_fields(changes, message):
    with pytest.raises(ValueError, match=message):
        make_task(**changes)


def test_task_needs_required_and_ood_splits():
    with pytest.raises(ValueError, match="missing splits"):
        make_task(splits={"train": make_split(), "test": make_split(), "ood-noise": make_split()})
    with pytest.raises(ValueError, match="at least one 'ood-"):
        make_task(
            splits={"train": make_split(), "val": make_split(), "test": make_split()}, ood_descriptions={}
        )
    with pytest.raises(ValueError, match="unexpected split names"):
        make_task(
            splits={
                "train": make_split(),
                "val": make_split(),
                "test": make_split(),
                "ood-noise": make_split(),
                "extra": make_split(),
            }
        )


@pytest.mark.parametrize("breakage", ["not_prefix", "empty_row", "zero_t", "padding_t", "padding_x", "nan_x"])
def test_split_validation(breakage):
    bad = make_split()
    if breakage == "not_prefix":
        bad.mask[1, 4] = True
        bad.t[1, 4] = 0.5
    elif breakage == "empty_row":
        bad.mask[2, 0] = False
        bad.x[2, 0] = 0
        bad.t[2, 0] = 1.0
    elif breakage == "zero_t":
        bad.t[0, 2] = 0.0
    elif breakage == "padding_t":
        bad.t[2, 3] = 0.5
    elif breakage == "padding_x":
        bad.x[2, 3] = 1.0
    else:
        bad.x[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="toy/ood-noise"):
        make_task(splits={"train": make_split(), "val": make_split(), "test": make_split(), "ood-noise": bad})


def test_regression_task_validation():
    splits = {name: make_split(kind="regression") for name in ("train", "val", "test", "ood-noise")}
    task = make_task(kind="regression", metric="mse", output_size=2, splits=splits)
    assert task.splits["train"].y.shape == (4, 5, 2)
    splits["ood-noise"].y[2, 4] = 1.0  # non-zero padding
    with pytest.raises(ValueError, match="y must be zero in the padding"):
        make_task(kind="regression", metric="mse", output_size=2, splits=splits)
