"""Registry of the built-in tasks and the single entry point :func:`load_task`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from edgelnn.control.plants import PLANTS
from edgelnn.control.task import DESCRIPTIONS as CONTROL_DESCRIPTIONS
from edgelnn.control.task import build_control_task

from .base import Task
from .cache import cache_path, try_load, try_save
from .kinematics import DESCRIPTIONS as KINEMATICS_DESCRIPTIONS
from .kinematics import build_kinematics
from .npz import load_npz_task
from .options import check_options, loader_defaults
from .sine import build_sine
from .uea import UEA_SETS, build_uea
from .xor import build_xor

__all__ = ["TASKS", "TaskSpec", "check_task_options", "list_tasks", "load_npz_task", "load_task", "task_options"]


@dataclass(frozen=True)
class TaskSpec:
    """A registered task: ``loader(seed=..., **options) -> Task`` and a one-line description.

    ``cached`` tasks are stored under the cache folder after the first build; bump ``version``
    whenever the loader's output changes so that stale cache entries are not read.
    """

    name: str
    loader: Callable[..., Task]
    description: str
    cached: bool = False
    version: int = 1


def _specs() -> dict[str, TaskSpec]:
    specs = [
        TaskSpec(key, partial(build_uea, key), desc, cached=True) for key, (_, _, desc) in UEA_SETS.items()
    ]
    specs += [
        TaskSpec(key, partial(build_kinematics, key), KINEMATICS_DESCRIPTIONS[key], cached=True, version=2)
        for key in ("walker2d", "halfcheetah")
    ]
    specs.append(
        TaskSpec(
            "pendulum",
            partial(build_kinematics, "pendulum", n_train=512, n_val=128, n_test=128),
            KINEMATICS_DESCRIPTIONS["pendulum"],
            cached=True,
            version=2,  # 2: ood-timing split
        )
    )
    specs += [  # closed-loop imitation datasets (edgelnn.control): not cached, they may name a DAgger file
        TaskSpec(f"control-{key}", partial(build_control_task, key), CONTROL_DESCRIPTIONS[key]) for key in PLANTS
    ]
    specs += [
        TaskSpec("xor", build_xor, "event-based bit-stream XOR (parity of 32 bits as run-length events)"),
        TaskSpec("sine", build_sine, "irregularly sampled sine: forecast the value 0.5 time units ahead"),
    ]
    return {spec.name: spec for spec in specs}


TASKS: dict[str, TaskSpec] = _specs()


def list_tasks() -> list[str]:
    """Names of the registered tasks, sorted."""
    return sorted(TASKS)


def task_options(name: str) -> dict[str, Any]:
    """The options of task ``name`` with their defaults (``seed`` excluded)."""
    return loader_defaults(_spec(name).loader)


def check_task_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` over the defaults of task ``name`` (a registered name or a ``.npz`` path), checked.

    Raises TaskOptionError naming the option when one is unknown, of the wrong type or out of range.
    """
    if name not in TASKS and str(name).endswith(".npz"):
        return check_options(str(name), load_npz_task, options)
    return check_options(name, _spec(name).loader, options)


def _spec(name: str) -> TaskSpec:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(list_tasks())}")
    return TASKS[name]


def load_task(name: str, seed: int = 0, cache_dir: str | Path | None = None, **options: Any) -> Task:
    """Build (or read from the cache) the registered task ``name``.

    ``name`` may also be a path ending in ``.npz``: it is loaded with :func:`load_npz_task`.
    ``options`` are the loader's keyword options (see :func:`task_options`). Generated tasks are
    cached under ``cache_dir`` (default ``$EDGELNN_CACHE/tasks`` or ``~/.cache/edgelnn/tasks``),
    keyed by name, seed, generator version and options.
    """
    if name not in TASKS and str(name).endswith(".npz"):
        check_task_options(name, options)
        return load_npz_task(name, seed=seed, **options)
    spec = _spec(name)
    resolved = check_task_options(name, options)
    path = cache_path(cache_dir, name, seed, spec.version, resolved) if spec.cached else None
    if path is not None:
        task = try_load(path)
        if task is not None:
            return task
    task = spec.loader(seed=seed, **resolved)
    task.info.update(seed=seed, options=resolved, version=spec.version)
    task.info = json.loads(json.dumps(task.info))  # same plain-JSON info whether built or cached
    if path is not None:
        try_save(task, path)
    return task
