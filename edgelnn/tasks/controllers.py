"""Seeded open-loop and PD-style behaviour policies that drive the simulated trajectories.

Every controller is built from a generator (its parameters) and draws its per-step exploration
noise from a second generator, so a rollout is a pure function of the two seeds and the physics.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Controller = Callable[[np.ndarray, int], np.ndarray]  # (observation, step index) -> action


class PDGait:
    """PD tracking of sinusoidal joint targets ``c + a sin(2 pi f tau + phi)`` plus noise."""

    def __init__(
        self,
        rng: np.random.Generator,
        noise: np.random.Generator,
        dt: float,
        joints: slice,
        joint_vels: slice,
        act_dim: int,
        limit: float,
    ) -> None:
        self.dt, self.joints, self.joint_vels, self.limit, self.noise = dt, joints, joint_vels, limit, noise
        self.center = rng.uniform(-0.3, 0.3, act_dim)
        self.amp = rng.uniform(0.1, 0.8, act_dim)
        self.freq = rng.uniform(0.5, 3.0)
        self.phase = rng.uniform(0, 2 * np.pi, act_dim)
        self.kp = rng.uniform(1.0, 4.0)
        self.kd = rng.uniform(0.05, 0.3)
        self.sigma = rng.uniform(0.0, 0.2)

    def __call__(self, obs: np.ndarray, k: int) -> np.ndarray:
        target = self.center + self.amp * np.sin(2 * np.pi * self.freq * k * self.dt + self.phase)
        u = self.kp * (target - obs[self.joints]) - self.kd * obs[self.joint_vels]
        u = u + self.sigma * self.noise.standard_normal(u.shape)
        return np.clip(u, -self.limit, self.limit)


class SineTorque:
    """Open-loop sinusoidal torques with per-joint amplitude and phase plus noise."""

    def __init__(
        self, rng: np.random.Generator, noise: np.random.Generator, dt: float, act_dim: int, limit: float
    ) -> None:
        self.dt, self.limit, self.noise = dt, limit, noise
        self.amp = rng.uniform(0.3, 1.0, act_dim) * limit
        self.freq = rng.uniform(0.2, 2.5)
        self.phase = rng.uniform(0, 2 * np.pi, act_dim)
        self.sigma = rng.uniform(0.0, 0.2) * limit

    def __call__(self, obs: np.ndarray, k: int) -> np.ndarray:
        u = self.amp * np.sin(2 * np.pi * self.freq * k * self.dt + self.phase)
        u = u + self.sigma * self.noise.standard_normal(u.shape)
        return np.clip(u, -self.limit, self.limit)


class SmoothRandom:
    """Low-pass filtered uniform random actions (temporally correlated exploration)."""

    def __init__(
        self, rng: np.random.Generator, noise: np.random.Generator, act_dim: int, limit: float
    ) -> None:
        self.limit, self.noise = limit, noise
        self.beta = rng.uniform(0.5, 0.95)
        self.u = np.zeros(act_dim)

    def __call__(self, obs: np.ndarray, k: int) -> np.ndarray:
        fresh = self.noise.uniform(-self.limit, self.limit, self.u.shape)
        self.u = self.beta * self.u + (1 - self.beta) * fresh
        return self.u.copy()


class PendulumMix:
    """Pendulum policy: energy-pumping swing-up, PD to a moving target angle, or sine torque."""

    def __init__(self, rng: np.random.Generator, noise: np.random.Generator, dt: float, limit: float) -> None:
        self.dt, self.limit, self.noise = dt, limit, noise
        self.mode = rng.choice(["energy", "pd", "sine"])
        self.gain = rng.uniform(0.5, 2.0)
        self.kp, self.kd = rng.uniform(2.0, 8.0), rng.uniform(0.2, 1.0)
        self.targets = rng.uniform(-np.pi, np.pi, 8)
        self.hold = int(rng.integers(10, 40))
        self.amp = rng.uniform(0.5, 1.0) * limit
        self.freq = rng.uniform(0.1, 1.0)
        self.phase = rng.uniform(0, 2 * np.pi)
        self.sigma = rng.uniform(0.0, 0.3)

    def __call__(self, obs: np.ndarray, k: int) -> np.ndarray:
        theta, omega = np.arctan2(obs[1], obs[0]), obs[2]
        if self.mode == "energy":  # pump toward the upright energy, PD-balance near the top
            energy = 0.5 * omega**2 / 3.0 + 5.0 * (np.cos(theta) - 1.0)  # ~0 at upright rest
            u = -self.gain * energy * np.sign(omega + 1e-6)
            if np.cos(theta) > 0.9:
                u = -self.kp * theta - self.kd * omega
        elif self.mode == "pd":
            target = self.targets[(k // self.hold) % len(self.targets)]
            error = np.arctan2(np.sin(target - theta), np.cos(target - theta))
            u = self.kp * error - self.kd * omega
        else:
            u = self.amp * np.sin(2 * np.pi * self.freq * k * self.dt + self.phase)
        u = u + self.sigma * self.noise.standard_normal()
        return np.clip(np.array([u]), -self.limit, self.limit)


def make_mujoco_controller(
    rng: np.random.Generator, noise: np.random.Generator, dt: float, act_dim: int
) -> Controller:
    """A locomotion policy for Walker2d/HalfCheetah (joint angles obs[2:8], joint velocities obs[11:17]).

    Mixture: 50% PD gait, 25% open-loop sine torques, 25% smoothed random actions.
    """
    kind = rng.choice(3, p=[0.5, 0.25, 0.25])
    if kind == 0:
        return PDGait(rng, noise, dt, slice(2, 2 + act_dim), slice(11, 11 + act_dim), act_dim, 1.0)
    if kind == 1:
        return SineTorque(rng, noise, dt, act_dim, 1.0)
    return SmoothRandom(rng, noise, act_dim, 1.0)


def make_pendulum_controller(
    rng: np.random.Generator, noise: np.random.Generator, dt: float, act_dim: int
) -> Controller:
    """A Pendulum-v1 policy (see :class:`PendulumMix`)."""
    return PendulumMix(rng, noise, dt, 2.0)
