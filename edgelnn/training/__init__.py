"""Training and evaluation of zoo models on registered tasks (single process or DDP under torchrun)."""

from edgelnn.training.config import TrainConfig
from edgelnn.training.evaluate import evaluate_model, evaluate_run
from edgelnn.training.rundir import RunDir, find_latest_run
from edgelnn.training.trainer import TrainResult, train

__all__ = ["RunDir", "TrainConfig", "TrainResult", "evaluate_model", "evaluate_run", "find_latest_run", "train"]
