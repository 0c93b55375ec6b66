"""Experts stabilise their plants: LQR gain shapes, closed-loop eigenvalues, poles that stay up."""

from __future__ import annotations

import numpy as np
import pytest

from edgelnn.control.conditions import conditions_for
from edgelnn.control.episode import ExpertActor, run_episode
from edgelnn.control.experts import ZeroPolicy, make_expert
from edgelnn.control.plants import make_plant


@pytest.mark.parametrize("name, shape", [("pendulum", (1, 2)), ("cartpole", (1, 4)), ("doublependulum", (1, 6))])
def test_lqr_gain_shape_and_stable_closed_loop(name, shape):
    lqr = make_expert(name).lqr
    assert lqr.K.shape == shape
    assert np.abs(lqr.closed_loop_eigenvalues).max() < 1.0
    assert np.abs(np.linalg.eigvals(lqr.A)).max() > 1.0  # the upright plant itself is unstable


def test_mujoco_linearisation_predicts_one_env_step():
    """A and B from finite differences of whole env steps (RK4, frame_skip 2) predict a small step's deviation
    from the step of the zero state (the pole's centre of mass sits 0.5 mm off the hinge axis, so upright
    is not exactly an equilibrium)."""
    plant, expert = make_plant("cartpole"), make_expert("cartpole")

    def env_step(x, u):
        plant.reset(0)
        plant.env.set_state(x[:2], x[2:])
        return plant.step(u)[0]

    x0, u = np.array([0.0, 0.01, 0.0, -0.02]), np.array([0.05])
    moved = env_step(x0, u) - env_step(np.zeros(4), np.zeros(1))
    predicted = expert.lqr.A @ x0 + expert.lqr.B @ u
    assert np.abs(moved - predicted).max() <= 1e-3 * np.abs(moved).max()


@pytest.mark.parametrize("name", ["pendulum", "cartpole", "doublependulum"])
def test_expert_keeps_the_pole_up_and_zero_action_does_not(name):
    plant, nominal = make_plant(name), conditions_for(name)["nominal"]
    expert, zero = ExpertActor(make_expert(name)), ExpertActor(ZeroPolicy(plant))
    for seed in (1, 2):
        good = run_episode(plant, expert, nominal, seed, steps=100)
        bad = run_episode(plant, zero, nominal, seed, steps=100)
        assert good.success and not good.terminated
        assert not bad.success
        assert good.ret > bad.ret


def test_gait_expert_moves_forward():
    plant = make_plant("halfcheetah")
    ep = run_episode(plant, ExpertActor(make_expert("halfcheetah")), conditions_for("halfcheetah")["nominal"], 0)
    assert ep.success is None  # locomotion defines no success
    zero = run_episode(plant, ExpertActor(ZeroPolicy(plant)), conditions_for("halfcheetah")["nominal"], 0)
    assert ep.ret > zero.ret + 10.0
