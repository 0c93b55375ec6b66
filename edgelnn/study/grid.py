"""The study grid: which (model, task, seed) cells to run, and each model's hidden size.

Models are the zoo's kinds plus the time-aware RNN baselines (``lstm-time``, ``gru-time``: dt fed as an
extra input feature), so no verdict rests on an RNN that was denied the elapsed time. By default every
model is sized to a parameter budget: the hidden size whose parameter count is nearest to N, within 10%
(the fair comparison of the literature); ``--hidden`` compares all models at one hidden size instead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from edgelnn.study.errors import ParamBudgetError, StudyError

# Study model name -> (zoo kind, model options). LNNs first, then the RNN baselines.
STUDY_MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "cfc": ("cfc", {}),
    "ltc": ("ltc", {}),
    "lrc": ("lrc", {}),
    "lstm": ("lstm", {}),
    "gru": ("gru", {}),
    "lstm-time": ("lstm", {"time_input": True}),
    "gru-time": ("gru", {"time_input": True}),
}
LNN_MODELS = ("cfc", "ltc", "lrc")
RNN_MODELS = ("lstm", "gru", "lstm-time", "gru-time")
PARAM_TOLERANCE = 0.10
MAX_HIDDEN = 1024


def family(model: str) -> str:
    """"lnn" or "rnn" (the two sides of every verdict)."""
    return "lnn" if model in LNN_MODELS else "rnn"


@dataclass(frozen=True)
class Match:
    """How models are sized: ``by`` "params" (budget ``value``, within 10%) or "hidden" (``value`` units)."""

    by: str
    value: int

    def __post_init__(self) -> None:
        if self.by not in ("params", "hidden"):
            raise StudyError(f"match by {self.by!r} is not valid; use params=N or a hidden size")
        if not isinstance(self.value, int) or isinstance(self.value, bool) or self.value < 1:
            raise StudyError(f"match {self.by}={self.value!r} is not valid; it must be an integer >= 1")

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "value": self.value}


@dataclass(frozen=True)
class TrainSettings:
    """Training budget of every cell of one task (same for every model: one footing)."""

    epochs: int = 10
    batch_size: int = 32
    lr: float = 5e-3
    patience: int = 5
    optimizer: str = "adam"
    lr_decay: float = 1.0  # per epoch
    grad_clip: float = 1.0
    task_options: dict[str, Any] = field(default_factory=dict)
    reproduces: str | None = None  # the published setup this reproduces, or None: "not reproduced"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def cell_id(model: str, task: str, seed: int) -> str:
    """The name of a cell (its directory under OUT/cells)."""
    return f"{model}-{task}-s{seed}"


@dataclass(frozen=True)
class Cell:
    """One (model, task, seed) of the grid with everything needed to run it."""

    model: str
    task: str
    seed: int
    hidden_size: int
    train: TrainSettings

    @property
    def cell_id(self) -> str:
        return cell_id(self.model, self.task, self.seed)

    @property
    def kind(self) -> str:
        return STUDY_MODELS[self.model][0]

    @property
    def model_options(self) -> dict[str, Any]:
        return dict(STUDY_MODELS[self.model][1])

    def to_dict(self) -> dict[str, Any]:
        return {"cell_id": self.cell_id, "model": self.model, "kind": self.kind, "model_options": self.model_options,
                "task": self.task, "seed": self.seed, "hidden_size": self.hidden_size, "train": self.train.to_dict()}


def check_names(models: list[str], tasks: list[str], seeds: list[int]) -> None:
    """Raise StudyError for an unknown model or task, a duplicate, a negative seed or an empty grid."""
    from edgelnn.tasks import list_tasks

    for what, names in (("model", models), ("task", tasks), ("seed", seeds)):
        if not names:
            raise StudyError(f"the grid is empty: no {what}s given")
        if len(set(names)) != len(names):
            raise StudyError(f"{what}s repeat: {', '.join(map(str, names))}")
    unknown = [m for m in models if m not in STUDY_MODELS]
    if unknown:
        raise StudyError(f"unknown model(s) {', '.join(unknown)}; valid models: {', '.join(STUDY_MODELS)}")
    valid_tasks = list_tasks()
    unknown = [t for t in tasks if t not in valid_tasks]
    if unknown:
        raise StudyError(f"unknown task(s) {', '.join(unknown)}; valid tasks: {', '.join(valid_tasks)}")
    bad = [s for s in seeds if not isinstance(s, int) or isinstance(s, bool) or s < 0]
    if bad:
        raise StudyError(f"seeds must be integers >= 0, got {bad}")


@lru_cache(maxsize=4096)
def count_parameters(model: str, input_size: int, output_size: int, hidden_size: int) -> int:
    """Trainable parameters of study model ``model`` at these sizes (built once, on the CPU)."""
    from edgelnn.models import build_model, make_config

    kind, options = STUDY_MODELS[model]
    config = make_config(kind, input_size, hidden_size, proj_size=output_size, **options)
    return build_model(config).num_parameters()


def match_hidden(model: str, input_size: int, output_size: int, budget: int,
                 tolerance: float = PARAM_TOLERANCE) -> int:
    """The hidden size whose parameter count is nearest to ``budget``; ParamBudgetError when the nearest
    is further than ``tolerance`` (relative) from it. Parameter counts grow with the hidden size, so doubling
    then bisection finds the crossing in ~15 model builds."""
    def params(h: int) -> int:
        return count_parameters(model, input_size, output_size, h)

    lo, hi = 1, 1
    while params(hi) < budget and hi < MAX_HIDDEN:  # doubling first: never build a huge model for a small budget
        lo, hi = hi, min(2 * hi, MAX_HIDDEN)
    if params(hi) < budget:
        lo = hi
    else:
        while hi - lo > 1:  # invariant: params(hi) >= budget; params(lo) < budget unless lo == 1
            mid = (lo + hi) // 2
            if params(mid) >= budget:
                hi = mid
            else:
                lo = mid
    best = min({lo, hi}, key=lambda h: (abs(params(h) - budget), h))
    if abs(params(best) - budget) > tolerance * budget:
        nearest = sorted({lo, hi})
        counts = ", ".join(f"hidden {h}: {params(h)}" for h in nearest)
        raise ParamBudgetError(
            f"no hidden size puts {model} within {tolerance:.0%} of {budget} parameters on this task "
            f"({input_size} inputs, {output_size} outputs; nearest {counts}); choose another --match params=N "
            "or compare at one --hidden size")
    return best


def task_sizes(task: str, options: dict[str, Any]) -> tuple[int, int]:
    """(input_size, output_size) of a task, loading it (cached for generated tasks)."""
    return _task_sizes(task, tuple(sorted((k, repr(v)) for k, v in options.items())), options)


_SIZES: dict[tuple[str, tuple], tuple[int, int]] = {}


def _task_sizes(task: str, key: tuple, options: dict[str, Any]) -> tuple[int, int]:
    if (task, key) not in _SIZES:
        from edgelnn.tasks import load_task

        loaded = load_task(task, seed=0, **options)
        _SIZES[(task, key)] = (loaded.input_size, loaded.output_size)
    return _SIZES[(task, key)]


def build_grid(models: list[str], tasks: list[str], seeds: list[int], match: Match,
               train: dict[str, TrainSettings]) -> list[Cell]:
    """Every (model, task, seed) cell, tasks outermost; hidden sizes from ``match`` (checked before any work)."""
    check_names(models, tasks, seeds)
    cells = []
    for task in tasks:
        settings = train.get(task, TrainSettings())
        sizes = task_sizes(task, settings.task_options) if match.by == "params" else None
        for model in models:
            hidden = match.value if sizes is None else match_hidden(model, *sizes, match.value)
            cells += [Cell(model, task, seed, hidden, settings) for seed in seeds]
    return cells


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n (SLURM array indices start at 0)."""
    try:
        index, count = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise StudyError(f"shard {text!r} is not valid; expected i/n, e.g. 0/4") from None
    if count < 1 or not 0 <= index < count:
        raise StudyError(f"shard {text!r} is not valid; i/n needs n >= 1 and 0 <= i < n")
    return index, count


def shard_cells(cells: list[Cell], index: int, count: int) -> list[Cell]:
    """The cells of shard ``index`` of ``count``: every count-th cell (round robin spreads slow models)."""
    return cells[index::count]
