"""The training loop: whole batches of sequences, early stopping, atomic checkpoints, resume, DDP."""

from __future__ import annotations

import contextlib
import json
import pickle
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from edgelnn import __version__
from edgelnn.errors import CheckpointError, EdgelnnError, OptionConflictError, RunInUseError, TrainStateError
from edgelnn.models.base import StepModel
from edgelnn.models.checkpoint import load_state_strict, read_checkpoint, save_checkpoint
from edgelnn.models.registry import build_model, make_config
from edgelnn.tasks import Task, load_task_for  # load_task_for re-exported for older callers
from edgelnn.training.compiled import compile_training_steps
from edgelnn.training.config import TrainConfig
from edgelnn.training.distributed import DistContext, setup_distributed, teardown_distributed
from edgelnn.training.evaluate import evaluate_model, evaluate_split, split_tensors
from edgelnn.training.objectives import HIGHER_IS_BETTER, OBJECTIVES
from edgelnn.training.optimizers import build_optimizer, epoch_lr, set_lr
from edgelnn.training.rundir import RunDir
from edgelnn.utils.atomic import atomic_write, write_json_atomic
from edgelnn.utils.locking import exclusive_lock


@dataclass
class TrainResult:
    run_dir: Path
    best_epoch: int
    metrics: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)


