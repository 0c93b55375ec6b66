"""edgelnn.models.from_ncps: ncps 1.0.1 CfC / LTC models and cells become edgelnn models with the same numbers.

Reference runs are 100-step sequences. ncps broadcasts batched timespans wrongly (its issues 81-83), so batch > 1
comparisons give ncps ``timespans=None`` (uniform dt = 1), or compare against ncps run one sample at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from ncps import wirings as nw
from ncps.torch import LTC, CfC, CfCCell, LTCCell, WiredCfCCell
from ncps.torch.lstm import LSTMCell as NcpsLSTMCell
from numeric import ATOL, RTOL_ROLLOUT, assert_close

from edgelnn.errors import ConversionError
from edgelnn.models import CfCConfig, LTCConfig, from_ncps, load_checkpoint, save_checkpoint

from .helpers import sequence

STEPS = 100

# id -> (factory of an ncps wrapper module, input features)
WRAPPERS: dict[str, tuple[Callable[[], torch.nn.Module], int]] = {
    "cfc-defaults": (lambda: CfC(3, 8), 3),
    "cfc-no_gate-silu": (lambda: CfC(3, 8, mode="no_gate", activation="silu", backbone_units=16), 3),
    "cfc-pure-relu": (lambda: CfC(4, 6, mode="pure", activation="relu", backbone_units=12), 4),
    "cfc-tanh-2layers-dropout": (
        lambda: CfC(3, 8, activation="tanh", backbone_units=16, backbone_layers=2, backbone_dropout=0.2), 3),
    "cfc-no_gate-gelu-0layers": (lambda: CfC(3, 8, mode="no_gate", activation="gelu", backbone_layers=0), 3),
    "cfc-pure-lecun-2layers-proj": (
        lambda: CfC(2, 10, mode="pure", backbone_units=8, backbone_layers=2, proj_size=3), 2),
    "cfc-relu-proj1": (lambda: CfC(3, 8, activation="relu", backbone_units=16, proj_size=1), 3),
    "cfc-mixed-silu-proj": (
        lambda: CfC(3, 8, mixed_memory=True, activation="silu", backbone_units=16, proj_size=2), 3),
    "cfc-mixed-pure-0layers": (lambda: CfC(3, 8, mixed_memory=True, mode="pure", backbone_layers=0), 3),
    "cfc-mixed-no_gate-gelu-2layers": (
        lambda: CfC(5, 6, mixed_memory=True, mode="no_gate", activation="gelu", backbone_units=8,
                    backbone_layers=2), 5),
    "cfc-autoncp": (lambda: CfC(3, nw.AutoNCP(10, 3)), 3),
    "cfc-autoncp-no_gate-mixed-proj": (
        lambda: CfC(3, nw.AutoNCP(12, 2, sparsity_level=0.3, seed=5), mode="no_gate", mixed_memory=True,
                    proj_size=4), 3),
    "cfc-autoncp-pure": (lambda: CfC(4, nw.AutoNCP(16, 4, sparsity_level=0.7, seed=9), mode="pure"), 4),
    "cfc-ncp-explicit-mixed": (lambda: CfC(3, nw.NCP(4, 3, 2, 2, 2, 2, 2, seed=3), mixed_memory=True), 3),
    "ltc-defaults": (lambda: LTC(3, 8), 3),
    "ltc-clip": (lambda: LTC(3, 8, implicit_param_constraints=False), 3),
    "ltc-autoncp-mixed": (lambda: LTC(3, nw.AutoNCP(10, 3), mixed_memory=True), 3),
    "ltc-linear-none-1unfold": (lambda: LTC(3, 6, input_mapping="linear", output_mapping="none", ode_unfolds=1), 3),
    "ltc-none-linear-12unfolds-clip": (
        lambda: LTC(2, 6, input_mapping="none", output_mapping="linear", ode_unfolds=12,
                    implicit_param_constraints=False), 2),
    "ltc-random-wiring-3unfolds": (lambda: LTC(3, nw.Random(8, 4, sparsity_level=0.5, random_seed=4), ode_unfolds=3), 3),
    "ltc-fc-noself-seed": (lambda: LTC(3, nw.FullyConnected(6, 2, erev_init_seed=7, self_connections=False)), 3),
    "ltc-ncp-explicit-mixed-clip": (
        lambda: LTC(3, nw.NCP(4, 3, 2, 2, 2, 2, 2, seed=3), mixed_memory=True, implicit_param_constraints=False), 3),
    "ltc-autoncp-sparse-2unfolds-mixed": (
        lambda: LTC(4, nw.AutoNCP(16, 4, sparsity_level=0.8, seed=1), ode_unfolds=2, mixed_memory=True,
                    implicit_param_constraints=False, epsilon=1e-6), 4),
}


def make_wrapper(name: str, seed: int = 0) -> tuple[torch.nn.Module, int]:
    factory, features = WRAPPERS[name]
    torch.manual_seed(seed)
    return factory().eval(), features


def ncps_run(module, x, timespans=None, hx=None):
    with torch.no_grad():
        y, h = module(x, hx=hx, timespans=timespans)
    return y, torch.cat(h, dim=1) if isinstance(h, tuple) else h


def assert_near(actual, expected):
    """Same math as ncps, but written with other ops (fused sums, packed state): float32 results differ by
    reordering only, carried over 100-step rollouts (up to 12 ODE unfolds each): a rollout bound."""
    assert_close(actual, expected, atol=ATOL, rtol=RTOL_ROLLOUT, what="edgelnn vs ncps")


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_wrapper_parity_batch1_irregular_timespans(name):
    module, features = make_wrapper(name)
    model = from_ncps(module)
    assert not model.training
    x, ts = sequence(1, STEPS, features, seed=11)
    y_ref, h_ref = ncps_run(module, x, ts)
    with torch.no_grad():
        y, h = model.run(x, ts)
    assert y_ref.std(dim=1).max() > 1e-3  # the reference output really moves over the sequence
    assert_near(y, y_ref)
    assert_near(h, h_ref)


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_wrapper_parity_batched_uniform_timespans(name):
    module, features = make_wrapper(name, seed=1)
    model = from_ncps(module)
    x, _ = sequence(3, STEPS, features, seed=12)
    y_ref, h_ref = ncps_run(module, x, None)
    with torch.no_grad():
        y, h = model.run(x)
    assert_near(y, y_ref)
    assert_near(h, h_ref)


@pytest.mark.parametrize("name", ["cfc-defaults", "cfc-mixed-silu-proj", "cfc-autoncp-pure", "ltc-autoncp-mixed"])
def test_batched_irregular_timespans_match_ncps_one_sample_at_a_time(name):
    """Where ncps's own batching is wrong, edgelnn at B > 1 equals ncps run sample by sample at B = 1."""
    module, features = make_wrapper(name, seed=2)
    model = from_ncps(module)
    x, ts = sequence(3, STEPS, features, seed=13)
    with torch.no_grad():
        y, h = model.run(x, ts)
    for i in range(3):
        y_ref, h_ref = ncps_run(module, x[i : i + 1], ts[i : i + 1])
        assert_near(y[i : i + 1], y_ref)
        assert_near(h[i : i + 1], h_ref)


