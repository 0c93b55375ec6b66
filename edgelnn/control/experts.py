"""Experts without reinforcement learning: energy swing-up + LQR, LQR from a linearisation, a seeded gait.

Every expert maps ``(observation, time since the episode started)`` to an action and keeps no state, so
it can relabel any state a learner visits (DAgger). The LQR gains come from the plant's own discrete
dynamics at its nominal control period:

* Pendulum-v1: its update equations linearised by hand at the upright position;
* MuJoCo plants: central finite differences of one whole env step (``frame_skip`` calls of ``mj_step``
  with the env's own integrator) on a scratch ``MjData``. ``mujoco.mjd_transitionFD`` would give one
  ``mj_step``, but it refuses the RK4 integrator that InvertedPendulum-v5 uses, and one env step is
  several ``mj_step`` calls anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgelnn.control.plants import Plant, plant_spec


@dataclass(frozen=True)
class LQR:
    """A discrete LQR design: ``u = -K x`` for ``x' = A x + B u``, with its closed-loop eigenvalues."""

    A: np.ndarray
    B: np.ndarray
    K: np.ndarray

    @property
    def closed_loop_eigenvalues(self) -> np.ndarray:
        return np.linalg.eigvals(self.A - self.B @ self.K)


def dlqr(A: np.ndarray, B: np.ndarray, Q: np.ndarray, R: np.ndarray) -> LQR:
    """Discrete-time LQR gain from the discrete algebraic Riccati equation."""
    from scipy.linalg import solve_discrete_are

    P = solve_discrete_are(A, B, Q, R)
    K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
    return LQR(A, B, K)


def pendulum_linearisation(g: float = 10.0, m: float = 1.0, l: float = 1.0, dt: float = 0.05) -> tuple:
    """``A, B`` of Pendulum-v1's semi-implicit Euler update at the upright position, state (theta, thetadot)."""
    a, b = 3.0 * g / (2.0 * l), 3.0 / (m * l**2)
    A = np.array([[1.0 + a * dt * dt, dt], [a * dt, 1.0]])
    B = np.array([[b * dt * dt], [b * dt]])
    return A, B