class SequenceModule(nn.Module):
    """nn.Module whose forward runs a whole sequence, so DistributedDataParallel can wrap it."""

    def __init__(self, model: StepModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.model.run(x, t, mask=mask)[0]


def build_for_task(cfg: TrainConfig, task: Task, init_from: str | Path | None = None) -> StepModel:
    """A fresh model sized for the task, or one started from a checkpoint (e.g. imported from ncps)."""
    if init_from is None:
        return build_model(make_config(cfg.model, task.input_size, cfg.hidden_size, proj_size=task.output_size,
                                       **cfg.model_options))
    config, tensors, _ = read_checkpoint(init_from)
    _check_init_matches(cfg, config, init_from)
    if config.input_size != task.input_size:
        raise CheckpointError(
            f"checkpoint {init_from} takes {config.input_size} inputs but task {task.name} has {task.input_size}"
        )
    model = build_model(config.replace(proj_size=task.output_size))
    own = model.state_dict()
    # Keep the imported readout when it already fits the task; otherwise start a new one.
    fits = all(k in tensors and tensors[k].shape == v.shape for k, v in own.items() if k.startswith("proj."))
    if not fits:
        tensors = {k: v for k, v in tensors.items() if not k.startswith("proj.")}
        tensors.update({k: v for k, v in own.items() if k.startswith("proj.")})
    load_state_strict(model, tensors, f"checkpoint {init_from}")
    return model


def _check_init_matches(cfg: TrainConfig, config: Any, init_from: str | Path) -> None:
    """The model settings of ``cfg`` must describe the checkpoint it starts from: a fine-tune never silently
    trains another model than the one asked for (the CLI fills unset ones from the checkpoint)."""
    asked = {"model": cfg.model, "hidden_size": cfg.hidden_size, **cfg.model_options}
    held = {"model": config.kind, "hidden_size": config.hidden_size,
            **{k: getattr(config, k, None) for k in cfg.model_options}}
    for key, value in asked.items():
        if value != held[key] and not (isinstance(held[key], tuple) and list(held[key]) == value):
            raise OptionConflictError(f"{key}={value!r} conflicts with --init-from {init_from}, which holds "
                                      f"{key}={held[key]!r} ({config.kind}, hidden {config.hidden_size}); "
                                      f"pass {key}={held[key]!r} or leave it unset")


def _score(metric: str, value: float, loss: float) -> tuple[float, float]:
    """Model-selection key, larger is better: the task metric, ties broken by the validation loss
    (small validation sets make accuracy ties common)."""
    return (value if HIGHER_IS_BETTER[metric] else -value, -loss)


def _prepare_dir(run: RunDir, resume: bool) -> None:
    if resume:
        if not run.train_state.is_file():
            raise FileNotFoundError(f"cannot resume: {run.path} has no train_state.pt")
        return
    if run.config.exists():
        raise FileExistsError(f"run directory {run.path} already holds a run; pass --resume or choose another --out")
    run.path.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def _claim_run_dir(run: RunDir, resume: bool, ctx: DistContext) -> Iterator[None]:
    """Lock the run directory for the whole training (rank 0 holds ``.RUN.lock``; the other ranks write
    nothing) and prepare it. Every rank learns rank 0's outcome, so a refused run (RunInUseError: another
    training writes RUN) fails on all ranks instead of leaving them waiting at a barrier."""
    held, failure = contextlib.ExitStack(), None
    if ctx.is_main:
        try:
            run.path.parent.mkdir(parents=True, exist_ok=True)
            held.enter_context(exclusive_lock(run.lock, f"run directory {run.path}", RunInUseError))
            _prepare_dir(run, resume)
        except (EdgelnnError, OSError) as exc:
            held.close()
            failure = exc
    if ctx.enabled:
        shared = [failure]
        dist.broadcast_object_list(shared, src=0)
        failure = shared[0]
    if failure is not None:
        raise failure
    with held:
        yield


def train(cfg: TrainConfig, out_dir: str | Path, resume: bool = False, progress: bool = True,
          init_from: str | Path | None = None, device: str = "auto") -> TrainResult:
    """Train ``cfg.model`` on ``cfg.task`` into ``out_dir``; returns the best epoch's metrics per split.

    The run directory is locked while training writes it: a second training into it is refused.
    """
    ctx = setup_distributed(device)
    try:
        with contextlib.ExitStack() as run_lock:  # _train enters the lock once the settings proved valid
            return _train(cfg, RunDir(Path(out_dir)), resume, progress, init_from, ctx, run_lock)
    finally:
        teardown_distributed(ctx)


def _train(cfg: TrainConfig, run: RunDir, resume: bool, progress: bool, init_from, ctx: DistContext,
           run_lock: contextlib.ExitStack) -> TrainResult:
    torch.manual_seed(cfg.seed)
    task = load_task_for(cfg)  # bad task or model settings fail here, before anything is written
    objective = OBJECTIVES[task.kind]
    model = build_for_task(cfg, task, init_from).to(ctx.device)
    if cfg.compile_step:
        compile_training_steps(model)
    run_lock.enter_context(_claim_run_dir(run, resume, ctx))  # held until training ends
    optimizer = build_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.weight_decay)
    start_epoch, best, best_epoch, stale, history = 0, None, -1, 0, []
    if resume:
        _, tensors, _ = read_checkpoint(run.last)
        load_state_strict(model, tensors, f"checkpoint {run.last}")
        state = _load_train_state(run.train_state)
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        start_epoch, best_epoch, stale = int(state["epoch"]) + 1, int(state["best_epoch"]), int(state["stale"])
        best = None if best_epoch < 0 else tuple(float(v) for v in state["best"])
        history = list(_read_json(run.history, []))
    elif ctx.is_main:
        write_json_atomic(run.config, {
            "edgelnn_version": __version__, "train": cfg.to_dict(), "model": model.config.to_dict(),
            "init_from": None if init_from is None else str(init_from),
            "task": {"name": task.name, "kind": task.kind, "metric": task.metric, "input_size": task.input_size,
                     "output_size": task.output_size, "splits": list(task.splits),
                     "ood": task.ood_descriptions},
        })
    wrapped: nn.Module = SequenceModule(model)
    if ctx.enabled:
        wrapped = nn.parallel.DistributedDataParallel(wrapped)
    x, t, y, mask = split_tensors(task.splits["train"], ctx.device)
    n = x.shape[0]
    meta = {"task": task.name, "metric": task.metric}
    epochs = range(start_epoch, cfg.epochs)
    bar = tqdm(epochs, desc=f"{cfg.model}/{task.name}", disable=not (progress and ctx.is_main), unit="epoch")
    for epoch in bar:
        started = time.perf_counter()
        lr = epoch_lr(cfg.lr, cfg.lr_decay, epoch)
        set_lr(optimizer, lr)
        model.train()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 100_003 + epoch))
        loss_total, count_total = 0.0, 0
        for i in range(0, n, cfg.batch_size):
            batch = order[i : i + cfg.batch_size].to(ctx.device)
            count = objective.count(mask[batch])  # normaliser of the whole global batch
            shard = batch[ctx.rank :: ctx.world_size]
            out = wrapped(x[shard], t[shard], mask[shard])
            loss_sum = objective.loss_sum(out, y[shard], mask[shard])
            optimizer.zero_grad(set_to_none=True)
            (loss_sum * ctx.world_size / max(count, 1)).backward()  # DDP averages over ranks
            if cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            model.apply_weight_constraints()
            loss_total += float(loss_sum.detach())
            count_total += count if not ctx.enabled else objective.count(mask[shard])
        val, val_loss = evaluate_split(model, task, "val", device=ctx.device)
        seconds = time.perf_counter() - started
        record = {"epoch": epoch, "train_loss": loss_total / max(count_total, 1), f"val_{task.metric}": val,
                  "val_loss": val_loss, "seconds": seconds, "lr": lr}
        history.append(record)
        bar.set_postfix(loss=f"{record['train_loss']:.4f}", **{task.metric: f"{val:.4f}"}, s=f"{seconds:.1f}")
        score = _score(task.metric, val, val_loss)
        improved = best is None or score > best
        if improved:
            best, best_epoch, stale = score, epoch, 0
        else:
            stale += 1
        if ctx.is_main:
            if improved:
                save_checkpoint(model, run.best, {**meta, "epoch": str(epoch)})
            save_checkpoint(model, run.last, {**meta, "epoch": str(epoch)})
            _save_train_state(run, optimizer, epoch, best, best_epoch, stale)
            write_json_atomic(run.history, history)
        if cfg.patience and stale >= cfg.patience:
            break
    ctx.barrier()
    _, tensors, _ = read_checkpoint(run.best)
    load_state_strict(model, tensors, f"checkpoint {run.best}")
    metrics = evaluate_model(model, task, device=ctx.device)
    if ctx.is_main:
        write_json_atomic(run.metrics, {"task": task.name, "metric": task.metric, "best_epoch": best_epoch,
                                        "epochs_run": len(history), "splits": metrics,
                                        "parameters": model.num_parameters()})
    return TrainResult(run.path, best_epoch, metrics, history)


