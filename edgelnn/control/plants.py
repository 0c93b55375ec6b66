"""Plants for closed-loop control: gymnasium environments (offline, no rendering) behind one small interface.

A :class:`Plant` is an unwrapped gymnasium env with a control period that can change from step to step
(jitter, a changed control rate) and physics that can be changed for out-of-distribution runs. Physics
overrides (``PHYSICS_KEYS``):

* ``mass_scale``    every body's mass and inertia (MuJoCo) or the pendulum mass ``m`` (Pendulum-v1);
* ``length_scale``  the pendulum length ``l`` (Pendulum-v1 only);
* ``damping_scale`` every joint's damping, and ``friction_scale`` every geom's sliding friction (MuJoCo).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgelnn.errors import PlantError, UnknownPlantError

PHYSICS_KEYS = ("mass_scale", "length_scale", "damping_scale", "friction_scale")


def _pendulum_upright(obs: np.ndarray) -> bool:
    return bool(obs[0] > 0.95)  # cos(theta) > 0.95: within ~18 degrees of upright


def _cartpole_upright(obs: np.ndarray) -> bool:
    return bool(abs(obs[1]) < 0.2)  # InvertedPendulum-v5 terminates beyond 0.2 rad


def _double_upright(obs: np.ndarray) -> bool:
    return bool(obs[3] > 0.9 and obs[4] > 0.9)  # cos of both hinge angles


@dataclass(frozen=True)
class PlantSpec:
    """One registered plant: the gymnasium env, its sizes, episode length, OOD physics and success rule.

    ``success`` is judged on the observations of the last ``success_window`` fraction of an episode that
    ran to its end (not terminated): every one of them must satisfy it. None: the plant defines no success.
    """

    name: str
    env_id: str
    obs_size: int
    act_size: int
    episode_steps: int
    description: str
    physics_ood: dict[str, dict[str, float]]
    noise_std: float  # sensor noise of the "noise" condition, in observation units
    success: Callable[[np.ndarray], bool] | None = None
    success_window: float = 0.25
    make_kwargs: dict[str, Any] = field(default_factory=dict)


_MUJOCO_OOD = {
    "mass-x1.5": {"mass_scale": 1.5},
    "mass-x0.7": {"mass_scale": 0.7},
    "friction": {"damping_scale": 3.0, "friction_scale": 2.0},
}

PLANTS: dict[str, PlantSpec] = {
    spec.name: spec
    for spec in (
        PlantSpec("pendulum", "Pendulum-v1", 3, 1, 200,
                  "Pendulum-v1 swing-up and balance: obs [cos, sin, thetadot], torque in [-2, 2], 20 Hz",
                  {"mass-x1.5": {"mass_scale": 1.5}, "mass-x0.7": {"mass_scale": 0.7},
                   "length-x1.5": {"length_scale": 1.5}, "length-x0.7": {"length_scale": 0.7}},
                  noise_std=0.05, success=_pendulum_upright),
        PlantSpec("cartpole", "InvertedPendulum-v5", 4, 1, 250,
                  "MuJoCo InvertedPendulum-v5 cart-pole balance, continuous force in [-3, 3], 25 Hz",
                  _MUJOCO_OOD, noise_std=0.01, success=_cartpole_upright),
        PlantSpec("doublependulum", "InvertedDoublePendulum-v5", 9, 1, 200,
                  "MuJoCo InvertedDoublePendulum-v5 balance, force in [-1, 1], 20 Hz",
                  _MUJOCO_OOD, noise_std=0.01, success=_double_upright),
        PlantSpec("halfcheetah", "HalfCheetah-v5", 17, 6, 200,
                  "MuJoCo HalfCheetah-v5 locomotion, 6 joint torques in [-1, 1], 20 Hz (no success rule)",
                  _MUJOCO_OOD, noise_std=0.05),
    )
}


def plant_spec(name: str) -> PlantSpec:
    """The registered plant ``name``; UnknownPlantError listing the valid names otherwise."""
    if name not in PLANTS:
        raise UnknownPlantError(f"unknown plant {name!r}; valid plants: {', '.join(PLANTS)}")
    return PLANTS[name]


class Plant:
    """One env instance: ``reset(seed) -> obs``, ``step(action, period) -> (obs, reward, terminated)``."""

    def __init__(self, spec: PlantSpec, env: Any, physics: dict[str, float]) -> None:
        self.spec, self.env, self.physics = spec, env, dict(physics)
        self.is_mujoco = hasattr(env, "model")
        self.frame_skip = int(getattr(env, "frame_skip", 1))
        self.period = float(env.dt)  # the nominal control period (seconds per env step)
        self._nominal_timestep = float(env.model.opt.timestep) if self.is_mujoco else None
        low, high = env.action_space.low, env.action_space.high
        self.action_low, self.action_high = np.asarray(low, np.float64), np.asarray(high, np.float64)

    def reset(self, seed: int) -> np.ndarray:
        obs, _ = self.env.reset(seed=int(seed))
        return np.asarray(obs, dtype=np.float64)

    def set_period(self, period: float) -> None:
        """Make the next env steps last ``period`` seconds (MuJoCo: timestep = period / frame_skip)."""
        if self.is_mujoco:
            self.env.model.opt.timestep = period / self.frame_skip
        else:
            self.env.dt = period

    def step(self, action: np.ndarray, period: float | None = None) -> tuple[np.ndarray, float, bool]:
        """Apply ``action`` (clipped to the action space) for ``period`` seconds (default: nominal)."""
        self.set_period(self.period if period is None else period)
        u = np.clip(np.asarray(action, dtype=np.float64).reshape(self.spec.act_size), self.action_low,
                    self.action_high).astype(np.float32)
        obs, reward, terminated, _, _ = self.env.step(u)
        return np.asarray(obs, dtype=np.float64), float(reward), bool(terminated)

    def close(self) -> None:
        self.set_period(self.period)
        self.env.close()


def _apply_physics(spec: PlantSpec, env: Any, physics: dict[str, float]) -> None:
    for key, value in physics.items():
        if key not in PHYSICS_KEYS:
            raise PlantError(f"unknown physics override {key!r} for plant {spec.name}; valid: {', '.join(PHYSICS_KEYS)}")
        value = float(value)
        if not value > 0:
            raise PlantError(f"physics override {key}={value} for plant {spec.name} must be > 0")
        if hasattr(env, "model"):
            model = env.model
            if key == "mass_scale":
                model.body_mass[:] *= value
                model.body_inertia[:] *= value
            elif key == "damping_scale":
                model.dof_damping[:] *= value
            elif key == "friction_scale":
                model.geom_friction[:, 0] *= value
            else:
                raise PlantError(f"physics override {key!r} is not supported by plant {spec.name} (MuJoCo)")
        elif key == "mass_scale":
            env.m = float(env.m) * value
        elif key == "length_scale":
            env.l = float(env.l) * value
        else:
            raise PlantError(f"physics override {key!r} is not supported by plant {spec.name} (Pendulum-v1)")


def make_plant(name: str, physics: dict[str, float] | None = None) -> Plant:
    """Build plant ``name`` (offline, render_mode=None) with ``physics`` overrides applied.

    Raises UnknownPlantError for an unknown name and PlantError when gymnasium/MuJoCo is missing or the
    env's model cannot load (the message names the env and the cause).
    """
    spec = plant_spec(name)
    try:
        import gymnasium as gym
    except ImportError as exc:
        raise PlantError(f"plant {name} needs gymnasium[mujoco]: pip install 'edgelnn[data]'") from exc
    from edgelnn.tasks.simulate import mujoco_warnings_to_python

    try:
        with mujoco_warnings_to_python():
            env = gym.make(spec.env_id, render_mode=None, **spec.make_kwargs).unwrapped
    except Exception as exc:  # gymnasium.error.DependencyNotInstalled, mujoco's ValueError on a bad XML, ...
        raise PlantError(f"plant {name}: the {spec.env_id} model cannot load ({type(exc).__name__}: {exc})") from exc
    _apply_physics(spec, env, physics or {})
    return Plant(spec, env, physics or {})
