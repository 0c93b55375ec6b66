"""User data from an .npz file: loading, splitting and validation errors."""

from __future__ import annotations

import numpy as np
import pytest
from numeric import assert_close

from edgelnn.tasks import load_npz_task, load_task


def write(path, **arrays):
    np.savez(path, **arrays)
    return path


def classification_arrays(n: int = 40, steps: int = 6, features: int = 3):
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, steps + 1, n)
    mask = np.arange(steps)[None, :] < lengths[:, None]
    x = rng.normal(size=(n, steps, features))
    t = rng.uniform(0.1, 2.0, size=(n, steps))
    t[~mask] = -5.0  # padding values are ignored
    x[~mask] = np.nan
    return {"x": x, "y": rng.integers(0, 3, n), "t": t, "mask": mask}


def test_classification_roundtrip(tmp_path, check_task, assert_noise_split):
    arrays = classification_arrays()
    task = load_npz_task(write(tmp_path / "mine.npz", **arrays), seed=0)
    check_task(task)
    assert (task.name, task.kind, task.metric, task.input_size, task.output_size) == (
        "mine",
        "classification",
        "accuracy",
        3,
        3,
    )
    assert [len(task.splits[s]) for s in ("train", "val", "test")] == [28, 6, 6]
    assert task.ood_splits() == ["ood-noise", "ood-timing"]
    # every sequence lands in exactly one split, unchanged on its real samples
    lengths = np.sort(np.concatenate([task.splits[s].lengths for s in ("train", "val", "test")]))
    np.testing.assert_array_equal(lengths, np.sort(arrays["mask"].sum(1)))
    train = task.splits["train"]
    sigma = 0.2 * train.x[train.mask].std(axis=0)
    assert_noise_split(task.splits["test"], task.splits["ood-noise"], sigma, rel_tol=0.6)


def test_regression_defaults_and_standardize(tmp_path, check_task, assert_same_task):
    rng = np.random.default_rng(1)
    x, y = rng.normal(3.0, 2.0, (30, 5, 2)), rng.normal(size=(30, 5, 4)).astype(np.float32)
    path = write(tmp_path / "reg.npz", x=x, y=y)
    task = load_npz_task(path, seed=3, standardize=True)
    check_task(task)
    assert (task.kind, task.metric, task.output_size) == ("regression", "mse", 4)
    assert task.splits["train"].mask.all() and (task.splits["train"].t == 1.0).all()
    real = task.splits["train"].x.reshape(-1, 2)
    # standardized: the data's scale is 1, so this atol is relative to it (the reference, 0, has no scale)
    assert_close(real.mean(0), np.zeros(2), atol=1e-5, rtol=0, what="standardized mean")
    assert len(task.info["x_mean"]) == 2
    assert_same_task(load_task(str(path), seed=3, standardize=True), task)  # registry delegates .npz paths
    other = load_npz_task(path, seed=4)
    assert not np.array_equal(other.splits["test"].y, load_npz_task(path, seed=3).splits["test"].y)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("x"), r"^x: missing from .*required"),
        (lambda a: a.pop("y"), r"^y: missing from"),
        (lambda a: a.update(x=a["x"][..., 0]), r"^x: expected 3 dims \[N,T,F\]"),
        (lambda a: a.update(x=np.full((40, 6, 3), "a")), r"^x: expected a numeric dtype"),
        (lambda a: a.update(y=a["y"][:-1]), r"^y: has N=39 labels but x has N=40"),
        (
            lambda a: a.update(y=a["y"].astype(float) + 0.5),
            r"^y: classification labels must have an integer dtype",
        ),
        (lambda a: a.update(y=a["y"] - 1), r"^y: labels must be >= 0"),
        (lambda a: a.update(y=np.zeros(40, int)), r"^y: classification needs at least 2 classes"),
        (lambda a: a.update(y=np.zeros((40, 6))), r"^y: expected \[N\] integer labels or \[N,T,O\]"),
        (lambda a: a.update(y=np.zeros((40, 5, 1))), r"^y: shape \(40, 5, 1\) does not match x's \[N,T\]"),
        (lambda a: a.update(t=a["t"][:, :-1]), r"^t: expected shape \[N,T\]=\(40, 6\)"),
        (lambda a: a.update(mask=a["mask"][:10]), r"^mask: expected shape \[N,T\]"),
        (
            lambda a: a["x"].__setitem__((0, 0, 0), np.inf),
            r"^x: NaN/Inf where mask is True at index \(0, 0, 0\)",
        ),
        (lambda a: a["t"].__setitem__((1, 0), np.nan), r"^t: NaN/Inf where mask is True"),
        (
            lambda a: a["t"].__setitem__((2, 0), 0.0),
            r"^t: non-positive timespan where mask is True at index \(2, 0\)",
        ),
        (lambda a: a["mask"].__setitem__((3, slice(None)), False), r"^mask: row 3 has no True value"),
        (
            lambda a: a["mask"].__setitem__((4, slice(None)), [True, False, True, False, False, False]),
            r"^mask: row 4 is not a prefix",
        ),
        (lambda a: a.update(mask=np.full((40, 6), 2)), r"^mask: values must be bool or 0/1"),
    ],
)
def test_validation_errors_name_the_array(tmp_path, change, message):
    arrays = classification_arrays()
    arrays["mask"][:5, :] = True  # rows 0-4 fully real
    arrays["t"][:5] = 1.0
    arrays["x"][:5] = 0.0
    change(arrays)
    with pytest.raises(ValueError, match=message) as info:
        load_npz_task(write(tmp_path / "bad.npz", **arrays))
    assert "\n" not in str(info.value)


def test_not_an_npz_archive(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz file"):
        load_npz_task(tmp_path / "junk.npz")
    obj = np.empty(40, dtype=object)
    with pytest.raises(ValueError, match="^y: cannot be loaded without pickle"):
        np.savez(tmp_path / "obj.npz", x=np.zeros((40, 2, 1)), y=obj)
        load_npz_task(tmp_path / "obj.npz")
    with pytest.raises(ValueError, match="need N >= 3 sequences"):
        load_npz_task(write(tmp_path / "tiny.npz", x=np.zeros((2, 3, 1)), y=np.array([0, 1])))
