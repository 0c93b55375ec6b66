"""Tasks and data: built-in sequence tasks with in-distribution and out-of-distribution splits.

>>> from edgelnn.tasks import load_task, compute_metric
>>> task = load_task("xor", seed=0, n_train=64, n_val=16, n_test=16, n_ood=16)
>>> task.kind, task.input_size, task.output_size, task.ood_splits()
('classification', 1, 2, ['ood-longer', 'ood-timing', 'ood-noise'])
"""

from .base import Split, Task
from .from_config import load_task_for
from .metrics import METRICS, MetricSpec, compute_metric, last_valid, metric_spec
from .registry import TASKS, TaskSpec, list_tasks, load_npz_task, load_task, task_options

__all__ = [
    "METRICS",
    "TASKS",
    "MetricSpec",
    "Split",
    "Task",
    "TaskSpec",
    "compute_metric",
    "last_valid",
    "list_tasks",
    "load_npz_task",
    "load_task",
    "load_task_for",
    "metric_spec",
    "task_options",
]
