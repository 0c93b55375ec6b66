"""The task a training configuration names, loaded the way training loaded it.

Lives with the tasks (not the trainer) so that export, bench and evaluation can find a run's data without
importing the training loop.
"""

from __future__ import annotations

from typing import Any

from .base import Task
from .npz import load_npz_task
from .registry import load_task


def load_task_for(train_cfg: Any) -> Task:
    """The task of a training config (a run's ``config.json["train"]`` dict, or a TrainConfig).

    ``data_path`` (a user .npz) wins over ``task`` (a registered name); ``task_options`` go to the loader.
    """
    get = train_cfg.get if isinstance(train_cfg, dict) else lambda key, default=None: getattr(train_cfg, key,
                                                                                               default)
    options = dict(get("task_options") or {})
    data_path = get("data_path")
    if data_path:
        return load_npz_task(data_path, **options)
    name = get("task")
    if not name:
        raise ValueError("the training config names no task (train.task) and no data file (train.data_path)")
    return load_task(name, **options)