@pytest.mark.parametrize("name", ["cfc-no_gate-silu", "cfc-mixed-pure-0layers", "ltc-defaults", "ltc-autoncp-mixed"])
def test_wrapper_parity_from_a_given_state(name):
    """ncps takes mixed-memory state as a tuple (h, c); edgelnn packs it flat as [h, c]."""
    module, features = make_wrapper(name, seed=3)
    model = from_ncps(module)
    x, ts = sequence(1, STEPS, features, seed=14)
    gen = torch.Generator().manual_seed(15)
    h0 = 0.5 * torch.randn(1, model.state_size, generator=gen)
    units = model.config.hidden_size
    hx = (h0[:, :units], h0[:, units:]) if model.config.mixed_memory else h0
    y_ref, h_ref = ncps_run(module, x, ts, hx=hx)
    with torch.no_grad():
        y, h = model.run(x, ts, state=h0)
    assert_near(y, y_ref)
    assert_near(h, h_ref)


def test_converted_configs_describe_the_ncps_module():
    cfc = from_ncps(make_wrapper("cfc-tanh-2layers-dropout")[0])
    assert isinstance(cfc.config, CfCConfig)
    c = cfc.config
    assert (c.input_size, c.hidden_size, c.mode, c.activation) == (3, 8, "default", "tanh")
    assert (c.backbone_units, c.backbone_layers, c.backbone_dropout) == (16, 2, 0.2)
    assert c.mixed_memory is False and c.proj_size is None and c.wiring is None

    mixed = from_ncps(make_wrapper("cfc-autoncp-no_gate-mixed-proj")[0]).config
    assert (mixed.mode, mixed.mixed_memory, mixed.proj_size) == ("no_gate", True, 4)
    assert mixed.wiring == {"type": "auto_ncp", "units": 12, "output_size": 2, "sparsity_level": 0.3, "seed": 5}

    ltc = from_ncps(make_wrapper("ltc-none-linear-12unfolds-clip")[0]).config
    assert isinstance(ltc, LTCConfig)
    assert (ltc.ode_unfolds, ltc.solver, ltc.constraints) == (12, "fused", "clip")
    assert (ltc.input_mapping, ltc.output_mapping) == ("none", "linear")
    assert ltc.wiring["type"] == "fully_connected"
    assert from_ncps(make_wrapper("ltc-defaults")[0]).config.constraints == "softplus"
    assert from_ncps(make_wrapper("ltc-random-wiring-3unfolds")[0]).config.wiring["type"] == "random"
    assert from_ncps(make_wrapper("ltc-fc-noself-seed")[0]).config.wiring == {
        "type": "fully_connected", "units": 6, "output_dim": 2, "erev_init_seed": 7, "self_connections": False}
    assert from_ncps(make_wrapper("ltc-ncp-explicit-mixed-clip")[0]).config.wiring["type"] == "explicit"


