"""The imitation datasets of a plant as a registered task (``control-<plant>``), so training, export and
evaluation treat a policy like any other run.

Each sequence is one episode under the training sampling (period jitter, dropped frames: the policy sees
observations at irregular intervals): inputs are the observations the policy received, timespans the
seconds elapsed since its previous call, targets the expert's action for that observation. Episodes are
padded to the plant's episode length (an episode can end early when the plant terminates).

Splits: train/val/test from expert rollouts; ``dagger_data`` (an ``.npz`` written by
:mod:`edgelnn.control.imitation`) adds the learner-visited, expert-labelled episodes to train. OOD splits:
expert rollouts under each out-of-distribution physics of the plant and under more dropped frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgelnn.control.conditions import Condition, training_condition
from edgelnn.control.plants import PLANTS, plant_spec
from edgelnn.errors import TaskOptionError

if TYPE_CHECKING:  # edgelnn.tasks imports this module (its registry): import its classes when called
    from edgelnn.tasks.base import Split, Task

DESCRIPTIONS = {name: f"imitation of the {name} expert in closed loop ({spec.description})"
                for name, spec in PLANTS.items()}
OOD_DROP_PROB = 0.5


def rollouts_to_split(episodes: list[tuple[np.ndarray, np.ndarray, np.ndarray]], steps: int) -> Split:
    """``[(obs [n,F], dt [n], labels [n,A]), ...]`` padded to ``steps`` samples as a regression Split."""
    from edgelnn.tasks.base import Split

    n, features, outputs = len(episodes), episodes[0][0].shape[1], episodes[0][2].shape[1]
    x = np.zeros((n, steps, features), np.float32)
    y = np.zeros((n, steps, outputs), np.float32)
    t = np.ones((n, steps), np.float32)
    mask = np.zeros((n, steps), bool)
    for i, (obs, dt, labels) in enumerate(episodes):
        m = min(len(obs), steps)
        x[i, :m], t[i, :m], y[i, :m], mask[i, :m] = obs[:m], dt[:m], labels[:m], True
    return Split(x=x, t=t, y=y, mask=mask)


class NoisyExpert:
    """The expert with gaussian noise on the actions it applies (DART): its episodes visit the states around
    its own trajectory that a learner's small errors lead to; the labels stay the clean expert actions."""

    def __init__(self, expert, sigma: np.ndarray, seed: int) -> None:
        self.expert, self.sigma, self.rng = expert, sigma, np.random.default_rng([seed, 2718])

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray, dt: float, t: float) -> np.ndarray:
        return self.expert(obs, t) + self.sigma * self.rng.standard_normal(self.sigma.shape)


def expert_rollouts(plant_name: str, condition: Condition, seeds: list[int], steps: int, drop_probs=None,
                    action_noise: float = 0.0):
    """Episodes of the plant's expert under ``condition`` (one per seed), labelled by the expert.

    ``action_noise``: each episode's applied actions get gaussian noise with a std drawn from
    ``[0, action_noise]`` times the action limit (the labels are the expert's clean actions)."""
    from edgelnn.control.episode import run_episode
    from edgelnn.control.experts import make_expert
    from edgelnn.control.plants import make_plant

    expert = make_expert(plant_name)
    plant = make_plant(plant_name, condition.physics)
    out = []
    try:
        for i, seed in enumerate(seeds):
            cond = condition if drop_probs is None else training_condition(condition.jitter, drop_probs[i])
            scale = np.random.default_rng([seed, 17]).uniform(0.0, action_noise)
            actor = NoisyExpert(expert, scale * plant.action_high, seed)
            ep = run_episode(plant, actor, cond, seed, steps)
            labels = np.stack([expert(o, t) for o, t in zip(ep.calls_obs, ep.calls_t)])
            out.append((ep.calls_obs, ep.calls_dt, labels))
    finally:
        plant.close()
    return out


def _seeds(seed: int, stream: int, n: int) -> list[int]:
    rng = np.random.default_rng([seed, stream, 104729])
    return [int(s) for s in rng.integers(0, 2**31 - 1, n)]


def load_dagger_data(path: str | Path, features: int, outputs: int, steps: int) -> Split:
    """The aggregated DAgger episodes of ``path`` (x, t, y, mask arrays; no pickled objects are read)."""
    from edgelnn.tasks.base import Split

    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in ("x", "t", "y", "mask")}
    except (OSError, KeyError, ValueError) as exc:
        raise TaskOptionError(f"dagger_data {path}: not a DAgger data file ({type(exc).__name__}: {exc})") from exc
    split = Split(x=arrays["x"].astype(np.float32), t=arrays["t"].astype(np.float32),
                  y=arrays["y"].astype(np.float32), mask=arrays["mask"].astype(bool))
    if split.x.shape[1:] != (steps, features) or split.y.shape[1:] != (steps, outputs):
        raise TaskOptionError(f"dagger_data {path}: x {split.x.shape} / y {split.y.shape} do not fit "
                              f"[N, {steps}, {features}] / [N, {steps}, {outputs}]")
    return split


