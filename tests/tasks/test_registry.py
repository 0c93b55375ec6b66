"""Registry: names, errors, options and the on-disk cache."""

from __future__ import annotations

import functools
import inspect
from dataclasses import replace

import numpy as np
import pytest

import edgelnn.tasks as tasks_pkg
from edgelnn.tasks import TASKS, list_tasks, load_task, task_options
from edgelnn.tasks.cache import default_cache_dir

SMALL_PENDULUM = {"n_train": 6, "n_val": 3, "n_test": 3, "seq_len": 8}


def test_public_api():
    for name in ("Split", "Task", "TASKS", "list_tasks", "load_task", "load_npz_task", "compute_metric"):
        assert hasattr(tasks_pkg, name)


def test_registered_names_and_descriptions():
    expected = [
        "basicmotions",
        "control-cartpole",
        "control-doublependulum",
        "control-halfcheetah",
        "control-pendulum",
        "halfcheetah",
        "japanesevowels",
        "pendulum",
        "pickupgesture",
        "sine",
        "walker2d",
        "xor",
    ]
    assert list_tasks() == expected
    for name, spec in TASKS.items():
        assert spec.name == name and spec.description and "\n" not in spec.description
        assert callable(spec.loader)


def test_unknown_task_message():
    with pytest.raises(ValueError) as info:
        load_task("foo")
    assert str(info.value) == "unknown task 'foo'; valid tasks: " + ", ".join(list_tasks())


def test_unknown_option():
    with pytest.raises(
        ValueError, match=r"unknown option\(s\) \['n_trian'\] for task 'xor'; valid options: n_train"
    ):
        load_task("xor", n_trian=5)


def test_every_task_has_size_or_fraction_options():
    for name in list_tasks():
        options = task_options(name)
        assert "noise_std" in options
        assert "n_train" in options or "val_fraction" in options


def test_cache_written_atomically_and_reused(tmp_path, monkeypatch, assert_same_task):
    first = load_task("pendulum", seed=2, cache_dir=tmp_path, **SMALL_PENDULUM)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 1 and files[0].startswith("pendulum-seed2-v2.") and files[0].endswith(".npz")
    assert first.info["seed"] == 2 and first.info["options"]["n_train"] == 6

    spec = TASKS["pendulum"]

    @functools.wraps(spec.loader)
    def must_not_run(*args, **kwargs):
        raise AssertionError("cache was not used")

    monkeypatch.setitem(TASKS, "pendulum", replace(spec, loader=must_not_run))
    assert (
        inspect.signature(must_not_run).parameters.keys() == inspect.signature(spec.loader).parameters.keys()
    )
    cached = load_task("pendulum", seed=2, cache_dir=tmp_path, **SMALL_PENDULUM)
    assert_same_task(cached, first)
    assert cached.info == first.info
    assert cached.ood_descriptions == first.ood_descriptions
    with pytest.raises(AssertionError, match="cache was not used"):  # other options -> other entry
        load_task("pendulum", seed=2, cache_dir=tmp_path, **{**SMALL_PENDULUM, "n_train": 7})
    with pytest.raises(AssertionError, match="cache was not used"):  # other seed -> other entry
        load_task("pendulum", seed=3, cache_dir=tmp_path, **SMALL_PENDULUM)


def test_corrupt_cache_is_rebuilt(tmp_path, assert_same_task):
    first = load_task("pendulum", cache_dir=tmp_path, **SMALL_PENDULUM)
    (entry,) = tmp_path.iterdir()
    entry.write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="ignoring unreadable task cache"):
        again = load_task("pendulum", cache_dir=tmp_path, **SMALL_PENDULUM)
    assert_same_task(again, first)
    assert np.load(entry)["train/x"].shape == first.splits["train"].x.shape  # rewritten


def test_default_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGELNN_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "tasks"
    load_task("pendulum", **SMALL_PENDULUM)
    assert len(list((tmp_path / "tasks").glob("pendulum-*.npz"))) == 1
    monkeypatch.delenv("EDGELNN_CACHE")
    assert default_cache_dir().parts[-3:] == (".cache", "edgelnn", "tasks")


def test_uncached_tasks_write_nothing(tmp_path):
    load_task("xor", cache_dir=tmp_path, n_train=8, n_val=4, n_test=4, n_ood=4)
    assert list(tmp_path.iterdir()) == []
