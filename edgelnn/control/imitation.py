"""Policies by imitation: behaviour cloning on expert rollouts, then DAgger iterations.

Every stage is an ordinary training run (``edgelnn.training.train``) on the ``control-<plant>`` task, so
the final policy is an ordinary run directory that the ordinary export takes. DAgger iteration ``i`` rolls
out the previous policy (PyTorch, the same irregular sampling as the datasets), labels every observation
it received with the expert's action, aggregates those episodes into ``data/dagger-<i>.npz`` (named in the
run's task options) and fine-tunes the previous policy on the expert data plus all DAgger episodes.

    OUT/bc/             behaviour cloning run
    OUT/dagger-<i>/     run of DAgger iteration i (the last one is the policy)
    OUT/data/           aggregated DAgger episodes of each iteration
    OUT/imitation.json  settings, the policy's run directory, learner returns per iteration
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.control.conditions import training_condition
from edgelnn.control.task import rollouts_to_split


class TorchPolicy:
    """A StepModel as an actor (batch 1, its own state between calls)."""

    def __init__(self, model: Any) -> None:
        import torch

        self.torch, self.model = torch, model.eval()
        self.state = None

    def reset(self) -> None:
        self.state = self.model.init_state(1)

    def act(self, obs: np.ndarray, dt: float, t: float) -> np.ndarray:
        torch = self.torch
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(obs, np.float32)[None])
            y, self.state = self.model.step(x, self.state, torch.tensor([[float(dt)]], dtype=torch.float32))
        return y[0].numpy().astype(np.float64)


@dataclass
class ImitationResult:
    policy_run: Path
    runs: list[Path]
    learner_returns: list[float] = field(default_factory=list)  # mean DAgger-rollout return per iteration


def collect_dagger(plant_name: str, model: Any, episodes: int, seed: int, steps: int, jitter: float,
                   drop_range: tuple[float, float]) -> tuple[list, float]:
    """Roll out ``model`` on the nominal plant and label what it saw with the expert: (episodes, mean return)."""
    from edgelnn.control.episode import run_episode
    from edgelnn.control.experts import make_expert
    from edgelnn.control.plants import make_plant

    expert, plant = make_expert(plant_name), make_plant(plant_name)
    rng = np.random.default_rng([seed, 31337])
    out, returns = [], []
    try:
        for _ in range(episodes):
            cond = training_condition(jitter, float(rng.uniform(*drop_range)))
            ep = run_episode(plant, TorchPolicy(model), cond, int(rng.integers(0, 2**31 - 1)), steps)
            labels = np.stack([expert(o, t) for o, t in zip(ep.calls_obs, ep.calls_t)])
            out.append((ep.calls_obs, ep.calls_dt, labels))
            returns.append(ep.ret)
    finally:
        plant.close()
    return out, float(np.mean(returns))


def _save_split(split: Any, path: Path) -> None:
    from edgelnn.utils.atomic import atomic_write

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, x=split.x, t=split.t, y=split.y, mask=split.mask)

    atomic_write(path, write, ".npz")


def imitate(plant: str, out_dir: str | Path, model: str = "cfc", hidden_size: int = 32, epochs: int = 40,
            dagger_iterations: int = 2, dagger_epochs: int = 10, dagger_episodes: int = 16, seed: int = 0,
            task_options: dict[str, Any] | None = None, model_options: dict[str, Any] | None = None,
            batch_size: int = 32, lr: float = 5e-3, progress: bool = False) -> ImitationResult:
    """Behaviour cloning then ``dagger_iterations`` DAgger iterations of a ``model`` policy for ``plant``."""
    from edgelnn.control.plants import plant_spec
    from edgelnn.tasks.registry import check_task_options
    from edgelnn.training.config import TrainConfig
    from edgelnn.training.rundir import RunDir
    from edgelnn.training.trainer import train
    from edgelnn.utils.atomic import write_json_atomic

    spec = plant_spec(plant)
    out = Path(out_dir)
    task = f"control-{plant}"
    options = check_task_options(task, dict(task_options or {}))
    steps = min(int(options["episode_steps"]), spec.episode_steps)
    base = {"model": model, "task": task, "hidden_size": hidden_size, "model_options": dict(model_options or {}),
            "batch_size": batch_size, "lr": lr, "seed": seed, "patience": 0}
    run = out / "bc"
    train(TrainConfig(epochs=epochs, task_options=dict(task_options or {}), **base), run, progress=progress)
    runs, returns, aggregated = [run], [], []
    for i in range(1, dagger_iterations + 1):
        learner = RunDir(run).load_model()
        episodes, mean_return = collect_dagger(plant, learner, dagger_episodes, seed * 1000 + i, steps,
                                               float(options["jitter"]), tuple(options["drop_range"]))
        returns.append(mean_return)
        aggregated += episodes
        data = (out / "data" / f"dagger-{i}.npz").resolve()
        _save_split(rollouts_to_split(aggregated, steps), data)
        previous, run = run, out / f"dagger-{i}"
        cfg = TrainConfig(epochs=dagger_epochs, task_options={**dict(task_options or {}), "dagger_data": str(data)},
                          **base)
        train(cfg, run, progress=progress, init_from=RunDir(previous).best)
        runs.append(run)
    write_json_atomic(out / "imitation.json", {
        "plant": plant, "model": model, "hidden_size": hidden_size, "epochs": epochs,
        "dagger_iterations": dagger_iterations, "dagger_epochs": dagger_epochs, "dagger_episodes": dagger_episodes,
        "seed": seed, "task_options": dict(task_options or {}), "policy_run": str(run),
        "runs": [str(r) for r in runs], "learner_returns": returns,
    })
    return ImitationResult(run, runs, returns)
