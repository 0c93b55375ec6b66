"""Tasks and data: built-in sequence tasks with in-distribution and out-of-distribution splits.

>>> from edgelnn.tasks import load_task, compute_metric
>>> task = load_task("xor", seed=0, n_train=64, n_val=16, n_test=16, n_ood=16)
>>> task.kind, task.input_size, task.output_size, task.ood_splits()
('classification', 1, 2, ['ood-longer', 'ood-timing', 'ood-noise'])
"""

from .base import Split, Task
from .metrics import compute_metric, last_valid
from .registry import TASKS, TaskSpec, list_tasks, load_npz_task, load_task, task_options

__all__ = [
    "TASKS",
    "Split",
    "Task",
    "TaskSpec",
    "compute_metric",
    "last_valid",
    "list_tasks",
    "load_npz_task",
    "load_task",
    "task_options",
]