def mujoco_linearisation(plant: Plant, eps: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """``A, B`` of one env step of a MuJoCo plant around qpos = qvel = ctrl = 0 (state ``[qpos, qvel]``)."""
    import mujoco

    model = plant.env.model
    data = mujoco.MjData(model)
    nq, nv, nu = model.nq, model.nv, model.nu

    def step(state: np.ndarray, ctrl: np.ndarray) -> np.ndarray:
        mujoco.mj_resetData(model, data)
        data.qpos[:], data.qvel[:], data.ctrl[:] = state[:nq], state[nq:], ctrl
        for _ in range(plant.frame_skip):
            mujoco.mj_step(model, data)
        return np.concatenate([data.qpos, data.qvel])

    x0, u0 = np.zeros(nq + nv), np.zeros(nu)
    A = np.empty((nq + nv, nq + nv))
    B = np.empty((nq + nv, nu))
    for i in range(nq + nv):
        dx = np.zeros(nq + nv)
        dx[i] = eps
        A[:, i] = (step(x0 + dx, u0) - step(x0 - dx, u0)) / (2 * eps)
    for j in range(nu):
        du = np.zeros(nu)
        du[j] = eps
        B[:, j] = (step(x0, u0 + du) - step(x0, u0 - du)) / (2 * eps)
    return A, B


class Expert:
    """Base: ``act(obs, t) -> action`` clipped to the plant's action limits."""

    name = "expert"

    def __init__(self, low: np.ndarray, high: np.ndarray) -> None:
        self.low, self.high = low, high

    def __call__(self, obs: np.ndarray, t: float) -> np.ndarray:
        return np.clip(self.raw(np.asarray(obs, dtype=np.float64), float(t)), self.low, self.high)

    def raw(self, obs: np.ndarray, t: float) -> np.ndarray:
        raise NotImplementedError


class PendulumExpert(Expert):
    """Energy-pumping swing-up (``u = k (E* - E) thetadot``) and LQR balance near the top."""

    name = "energy swing-up + LQR"

    def __init__(self, plant: Plant, energy_gain: float = 2.0, switch_cos: float = 0.85) -> None:
        super().__init__(plant.action_low, plant.action_high)
        A, B = pendulum_linearisation(dt=plant.period)  # designed for the nominal pendulum
        self.lqr = dlqr(A, B, np.diag([1.0, 0.1]), np.array([[0.01]]))
        self.energy_gain, self.switch_cos = energy_gain, switch_cos

    def raw(self, obs: np.ndarray, t: float) -> np.ndarray:
        theta, omega = np.arctan2(obs[1], obs[0]), obs[2]
        if obs[0] > self.switch_cos:
            return -self.lqr.K @ np.array([theta, omega])
        # E = I w^2 / 2 + m g l/2 (cos(theta) - 1), I = m l^2 / 3: zero at upright rest; dE/dt = w u.
        energy = omega**2 / 6.0 + 5.0 * (np.cos(theta) - 1.0)
        return np.array([-self.energy_gain * energy * omega + 1e-3 * np.sign(omega + 1e-9)])


def _cartpole_state(obs: np.ndarray) -> np.ndarray:
    return obs[:4]


def _double_state(obs: np.ndarray) -> np.ndarray:
    # obs: [x, sin q1, sin q2, cos q1, cos q2, qvel (3), constraint force]
    return np.array([obs[0], np.arctan2(obs[1], obs[3]), np.arctan2(obs[2], obs[4]), *obs[5:8]])


class LQRExpert(Expert):
    """LQR on the linearised MuJoCo env step; the observation is mapped back to ``[qpos, qvel]``."""

    name = "LQR"

    def __init__(self, plant: Plant, Q: np.ndarray, R: np.ndarray, state_of) -> None:
        super().__init__(plant.action_low, plant.action_high)
        A, B = mujoco_linearisation(plant)
        self.lqr = dlqr(A, B, Q, R)
        self.state_of = state_of

    def raw(self, obs: np.ndarray, t: float) -> np.ndarray:
        return -self.lqr.K @ self.state_of(obs)


class GaitExpert(Expert):
    """One seeded PD gait of the kinematics tasks (:class:`edgelnn.tasks.controllers.PDGait`), noise off.

    Its action depends on the time since the episode started (the gait's phase), not only on the state.
    """

    name = "PD gait (seeded)"

    def __init__(self, plant: Plant, seed: int = 0) -> None:  # seed 0: a gait that runs forward
        from edgelnn.tasks.controllers import PDGait

        super().__init__(plant.action_low, plant.action_high)
        act = plant.spec.act_size
        self.gait = PDGait(np.random.default_rng(seed), np.random.default_rng(0), plant.period,
                           slice(2, 2 + act), slice(11, 11 + act), act, 1.0)
        self.gait.sigma = 0.0  # a deterministic labeller
        self.period = plant.period

    def raw(self, obs: np.ndarray, t: float) -> np.ndarray:
        return self.gait(obs, t / self.period)  # the gait's step index, fractional between env steps


def make_expert(name: str) -> Expert:
    """The expert of plant ``name``, designed on a fresh plant with nominal physics and control period
    (under changed physics it is a mismatched controller, like a real one)."""
    from edgelnn.control.plants import make_plant

    plant = make_plant(name)
    try:
        return _design(name, plant)
    finally:
        plant.close()


def _design(name: str, plant: Plant) -> Expert:
    if name == "pendulum":
        return PendulumExpert(plant)
    if name == "cartpole":
        return LQRExpert(plant, np.diag([1.0, 10.0, 0.1, 0.1]), np.array([[0.1]]), _cartpole_state)
    if name == "doublependulum":
        return LQRExpert(plant, np.diag([1.0, 20.0, 20.0, 0.1, 0.1, 0.1]), np.array([[0.5]]), _double_state)
    if name == "halfcheetah":
        return GaitExpert(plant)
    raise ValueError(f"no expert for plant {plant_spec(name).name}")


class ZeroPolicy(Expert):
    """Always zero action: the 0 of normalised return."""

    name = "zero action"

    def __init__(self, plant: Plant) -> None:
        super().__init__(plant.action_low, plant.action_high)
        self.size = plant.spec.act_size

    def raw(self, obs: np.ndarray, t: float) -> np.ndarray:
        return np.zeros(self.size)