def windows(split: Split, length: int) -> Split:
    """Every episode cut into consecutive windows of ``length`` samples (windows without a sample dropped):
    shorter sequences train faster (fewer sequential steps per batch) and give more gradient steps."""
    from edgelnn.tasks.base import Split

    steps = split.x.shape[1]
    if length >= steps:
        return split
    parts = []
    for start in range(0, steps, length):
        stop = min(start + length, steps)
        keep = split.mask[:, start]
        if not keep.any():
            break
        pad = length - (stop - start)

        def cut(a, fill, keep=keep, start=start, stop=stop, pad=pad):
            part = a[keep, start:stop]
            widths = [(0, 0), (0, pad)] + [(0, 0)] * (a.ndim - 2)
            return np.pad(part, widths, constant_values=fill)

        parts.append(Split(x=cut(split.x, 0.0), t=cut(split.t, 1.0), y=cut(split.y, 0.0), mask=cut(split.mask, False)))
    return Split(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("x", "t", "y", "mask")))


def _concat(a: Split, b: Split) -> Split:
    from edgelnn.tasks.base import Split

    return Split(*(np.concatenate([getattr(a, k), getattr(b, k)]) for k in ("x", "t", "y", "mask")))


def build_control_task(plant: str, seed: int = 0, n_train: int = 48, n_val: int = 8, n_test: int = 8,
                       episode_steps: int = 1000, jitter: float = 0.2, drop_range: tuple[float, float] = (0.0, 0.3),
                       noise_std: float = 0.05, window_steps: int = 50, action_noise: float = 0.2,
                       dagger_data: str | None = None) -> Task:
    """The imitation task of ``plant`` (see the module docstring).

    ``episode_steps`` is capped at the plant's episode length; ``jitter`` (< 1) is the relative period
    jitter; each training episode drops frames with a probability drawn from ``drop_range``; ``noise_std``
    is the gaussian sensor noise (observation units) added to the test inputs of ``ood-noise``; the train
    split (expert and DAgger episodes) is cut into windows of ``window_steps`` samples; ``action_noise``
    perturbs the expert's applied actions in the train and val episodes (see :func:`expert_rollouts`).
    """
    from edgelnn.tasks.base import Split, Task

    spec = plant_spec(plant)
    if not jitter < 1.0:
        raise TaskOptionError(f"task option jitter={jitter!r} is not valid for task control-{plant}: it must be < 1")
    steps = min(int(episode_steps), spec.episode_steps)
    lo, hi = float(drop_range[0]), float(drop_range[1])
    base = training_condition(jitter, 0.0)

    def drops(stream: int, n: int) -> list[float]:
        return list(np.random.default_rng([seed, stream, 7]).uniform(lo, hi, n))

    def split(stream: int, n: int, condition: Condition = base, drop_probs=None, noise: float = 0.0) -> Split:
        episodes = expert_rollouts(plant, condition, _seeds(seed, stream, n), steps, drop_probs, noise)
        return rollouts_to_split(episodes, steps)

    splits = {
        "train": split(0, n_train, drop_probs=drops(0, n_train), noise=action_noise),
        "val": split(1, n_val, drop_probs=drops(1, n_val), noise=action_noise),
        "test": split(2, n_test, drop_probs=drops(2, n_test)),
    }
    if dagger_data:
        splits["train"] = _concat(splits["train"], load_dagger_data(dagger_data, spec.obs_size, spec.act_size, steps))
    splits["train"] = windows(splits["train"], int(window_steps))
    ood = {}
    for name, physics in spec.physics_ood.items():
        cond = Condition(f"physics-{name}", "", physics=dict(physics), jitter=jitter)
        splits[f"ood-physics-{name}"] = split(2, n_test, cond, drop_probs=drops(2, n_test))
        ood[f"ood-physics-{name}"] = f"test episodes under changed physics: {physics}"
    test = splits["test"]
    noise = np.random.default_rng([seed, 3, 11]).standard_normal(test.x.shape).astype(np.float32) * noise_std
    splits["ood-noise"] = Split(x=np.where(test.mask[..., None], test.x + noise, 0.0).astype(np.float32),
                                t=test.t, y=test.y, mask=test.mask)
    ood["ood-noise"] = f"test episodes with gaussian sensor noise sigma={noise_std} on the inputs (labels clean)"
    splits["ood-drop"] = split(2, n_test, drop_probs=[OOD_DROP_PROB] * n_test)
    ood["ood-drop"] = f"test episodes with frames dropped with p={OOD_DROP_PROB}"
    return Task(
        name=f"control-{plant}", kind="regression", metric="mse", input_size=spec.obs_size,
        output_size=spec.act_size, splits=splits, ood_descriptions=ood, description=DESCRIPTIONS[plant],
        info={"plant": plant, "env_id": spec.env_id, "episode_steps": steps, "jitter": jitter,
              "drop_range": [lo, hi], "noise_std": noise_std, "window_steps": window_steps,
              "action_noise": action_noise, "dagger_data": dagger_data},
    )
