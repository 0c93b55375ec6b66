"""The closed loop itself: NaN/Inf policies, dropped and delayed observations, elapsed-time dt, shape errors."""

from __future__ import annotations

import numpy as np
import pytest

from edgelnn.control.conditions import Condition, conditions_for
from edgelnn.control.episode import run_episode
from edgelnn.control.loop import RuntimePolicy, check_policy_fits, evaluate_condition
from edgelnn.control.plants import make_plant
from edgelnn.errors import PolicyShapeError


class Recorder:
    """A policy that records what it was given and outputs ``values[k]`` at its k-th call."""

    def __init__(self, values):
        self.values, self.seen, self.dts = values, [], []

    def reset(self):
        self.seen, self.dts = [], []

    def act(self, obs, dt, t):
        self.seen.append(np.array(obs))
        self.dts.append(dt)
        return np.array([self.values[min(len(self.seen) - 1, len(self.values) - 1)]])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_action_fails_the_episode_and_holds_zero(bad):
    plant = make_plant("pendulum")
    policy = Recorder([1.5] * 5 + [bad])
    ep = run_episode(plant, policy, conditions_for("pendulum")["nominal"], seed=0, steps=20)
    assert ep.failed and ep.success is False
    assert len(policy.seen) == 6  # never called again after the bad output
    np.testing.assert_array_equal(ep.tick_action[:5, 0], 1.5)
    np.testing.assert_array_equal(ep.tick_action[5:, 0], 0.0)  # the actuator held at zero to the end
    assert ep.ticks == 20 and np.isfinite(ep.ret)


def test_dropped_observations_hold_the_action_and_dt_is_the_elapsed_time():
    plant = make_plant("pendulum")
    cond = Condition("drop", "", drop_prob=0.3)
    policy = Recorder(list(np.linspace(-1, 1, 100)))
    ep = run_episode(plant, policy, cond, seed=4, steps=100)
    calls = len(policy.seen)
    assert 50 < calls < 90  # about 70% of the ticks reach the policy
    dts = np.array(policy.dts)
    np.testing.assert_allclose(dts[1:].sum() + ep.calls_t[0], ep.calls_t[-1], rtol=1e-12)
    assert set(np.round(dts / plant.period).astype(int)) >= {1, 2}  # gaps of one and more periods
    changes = np.count_nonzero(np.diff(ep.tick_action[:, 0]))
    assert changes == calls - 1  # the action only changes when an observation arrived


def test_delayed_observations_are_one_period_old():
    plant = make_plant("cartpole")
    policy = Recorder([0.3] * 50)
    ep = run_episode(plant, policy, Condition("delay", "", delay_steps=1), seed=1, steps=30)
    seen = np.array(policy.seen)
    np.testing.assert_array_equal(seen[1:], ep.tick_obs[:-1])  # the policy sees the previous tick's state
    np.testing.assert_array_equal(seen[0], ep.tick_obs[0])


def test_noise_and_physics_conditions_give_the_same_draws_to_every_actor():
    plant = make_plant("pendulum")
    cond = conditions_for("pendulum")["noise"]
    a, b = Recorder([0.0] * 300), Recorder([0.0] * 300)
    run_episode(plant, a, cond, seed=2, steps=30)
    run_episode(plant, b, cond, seed=2, steps=30)
    np.testing.assert_array_equal(np.array(a.seen), np.array(b.seen))
    clean = Recorder([0.0] * 300)
    ep = run_episode(plant, clean, conditions_for("pendulum")["nominal"], seed=2, steps=30)
    noise = np.array(a.seen) - ep.tick_obs
    assert 0.02 < noise.std() < 0.1  # sigma 0.05


class FakeModel:
    """Stands in for a loaded export: sizes only, and a step that outputs NaN."""

    input_size, output_size = 3, 1

    def reset(self):
        pass

    def step(self, x, dt):
        return np.full(1, np.nan, np.float32)


def test_shape_mismatch_names_both_shapes():
    check_policy_fits(FakeModel(), "pendulum")
    with pytest.raises(PolicyShapeError, match=r"cartpole.*x \[3\].*y \[1\].*observations \[4\].*actions \[1\]"):
        check_policy_fits(FakeModel(), "cartpole", "export X")


def test_nan_policy_is_recorded_failed_in_the_condition_result():
    res = evaluate_condition(RuntimePolicy(FakeModel()), "pendulum", conditions_for("pendulum")["nominal"],
                             episodes=2, steps=20)
    assert res.failed == 2 and res.success_rate == 0.0
    # zero action held from the first step: each return is the zero-action policy's, so the mean normalises to 0
    assert abs(res.normalized_mean) <= 1e-9 * (1 + abs(res.zero_return))
