"""Next-state prediction on simulated kinematics (Walker2d, HalfCheetah, Pendulum), irregularly sampled.

As in the Walker2d task of the ODE-LSTM and CfC papers: each sequence is a rollout of a seeded
behaviour policy (see :mod:`.controllers`); every env step after the first is dropped with a
per-sequence probability drawn from ``drop_range``. The input at step ``j`` is the observation at
the ``j``-th kept env step, its timespan is the elapsed env steps times the env ``dt`` (the first
sample counts one env step), and the target is the observation at the next kept step. Inputs and
targets are standardised with the per-feature statistics of the train inputs (``info["x_mean"]``,
``info["x_std"]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Split, Task
from .rng import make_rng
from .sequences import add_noise, feature_stats, kept_indices
from .simulate import ENVS, EnvSpec, env_dt, make_env, mujoco_warnings_to_python, rollout

OOD_TIMING_FACTOR = 3  # ood-timing: the test rollouts' kept-step pattern stretched this many times

DESCRIPTIONS = {
    "walker2d": "MuJoCo Walker2d-v5 kinematics: predict the next kept 17-d observation, irregular sampling",
    "halfcheetah": "MuJoCo HalfCheetah-v5 kinematics: predict the next kept 17-d observation, irregular sampling",
    "pendulum": "Pendulum-v1 [cos, sin, thetadot]: predict the next kept observation, irregular sampling",
}


@dataclass(frozen=True)
class Plan:
    """Everything random about one sequence except the policy's own streams."""

    reset_seed: int
    warmup: int
    index: np.ndarray  # kept env-step indices (seq_len + 1 of them, first is 0)


def plan_sequences(
    key: str, seed: int, stream: str, n: int, seq_len: int, drop_range: tuple[float, float], warmup_max: int
) -> list[Plan]:
    """Seeded reset seeds, warm-up lengths and kept-step patterns of ``n`` sequences."""
    plans = []
    for i in range(n):
        rng = make_rng(seed, key, stream, i, "plan")
        reset_seed = int(rng.integers(0, 2**31 - 1))
        warmup = int(rng.integers(0, warmup_max + 1))
        rate = float(rng.uniform(*drop_range))
        plans.append(Plan(reset_seed, warmup, kept_indices(seq_len + 1, rate, rng)))
    return plans


def simulate(
    key: str,
    seed: int,
    stream: str,
    plans: list[Plan],
    steps: list[int],
    physics: dict[str, float] | None = None,
) -> tuple[list[np.ndarray], float]:
    """Roll out the planned sequences (``steps[i]`` recorded env steps each) under ``physics``.

    The policy of sequence ``i`` depends only on ``(seed, key, stream, i)``, so the same stream
    under other physics gives the same policies, resets and sampling patterns.
    """
    spec: EnvSpec = ENVS[key]
    env = make_env(spec, physics)
    dt = env_dt(env)
    act_dim = int(env.action_space.shape[0])
    raws = []
    with mujoco_warnings_to_python():
        for i, (plan, n_steps) in enumerate(zip(plans, steps)):
            policy = spec.controller(
                make_rng(seed, key, stream, i, "policy"), make_rng(seed, key, stream, i, "noise"), dt, act_dim
            )
            raws.append(rollout(env, policy, plan.reset_seed, plan.warmup, n_steps))
    env.close()
    return raws, dt


