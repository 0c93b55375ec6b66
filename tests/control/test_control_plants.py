"""Plants and conditions: registry errors, physics really changed in the simulator, condition selection."""

from __future__ import annotations

import numpy as np
import pytest

from edgelnn.control.conditions import conditions_for, select_conditions
from edgelnn.control.plants import PLANTS, make_plant
from edgelnn.errors import PlantError, UnknownConditionError, UnknownPlantError


def test_unknown_plant_names_the_valid_ones():
    with pytest.raises(UnknownPlantError, match="unknown plant 'acrobot'.*pendulum, cartpole"):
        make_plant("acrobot")


@pytest.mark.parametrize("name", ["cartpole", "doublependulum"])
def test_mass_conditions_change_the_mujoco_model(name):
    nominal = make_plant(name)
    for cond in [c for c in conditions_for(name).values() if "mass_scale" in c.physics]:
        changed = make_plant(name, cond.physics)
        scale = cond.physics["mass_scale"]
        np.testing.assert_allclose(changed.env.unwrapped.model.body_mass, nominal.env.model.body_mass * scale,
                                   rtol=1e-12)
        np.testing.assert_allclose(changed.env.model.body_inertia, nominal.env.model.body_inertia * scale, rtol=1e-12)
        changed.close()
    friction = make_plant(name, conditions_for(name)["physics-friction"].physics)
    np.testing.assert_allclose(friction.env.model.dof_damping, nominal.env.model.dof_damping * 3.0, rtol=1e-12)
    nominal.close()


def test_pendulum_length_condition_changes_the_dynamics():
    cond = conditions_for("pendulum")["physics-length-x1.5"]
    nominal, longer = make_plant("pendulum"), make_plant("pendulum", cond.physics)
    assert longer.env.l == pytest.approx(1.5 * nominal.env.l)
    obs_a, obs_b = nominal.reset(3), longer.reset(3)
    np.testing.assert_array_equal(obs_a, obs_b)  # same start, different physics -> different next state
    assert not np.allclose(nominal.step(np.zeros(1))[0], longer.step(np.zeros(1))[0])


def test_period_change_is_applied_to_the_simulator_and_restored():
    plant = make_plant("cartpole")
    plant.reset(0)
    plant.step(np.zeros(1), period=0.02)
    assert plant.env.model.opt.timestep == pytest.approx(0.01)  # frame_skip 2
    plant.step(np.zeros(1))
    assert plant.env.model.opt.timestep == pytest.approx(0.02)


def test_bad_physics_override_is_named():
    with pytest.raises(PlantError, match="length_scale.*not supported by plant cartpole"):
        make_plant("cartpole", {"length_scale": 1.5})
    with pytest.raises(PlantError, match="must be > 0"):
        make_plant("pendulum", {"mass_scale": 0.0})


def test_a_model_that_cannot_load_is_a_named_error(monkeypatch):
    import gymnasium

    def broken(env_id, **kwargs):
        raise ValueError("XML Error: cannot read inverted_pendulum.xml")

    monkeypatch.setattr(gymnasium, "make", broken)
    with pytest.raises(PlantError, match="plant cartpole: the InvertedPendulum-v5 model cannot load.*XML Error"):
        make_plant("cartpole")


def test_conditions_select_and_refuse():
    names = [c.name for c in select_conditions("pendulum", "all")]
    assert names[0] == "nominal" and {"noise", "drop", "delay", "rate-x2", "physics-mass-x1.5"} <= set(names)
    assert [c.name for c in select_conditions("cartpole", "drop,nominal")] == ["drop", "nominal"]
    with pytest.raises(UnknownConditionError, match="unknown condition.*length-x1.5.*cartpole"):
        select_conditions("cartpole", "physics-length-x1.5")
    assert set(PLANTS) == {"pendulum", "cartpole", "doublependulum", "halfcheetah"}
