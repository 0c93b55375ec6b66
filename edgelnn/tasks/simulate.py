"""Gymnasium environments with adjustable physics and seeded rollouts (offline, no rendering)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .controllers import Controller, make_mujoco_controller, make_pendulum_controller

# (parameter rng, noise rng, env dt, action dim) -> policy
ControllerFactory = Callable[[np.random.Generator, np.random.Generator, float, int], Controller]


@dataclass(frozen=True)
class EnvSpec:
    """How to build one simulated system and its behaviour policy."""

    env_id: str
    make_kwargs: tuple[tuple[str, Any], ...]
    controller: ControllerFactory
    warmup_max: int  # random number of env steps run before the recorded window
    ood_physics: tuple[tuple[str, float], ...]  # physics overrides of the ood-physics split
    physics_text: str


ENVS: dict[str, EnvSpec] = {
    "walker2d": EnvSpec(
        "Walker2d-v5",
        (("terminate_when_unhealthy", False),),
        make_mujoco_controller,
        50,
        (("body_mass_scale", 1.5),),
        "all body masses and inertias x1.5",
    ),
    "halfcheetah": EnvSpec(
        "HalfCheetah-v5",
        (),
        make_mujoco_controller,
        20,
        (("body_mass_scale", 1.5),),
        "all body masses and inertias x1.5",
    ),
    "pendulum": EnvSpec(
        "Pendulum-v1",
        (),
        make_pendulum_controller,
        20,
        (("l", 1.5),),
        "pendulum length 1.0 -> 1.5",
    ),
}


# Harmless deprecation in gymnasium's bundled half_cheetah.xml; MuJoCo would print it and append
# it to MUJOCO_LOG.TXT in the working directory.
_IGNORED_MUJOCO_WARNINGS = ("compiler attribute 'settotalmass' is deprecated",)


def _forward_mujoco_warning(message: str) -> None:
    if not message.startswith(_IGNORED_MUJOCO_WARNINGS):
        warnings.warn(f"mujoco: {message}", RuntimeWarning, stacklevel=2)


@contextlib.contextmanager
def mujoco_warnings_to_python() -> Iterator[None]:
    """Route MuJoCo warnings to Python's ``warnings`` (no console print, no MUJOCO_LOG.TXT file)."""
    try:
        import mujoco
    except ImportError:  # classic-control envs only
        yield
        return
    previous = mujoco.get_mju_user_warning()
    mujoco.set_mju_user_warning(_forward_mujoco_warning)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)


def make_env(spec: EnvSpec, physics: dict[str, float] | None = None) -> Any:
    """The unwrapped gymnasium env of ``spec`` with ``physics`` overrides applied.

    Supported overrides: ``body_mass_scale`` (MuJoCo: scales every body's mass and inertia),
    ``gravity_scale`` (MuJoCo), and ``m``/``l``/``g`` (Pendulum-v1 attributes).
    """
    try:
        import gymnasium as gym  # lazy: keeps `import edgelnn.tasks` light
    except ImportError as exc:
        raise ImportError(f"{spec.env_id} tasks need gymnasium[mujoco]: pip install 'edgelnn[data]'") from exc

    with mujoco_warnings_to_python():
        env = gym.make(spec.env_id, render_mode=None, **dict(spec.make_kwargs)).unwrapped
    for key, value in (physics or {}).items():
        if key == "body_mass_scale":
            env.model.body_mass[:] *= value
            env.model.body_inertia[:] *= value
        elif key == "gravity_scale":
            env.model.opt.gravity[:] *= value
        elif key in ("m", "l", "g") and hasattr(env, key):
            setattr(env, key, float(value))
        else:
            raise ValueError(f"unsupported physics override {key!r} for {spec.env_id}")
    return env


def env_dt(env: Any) -> float:
    """Simulated seconds per env step."""
    return float(env.dt)


def rollout(env: Any, controller: Controller, reset_seed: int, warmup: int, steps: int) -> np.ndarray:
    """Reset with ``reset_seed``, run ``warmup`` unrecorded steps, then record ``steps`` observations.

    Returns ``[steps, obs_dim]`` float64; row 0 is the observation after the warm-up.
    Raises RuntimeError if the simulation produces a non-finite observation.
    """
    obs, _ = env.reset(seed=int(reset_seed))
    out = np.empty((steps, obs.shape[0]), dtype=np.float64)
    for k in range(warmup + steps):
        if k >= warmup:
            out[k - warmup] = obs
            if k == warmup + steps - 1:
                break
        obs, *_ = env.step(controller(obs, k).astype(np.float32))
    if not np.isfinite(out).all():
        raise RuntimeError(f"non-finite observation in a {type(env).__name__} rollout (seed {reset_seed})")
    return out