def _save_train_state(run: RunDir, optimizer, epoch: int, best, best_epoch: int, stale: int) -> None:
    state = {"optimizer": optimizer.state_dict(), "rng": torch.get_rng_state(), "epoch": epoch,
             "best": [0.0, 0.0] if best is None else list(best), "best_epoch": best_epoch, "stale": stale}
    atomic_write(run.train_state, lambda tmp: torch.save(state, tmp), ".pt")


TRAIN_STATE_KEYS = ("optimizer", "rng", "epoch", "best", "best_epoch", "stale")


def _load_train_state(path: Path) -> dict[str, Any]:
    """The optimizer state, RNG and counters of ``path``, loaded with weights_only (tensors and numbers only:
    no pickled code runs). A truncated, corrupted or foreign file raises TrainStateError."""
    problem = f"{path} is not a train state file that edgelnn can resume from"
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols; the error below says it all
            warnings.simplefilter("ignore")
            state = torch.load(path, weights_only=True, map_location="cpu")
    except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise TrainStateError(f"{problem} (truncated, corrupted or not written by edgelnn: {type(exc).__name__}); "
                              "start a new run") from exc
    if not isinstance(state, dict) or any(key not in state for key in TRAIN_STATE_KEYS):
        raise TrainStateError(f"{problem} (it lacks {', '.join(TRAIN_STATE_KEYS)}); start a new run")
    return state


def _read_json(path: Path, default):
    return json.loads(path.read_text()) if path.is_file() else default