def test_wiring_no_seed_reproduces_is_stored_explicitly():
    torch.manual_seed(0)
    wiring = nw.FullyConnected(5, 2)
    wiring.build(3)
    wiring.add_synapse(0, 1, -wiring.adjacency_matrix[0, 1])  # edited: the seed no longer reproduces it
    module = LTC(3, wiring).eval()
    model = from_ncps(module)
    assert model.config.wiring["type"] == "explicit"
    np.testing.assert_array_equal(model.wiring.adjacency, wiring.adjacency_matrix)
    np.testing.assert_array_equal(model.wiring.sensory_adjacency, wiring.sensory_adjacency_matrix)
    x, ts = sequence(1, STEPS, 3)
    y_ref, h_ref = ncps_run(module, x, ts)
    with torch.no_grad():
        y, h = model.run(x, ts)
    assert_near(y, y_ref)
    assert_near(h, h_ref)


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_converted_parameter_count_matches_ncps_trainable_count(name):
    module, _ = make_wrapper(name)
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    assert from_ncps(module).num_parameters() == trainable


@pytest.mark.parametrize("name", ["cfc-autoncp-no_gate-mixed-proj", "ltc-ncp-explicit-mixed-clip", "cfc-defaults"])
def test_converted_model_survives_a_checkpoint(tmp_path, name):
    module, features = make_wrapper(name)
    model = from_ncps(module)
    path = save_checkpoint(model, tmp_path / "converted.safetensors")
    loaded = load_checkpoint(path)
    assert loaded.config == model.config
    x, ts = sequence(1, STEPS, features)
    y_ref, h_ref = ncps_run(module, x, ts)
    with torch.no_grad():
        y, h = loaded.run(x, ts)
    assert_near(y, y_ref)
    assert_near(h, h_ref)


# ----- bare cells -------------------------------------------------------------------------------------------------