def sample_irregular(
    raws: list[np.ndarray], indices: list[np.ndarray], dt: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs ``[N,T,D]``, timespans ``[N,T]`` and next-kept-step targets ``[N,T,D]`` (float64)."""
    x = np.stack([raw[index[:-1]] for raw, index in zip(raws, indices)])
    y = np.stack([raw[index[1:]] for raw, index in zip(raws, indices)])
    gaps = np.stack([np.diff(index[:-1], prepend=index[0] - 1) for index in indices])
    return x, gaps * dt, y


def generate(
    key: str,
    seed: int,
    stream: str,
    n: int,
    seq_len: int,
    drop_range: tuple[float, float],
    physics: dict[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw (unstandardised) ``x, t, y`` of one stream of sequences."""
    plans = plan_sequences(key, seed, stream, n, seq_len, drop_range, ENVS[key].warmup_max)
    raws, dt = simulate(key, seed, stream, plans, [int(p.index[-1]) + 1 for p in plans], physics)
    return sample_irregular(raws, [p.index for p in plans], dt)


def _split(x: np.ndarray, t: np.ndarray, y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> Split:
    return Split(
        x=((x - mean) / std).astype(np.float32),
        t=t.astype(np.float32),
        y=((y - mean) / std).astype(np.float32),
        mask=np.ones(t.shape, dtype=bool),
    )


def build_kinematics(
    key: str,
    seed: int = 0,
    n_train: int = 256,
    n_val: int = 64,
    n_test: int = 64,
    seq_len: int = 64,
    drop_range: tuple[float, float] = (0.1, 0.3),
    ood_drop_rate: float = 0.5,
    noise_std: float = 0.2,
) -> Task:
    """Build the kinematics task ``key`` (walker2d, halfcheetah or pendulum).

    Options: split sizes (ood splits have ``n_test`` sequences), ``seq_len`` samples per sequence,
    per-sequence drop probability range ``drop_range``, ``ood_drop_rate`` of ood-drop and
    ``noise_std`` of ood-noise (in units of the train feature std).
    """
    spec = ENVS[key]
    drop_range = (float(drop_range[0]), float(drop_range[1]))
    ood_physics = dict(spec.ood_physics)
    train_x, train_t, train_y = generate(key, seed, "train", n_train, seq_len, drop_range)
    val_x, val_t, val_y = generate(key, seed, "val", n_val, seq_len, drop_range)

    # Test rollouts are long enough for both the test pattern and the sparser ood-drop pattern.
    test_plans = plan_sequences(key, seed, "test", n_test, seq_len, drop_range, spec.warmup_max)
    drop_index = [
        kept_indices(seq_len + 1, ood_drop_rate, make_rng(seed, key, "ood-drop", i)) for i in range(n_test)
    ]
    timing_index = [p.index * OOD_TIMING_FACTOR for p in test_plans]
    steps = [int(max(p.index[-1], d[-1], s[-1])) + 1 for p, d, s in zip(test_plans, drop_index, timing_index)]
    test_raws, dt = simulate(key, seed, "test", test_plans, steps)
    test_x, test_t, test_y = sample_irregular(test_raws, [p.index for p in test_plans], dt)
    timing_x, timing_t, timing_y = sample_irregular(test_raws, timing_index, dt)
    drop_x, drop_t, drop_y = sample_irregular(test_raws, drop_index, dt)
    phys_x, phys_t, phys_y = generate(key, seed, "test", n_test, seq_len, drop_range, ood_physics)

    mean, std = feature_stats(train_x, np.ones(train_t.shape, dtype=bool))
    test = _split(test_x, test_t, test_y, mean, std)
    splits = {
        "train": _split(train_x, train_t, train_y, mean, std),
        "val": _split(val_x, val_t, val_y, mean, std),
        "test": test,
        "ood-noise": add_noise(test, np.full(len(mean), noise_std), make_rng(seed, key, "ood-noise")),
        "ood-drop": _split(drop_x, drop_t, drop_y, mean, std),
        "ood-physics": _split(phys_x, phys_t, phys_y, mean, std),
        "ood-timing": _split(timing_x, timing_t, timing_y, mean, std),
    }
    ood = {
        "ood-noise": f"test split + additive gaussian sensor noise on the inputs, sigma={noise_std} of train feature std",
        "ood-drop": (
            f"test rollouts with env steps dropped with probability {ood_drop_rate} instead of "
            f"{drop_range[0]}-{drop_range[1]}; timespans are the true elapsed time"
        ),
        "ood-physics": f"test policies, resets and sampling with changed physics: {spec.physics_text}",
        "ood-timing": (
            f"test rollouts sampled {OOD_TIMING_FACTOR}x more sparsely (each kept-step gap {OOD_TIMING_FACTOR}x "
            "longer): timespans beyond the training range, targets the next kept observation"
        ),
    }
    obs_dim = int(train_x.shape[2])
    return Task(
        name=key,
        kind="regression",
        metric="mse",
        input_size=obs_dim,
        output_size=obs_dim,
        splits=splits,
        ood_descriptions=ood,
        description=DESCRIPTIONS[key],
        info={
            "env_id": spec.env_id,
            "dt": dt,
            "x_mean": mean.tolist(),
            "x_std": std.tolist(),
            "drop_range": list(drop_range),
            "noise_std": noise_std,
            "physics": {"ood-physics": ood_physics},
            "splits": {"ood-drop": {"drop_rate": ood_drop_rate}},
        },
    )
