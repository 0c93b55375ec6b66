"""Wirings: seed for seed the same matrices as ncps 1.0.1, config round trips, and settings validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ncps import wirings as nw

from edgelnn.models import make_config
from edgelnn.models.wirings import auto_ncp, fully_connected, ncp, random_wiring, wiring_from_config


def assert_same_matrices(ours, theirs):
    np.testing.assert_array_equal(ours.adjacency, theirs.adjacency_matrix)
    np.testing.assert_array_equal(ours.sensory_adjacency, theirs.sensory_adjacency_matrix)
    assert ours.units == theirs.units
    assert ours.input_dim == theirs.input_dim
    assert ours.output_dim == theirs.output_dim
    assert ours.synapse_count == int(np.abs(theirs.adjacency_matrix).sum())
    assert ours.sensory_synapse_count == int(np.abs(theirs.sensory_adjacency_matrix).sum())
    assert ours.layers == [list(theirs.get_neurons_of_layer(i)) for i in range(theirs.num_layers)]


def assert_config_round_trip(wiring):
    config = json.loads(json.dumps(wiring.to_config()))
    again = wiring_from_config(config, wiring.input_dim)
    np.testing.assert_array_equal(again.adjacency, wiring.adjacency)
    np.testing.assert_array_equal(again.sensory_adjacency, wiring.sensory_adjacency)
    assert again.layers == wiring.layers and again.output_dim == wiring.output_dim
    assert again.to_config() == config


def built(wiring, input_dim):
    wiring.build(input_dim)
    return wiring


@pytest.mark.parametrize("seed", [0, 1, 1111, 2024])
@pytest.mark.parametrize(("units", "input_dim", "output_dim", "self_connections"),
                         [(1, 1, None, True), (5, 3, None, True), (8, 2, 3, False), (17, 6, 1, True)])
def test_fully_connected_matches_ncps(seed, units, input_dim, output_dim, self_connections):
    theirs = built(nw.FullyConnected(units, output_dim, erev_init_seed=seed, self_connections=self_connections),
                   input_dim)
    ours = fully_connected(units, input_dim, output_dim, erev_init_seed=seed, self_connections=self_connections)
    assert_same_matrices(ours, theirs)
    assert_config_round_trip(ours)
    assert ours.synapse_count == units * units - (0 if self_connections else units)
    assert ours.sensory_synapse_count == input_dim * units


@pytest.mark.parametrize("seed", [0, 7, 1111])
@pytest.mark.parametrize(("units", "input_dim", "sparsity"), [(4, 2, 0.0), (8, 3, 0.5), (12, 5, 0.9), (6, 1, 0.25)])
def test_random_matches_ncps(seed, units, input_dim, sparsity):
    theirs = built(nw.Random(units, None, sparsity_level=sparsity, random_seed=seed), input_dim)
    ours = random_wiring(units, input_dim, sparsity_level=sparsity, random_seed=seed)
    assert_same_matrices(ours, theirs)
    assert_config_round_trip(ours)
    assert ours.synapse_count == round(units * units * (1 - sparsity))


@pytest.mark.parametrize("seed", [0, 22222, 31337])
@pytest.mark.parametrize("sizes", [(4, 3, 2, 2, 2, 2, 2), (10, 6, 3, 4, 3, 5, 2), (6, 8, 1, 6, 8, 0, 8)])
@pytest.mark.parametrize("input_dim", [1, 4, 9])
def test_ncp_matches_ncps(seed, sizes, input_dim):
    theirs = built(nw.NCP(*sizes, seed=seed), input_dim)
    ours = ncp(*sizes, input_dim=input_dim, seed=seed)
    assert_same_matrices(ours, theirs)
    assert_config_round_trip(ours)
    inter, command, motor = ours.layers
    # structure: sensory only reaches inter neurons, motor neurons only receive from command neurons
    assert np.abs(ours.sensory_adjacency[:, command + motor]).sum() == 0
    assert np.abs(ours.adjacency[np.ix_(inter + motor, motor)]).sum() == 0
    assert (np.abs(ours.sensory_adjacency[:, inter]).sum(axis=0) > 0).all()  # every inter neuron is reached


@pytest.mark.parametrize("seed", [0, 5, 22222])
@pytest.mark.parametrize(("units", "output_size", "sparsity", "input_dim"),
                         [(8, 2, 0.5, 3), (10, 3, 0.1, 1), (16, 4, 0.8, 6), (33, 1, 1.0, 2), (24, 20, 0.5, 12)])
def test_auto_ncp_matches_ncps(seed, units, output_size, sparsity, input_dim):
    theirs = built(nw.AutoNCP(units, output_size, sparsity_level=sparsity, seed=seed), input_dim)
    ours = auto_ncp(units, output_size, input_dim=input_dim, sparsity_level=sparsity, seed=seed)
    assert_same_matrices(ours, theirs)
    assert_config_round_trip(ours)
    assert ours.to_config() == {"type": "auto_ncp", "units": units, "output_size": output_size,
                                "sparsity_level": sparsity, "seed": seed}


@settings(max_examples=40, deadline=None, derandomize=True)
@given(units=st.integers(5, 40), out_frac=st.floats(0.0, 1.0), sparsity=st.floats(0.1, 1.0),
       seed=st.integers(0, 2**31 - 1), input_dim=st.integers(1, 10))
def test_auto_ncp_matches_ncps_property(units, out_frac, sparsity, seed, input_dim):
    output_size = 1 + int(out_frac * (units - 4))  # 1 <= output_size < units - 2
    theirs = built(nw.AutoNCP(units, output_size, sparsity_level=sparsity, seed=seed), input_dim)
    assert_same_matrices(auto_ncp(units, output_size, input_dim, sparsity_level=sparsity, seed=seed), theirs)


def test_different_seeds_give_different_wirings():
    a, b = auto_ncp(16, 4, 3, seed=1), auto_ncp(16, 4, 3, seed=2)
    assert not np.array_equal(a.adjacency, b.adjacency)
    c, d = fully_connected(6, 2, erev_init_seed=1), fully_connected(6, 2, erev_init_seed=2)
    assert not np.array_equal(c.adjacency, d.adjacency)


def test_explicit_wiring_config_round_trip():
    source = ncp(4, 3, 2, 2, 2, 2, 2, input_dim=3, seed=1)
    explicit = {"type": "explicit", "units": source.units, "output_dim": source.output_dim,
                "adjacency": source.adjacency.tolist(), "sensory_adjacency": source.sensory_adjacency.tolist(),
                "layers": source.layers}
    wiring = wiring_from_config(explicit, 3)
    np.testing.assert_array_equal(wiring.adjacency, source.adjacency)
    assert wiring.layers == source.layers
    assert wiring.to_config() == explicit
    assert_config_round_trip(wiring)


def test_explicit_wiring_rejects_wrong_matrix_shapes():
    with pytest.raises(ValueError, match="sensory_adjacency has shape"):
        wiring_from_config({"type": "explicit", "units": 2, "output_dim": 1, "adjacency": [[0, 1], [1, 0]],
                            "sensory_adjacency": [[1, 1]]}, 3)
    with pytest.raises(ValueError, match="adjacency has shape"):
        wiring_from_config({"type": "explicit", "units": 3, "output_dim": 1, "adjacency": [[0, 1], [1, 0]],
                            "sensory_adjacency": [[1, 1, 1]]}, 1)


@pytest.mark.parametrize(("build", "setting"), [
    (lambda: auto_ncp(8, 6, 3), "output_size=6"),
    (lambda: auto_ncp(8, 7, 3), "output_size=7"),
    (lambda: auto_ncp(8, 2, 3, sparsity_level=0.05), "sparsity_level=0.05"),
    (lambda: auto_ncp(8, 2, 3, sparsity_level=1.2), "sparsity_level=1.2"),
    (lambda: random_wiring(8, 3, sparsity_level=1.0), "sparsity_level=1.0"),
    (lambda: random_wiring(8, 3, sparsity_level=-0.1), "sparsity_level=-0.1"),
    (lambda: ncp(4, 3, 2, 5, 2, 2, 2, input_dim=3), "sensory_fanout=5"),
    (lambda: ncp(4, 3, 2, 2, 4, 2, 2, input_dim=3), "inter_fanout=4"),
    (lambda: ncp(4, 3, 2, 2, 2, 2, 4, input_dim=3), "motor_fanin=4"),
    (lambda: ncp(0, 3, 2, 2, 2, 2, 2, input_dim=3), "inter_neurons=0"),
    (lambda: fully_connected(0, 3), "units=0"),
    (lambda: fully_connected(4, 3, output_dim=5), "output_dim=5"),
])
def test_bad_settings_raise_value_error_naming_the_setting(build, setting):
    with pytest.raises(ValueError, match=setting.replace(".", r"\.")):
        build()


def test_ncps_rejects_the_same_settings():
    """The settings edgelnn rejects are the ones ncps rejects (AutoNCP sizes, sparsity, fanouts)."""
    for make in (lambda: nw.AutoNCP(8, 6), lambda: nw.AutoNCP(8, 2, sparsity_level=0.05),
                 lambda: nw.Random(8, sparsity_level=1.0), lambda: nw.NCP(4, 3, 2, 5, 2, 2, 2),
                 lambda: nw.NCP(4, 3, 2, 2, 4, 2, 2), lambda: nw.NCP(4, 3, 2, 2, 2, 2, 4)):
        with pytest.raises(ValueError):
            make()


def test_wiring_from_config_rejects_unknown_type_and_settings():
    with pytest.raises(ValueError, match=r"wiring type='hexagonal' is not valid; allowed values: .*auto_ncp"):
        wiring_from_config({"type": "hexagonal", "units": 4}, 3)
    with pytest.raises(ValueError, match="wiring type=None"):
        wiring_from_config({"units": 4}, 3)
    with pytest.raises(ValueError, match="invalid settings for wiring type 'auto_ncp'.*fanout"):
        wiring_from_config({"type": "auto_ncp", "units": 8, "output_size": 2, "fanout": 3}, 3)
    with pytest.raises(ValueError, match="invalid settings for wiring type 'fully_connected'"):
        wiring_from_config({"type": "fully_connected"}, 3)


def test_model_configs_accept_wirings_and_check_their_size():
    config = make_config("ltc", 3, 10, wiring={"type": "ncp", "inter_neurons": 5, "command_neurons": 3,
                                               "motor_neurons": 2, "sensory_fanout": 2, "inter_fanout": 2,
                                               "recurrent_command_synapses": 2, "motor_fanin": 2})
    assert config.hidden_size == 10
    with pytest.raises(ValueError, match="wiring size mismatch: wiring has 10 units but hidden_size=9"):
        make_config("cfc", 3, 9, wiring={"type": "auto_ncp", "units": 10, "output_size": 2})
    with pytest.raises(ValueError, match="output_size=8"):
        make_config("cfc", 3, 10, wiring={"type": "auto_ncp", "units": 10, "output_size": 8})