CELLS: dict[str, tuple[Callable[[], torch.nn.Module], int]] = {
    "cfccell-default": (lambda: CfCCell(3, 8, backbone_units=16), 3),
    "cfccell-no_gate-gelu-2layers": (
        lambda: CfCCell(3, 8, mode="no_gate", backbone_activation="gelu", backbone_units=16, backbone_layers=2), 3),
    "cfccell-pure-0layers": (lambda: CfCCell(4, 6, mode="pure", backbone_layers=0), 4),
    "wiredcfccell-default": (lambda: WiredCfCCell(3, nw.AutoNCP(10, 3)), 3),
    "wiredcfccell-pure": (lambda: WiredCfCCell(3, nw.AutoNCP(12, 4, seed=8), mode="pure"), 3),
    "wiredcfccell-no_gate": (lambda: WiredCfCCell(2, nw.NCP(4, 3, 2, 2, 2, 2, 2), mode="no_gate"), 2),
    "ltccell-default-clip": (lambda: LTCCell(nw.AutoNCP(10, 3), in_features=3), 3),
    "ltccell-softplus-fc": (lambda: LTCCell(nw.FullyConnected(6), in_features=3, implicit_param_constraints=True), 3),
    "ltccell-linear-4unfolds": (
        lambda: LTCCell(nw.Random(8, 3, 0.3), in_features=2, input_mapping="linear", ode_unfolds=4), 2),
}


def make_cell(name: str, seed: int = 0) -> tuple[torch.nn.Module, int]:
    factory, features = CELLS[name]
    torch.manual_seed(seed)
    return factory().eval(), features


def cell_units(cell) -> int:
    return cell.hidden_size if isinstance(cell, CfCCell) else cell._wiring.units


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("name", list(CELLS))
def test_cell_parity_per_sample_irregular_dt(name, batch):
    """Cells take dt as [B,1] and broadcast it correctly in ncps, so batched irregular dt compares directly."""
    cell, features = make_cell(name)
    model = from_ncps(cell)
    x, ts = sequence(batch, STEPS, features, seed=21)
    h_ref = torch.zeros(batch, cell_units(cell))
    state = model.init_state(batch)
    with torch.no_grad():
        for t in range(STEPS):
            dt = ts[:, t : t + 1]
            y_ref, h_ref = cell(x[:, t], h_ref, dt)
            y, state = model.step(x[:, t], state, dt)
            assert_near(y, y_ref)
    assert_near(state, h_ref)


def test_ltccell_clip_constraints_match_ncps():
    cell, features = make_cell("ltccell-default-clip")
    torch.manual_seed(3)
    with torch.no_grad():
        for name in ("w", "sensory_w", "cm", "gleak"):
            getattr(cell, name).sub_(0.5)  # some entries below zero
    model = from_ncps(cell)
    assert model.config.constraints == "clip"
    cell.apply_weight_constraints()
    model.apply_weight_constraints()
    for name in ("w", "sensory_w", "cm", "gleak"):
        assert (getattr(model, name) >= 0).all()
        assert torch.equal(getattr(model, name), getattr(cell, name)), name  # exact: the same clamp, same values
    x, ts = sequence(1, STEPS, features)
    h_ref, state = torch.zeros(1, cell_units(cell)), model.init_state(1)
    with torch.no_grad():
        for t in range(STEPS):
            y_ref, h_ref = cell(x[:, t], h_ref, ts[:, t : t + 1])
            y, state = model.step(x[:, t], state, ts[:, t : t + 1])
    assert_near(y, y_ref)
    assert_near(state, h_ref)


# ----- what cannot be converted -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "module",
    [torch.nn.LSTM(3, 4), torch.nn.Linear(3, 4), NcpsLSTMCell(3, 4), torch.nn.GRUCell(3, 4)],
    ids=["torch-LSTM", "Linear", "ncps-LSTMCell", "torch-GRUCell"],
)
def test_unsupported_module_raises_conversion_error(module):
    with pytest.raises(ConversionError, match=f"cannot convert {type(module).__name__}; supported ncps modules: CfC"):
        from_ncps(module)


def test_cfccell_with_custom_sparsity_mask_raises_conversion_error():
    cell = CfCCell(3, 4, backbone_layers=0, sparsity_mask=np.ones((7, 4)))
    with pytest.raises(ConversionError, match="sparsity_mask"):
        from_ncps(cell)
