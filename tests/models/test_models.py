"""The one model interface, for every model of the zoo: shapes, state layout, parameter counts, config round
trip, and the sequence wrapper's batching, masking and dt semantics."""

from __future__ import annotations

import pytest
import torch
from numeric import RTOL_OP, assert_close

from edgelnn.models import LTCConfig, build_model, config_from_json, make_config

from .helpers import DT_IGNORED, HIDDEN, INPUT, VARIANTS, build, sequence

LABELS = list(VARIANTS)


def expected_output_size(label: str) -> int:
    _, options = VARIANTS[label]
    if options.get("proj_size"):
        return options["proj_size"]
    if options.get("wiring"):
        return options["wiring"]["output_size"]
    return HIDDEN


def expected_state_size(label: str) -> int:
    kind, options = VARIANTS[label]
    packs_c = kind == "lstm" or options.get("mixed_memory", False)
    return 2 * HIDDEN if packs_c else HIDDEN


@pytest.mark.parametrize("label", LABELS)
def test_init_state_and_step_shapes(label):
    model = build(label)
    assert model.input_size == INPUT
    assert model.output_size == expected_output_size(label)
    assert model.state_size == expected_state_size(label)
    assert sum(size for _, size in model.state_layout()) == model.state_size
    for batch in (1, 4):
        state = model.init_state(batch)
        assert state.shape == (batch, model.state_size)
        assert state.dtype == torch.float32
        assert torch.count_nonzero(state) == 0
        x = torch.randn(batch, INPUT)
        y, new_state = model.step(x, state, torch.full((batch, 1), 0.5))
        assert y.shape == (batch, model.output_size)
        assert new_state.shape == (batch, model.state_size)
        assert torch.isfinite(y).all() and torch.isfinite(new_state).all()
        # a step from zero state with a nonzero input moves the state
        assert not torch.equal(new_state, state)
        # forward is step
        y2, s2 = model(x, state, torch.full((batch, 1), 0.5))
        assert torch.equal(y, y2) and torch.equal(new_state, s2)


@pytest.mark.parametrize("label", LABELS)
def test_state_layout_names(label):
    kind, options = VARIANTS[label]
    names = [name for name, _ in build(label).state_layout()]
    packs_c = kind == "lstm" or options.get("mixed_memory", False)
    assert names == (["h", "c"] if packs_c else ["h"])


@pytest.mark.parametrize("label", LABELS)
def test_num_parameters_counts_trainable_parameters(label):
    model = build(label)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert model.num_parameters() > 0
    assert model.num_parameters() == trainable
    # freezing a tensor removes it from the trainable count but not from the total
    first = next(model.parameters())
    first.requires_grad_(False)
    assert model.num_parameters() == trainable - first.numel()
    assert model.num_parameters(trainable_only=False) == trainable


def test_num_parameters_known_values():
    f, h = INPUT, HIDDEN
    assert build("gru").num_parameters() == 3 * (f * h + h * h + 2 * h)
    assert build("lstm").num_parameters() == 4 * (f * h + h * h + 2 * h)
    assert build("lstm-proj").num_parameters() == 4 * (f * h + h * h + 2 * h) + h * 2 + 2
    u = 8  # backbone units
    assert build("cfc-default").num_parameters() == (f + h) * u + u + 4 * (u * h + h)
    assert build("cfc-no-backbone").num_parameters() == 4 * ((f + h) * h + h)
    # LTC: gleak, vleak, cm [h]; sigma, mu, w, erev [h,h]; sensory sigma, mu, w, erev [f,h]; affine in/out maps
    assert build("ltc-fused").num_parameters() == 3 * h + 4 * h * h + 4 * f * h + 2 * f + 2 * h


def test_sparsity_masks_are_buffers_not_parameters():
    for label, prefix in (("cfc-wired", "blocks.0."), ("ltc-fused", "")):
        model = build(label)
        buffers = dict(model.named_buffers())
        params = dict(model.named_parameters())
        assert f"{prefix}sparsity_mask" in buffers
        assert not any("sparsity_mask" in name for name in params)


@pytest.mark.parametrize("label", ["cfc-wired", "ltc-wired-mixed"])
def test_wiring_masks_cut_synapses(label):
    """Weights of absent synapses have no effect; weights of present ones do."""
    model = build(label)
    x, ts = sequence(2, 6)
    with torch.no_grad():
        y_ref, s_ref = model.run(x, ts)
        if label.startswith("cfc"):
            block = model.blocks[1]  # command layer: inputs from inter neurons + itself
            weight, mask = block.ff1.weight, block.sparsity_mask
        else:
            weight, mask = model.w, model.sparsity_mask
        assert (mask == 0).any() and (mask == 1).any()
        saved = weight.clone()
        weight.add_(5.0 * (mask == 0))
        y_cut, s_cut = model.run(x, ts)
        # exact by construction: an absent synapse's weight is multiplied by a mask of exact zeros, so the
        # effective weights, and every number computed from them, are bit for bit the same
        assert torch.equal(y_cut, y_ref) and torch.equal(s_cut, s_ref)
        weight.copy_(saved + 5.0 * (mask == 1))
        y_live, _ = model.run(x, ts)
        assert (y_live - y_ref).abs().max() > 1e-3


@pytest.mark.parametrize("label", LABELS)
def test_config_json_round_trip_rebuilds_identical_model(label):
    model = build(label, seed=1)
    config = config_from_json(model.config.to_json())
    assert type(config) is type(model.config)
    assert config == model.config
    assert config.to_json() == model.config.to_json()
    torch.manual_seed(2)  # different random init than the original ...
    rebuilt = build_model(config).eval()
    x, ts = sequence(2, 5)
    with torch.no_grad():
        y_before, _ = rebuilt.run(x, ts)
        rebuilt.load_state_dict(model.state_dict())  # ... until the weights are loaded
        y, s = model.run(x, ts)
        y2, s2 = rebuilt.run(x, ts)
    assert not torch.equal(y_before, y)
    assert torch.equal(y, y2) and torch.equal(s, s2)
    # the dict form builds the same kind of model too
    assert type(build_model(model.config.to_dict())) is type(model)


@pytest.mark.parametrize("label", LABELS)
def test_run_matches_manual_steps(label):
    model = build(label)
    x, ts = sequence(3, 7)
    with torch.no_grad():
        y, final = model.run(x, ts)
        state = model.init_state(3)
        for t in range(7):
            y_t, state = model.step(x[:, t], state, ts[:, t : t + 1])
            # run() may hoist input projections out of the loop (another GEMM shape): a few-step bound
            assert_close(y[:, t], y_t, rtol=RTOL_OP, what=f"{label} y at step {t}")
    assert y.shape == (3, 7, model.output_size)
    assert_close(final, state, rtol=RTOL_OP, what=f"{label} final state")


@pytest.mark.parametrize("label", LABELS)
def test_batched_irregular_timespans_equal_single_sample_runs(label):
    """Each sample keeps its own dt at every step (ncps gets this wrong for batch > 1)."""
    model = build(label)
    batch, steps = 4, 12
    x, ts = sequence(batch, steps, seed=3)
    h0 = 0.3 * torch.randn(batch, model.state_size, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        y, final = model.run(x, ts, state=h0)
        for i in range(batch):
            y_i, final_i = model.run(x[i : i + 1], ts[i : i + 1], state=h0[i : i + 1])
            # batch 4 vs batch 1: other GEMM kernels, same math (a wrong per-sample dt moves outputs ~1e-1)
            assert_close(y[i : i + 1], y_i, rtol=RTOL_OP, what=f"{label} y of row {i}")
            assert_close(final[i : i + 1], final_i, rtol=RTOL_OP, what=f"{label} final state of row {i}")


@pytest.mark.parametrize("label", LABELS)
def test_masked_steps_hold_the_state(label):
    model = build(label)
    steps = 9
    lengths = [steps, 5, 1, 0]
    x, ts = sequence(len(lengths), steps, seed=5)
    mask = torch.arange(steps).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    with torch.no_grad():
        y, final = model.run(x, ts, mask=mask)
        _, final_nomask = model.run(x, ts)
        for i, length in enumerate(lengths):
            if length == 0:  # exact by construction: torch.where keeps the initial state's very bits
                assert torch.equal(final[i], model.init_state(1)[0])
                continue
            y_i, final_i = model.run(x[i : i + 1, :length], ts[i : i + 1, :length])
            assert_close(final[i : i + 1], final_i, rtol=RTOL_OP, what=f"{label} final state of row {i}")
            assert_close(y[i : i + 1, :length], y_i, rtol=RTOL_OP, what=f"{label} y of row {i}")
    # the full-length row is unaffected by the mask; the shorter rows really differ from running unmasked
    assert_close(final[0], final_nomask[0], rtol=RTOL_OP, what=f"{label} full-length row")
    assert (final[1] - final_nomask[1]).abs().max() > 1e-4


@pytest.mark.parametrize("label", LABELS)
def test_dt_matters_for_liquid_models_only(label):
    model = build(label)
    x, ts = sequence(2, 6, seed=6)
    with torch.no_grad():
        y_a, s_a = model.run(x, ts)
        y_b, s_b = model.run(x, 0.5 * ts)
        y_one, _ = model.run(x)  # default timespans are 1.0
        y_ones, _ = model.run(x, torch.ones(2, 6))
    assert torch.equal(y_one, y_ones)
    if label in DT_IGNORED:
        assert torch.equal(y_a, y_b) and torch.equal(s_a, s_b)
    else:
        assert (y_a - y_b).abs().max() > 1e-4
        assert (s_a - s_b).abs().max() > 1e-4


def test_dt_matters_per_step_for_every_cfc_mode():
    for label in ("cfc-default", "cfc-no_gate", "cfc-pure", "cfc-wired"):
        model = build(label)
        x = torch.randn(1, INPUT)
        state = 0.2 * torch.ones(1, model.state_size)
        with torch.no_grad():
            _, s1 = model.step(x, state, torch.tensor([[0.1]]))
            _, s2 = model.step(x, state, torch.tensor([[3.0]]))
        assert (s1 - s2).abs().max() > 1e-3, label


def test_run_rejects_bad_shapes():
    model = build("gru")
    with pytest.raises(ValueError, match="batch, time, features"):
        model.run(torch.randn(4, INPUT))
    with pytest.raises(ValueError, match="timespans must have shape"):
        model.run(torch.randn(2, 5, INPUT), torch.ones(2, 4))
    with pytest.raises(ValueError, match="mask must have shape"):
        model.run(torch.randn(2, 5, INPUT), mask=torch.ones(5, 2, dtype=torch.bool))


def test_mixed_memory_state_packs_h_then_c():
    model = build("cfc-mixed-proj")
    x = torch.randn(2, INPUT)
    state = torch.randn(2, model.state_size)
    h, c = state[:, :HIDDEN], state[:, HIDDEN:]
    with torch.no_grad():
        y, new_state = model.step(x, state, torch.ones(2, 1))
        h_mem, c_mem = model.memory(x, h, c)
        core_out, h_new = model.core(x, h_mem, torch.ones(2, 1))
    # exact by construction: the same submodules on the same inputs, only concatenated
    assert torch.equal(new_state[:, HIDDEN:], c_mem) and torch.equal(new_state[:, :HIDDEN], h_new)
    assert torch.equal(y, model.proj(core_out))


def test_lstm_state_packs_torch_cell_h_and_c():
    model = build("lstm")
    x, state = torch.randn(2, INPUT), torch.randn(2, 2 * HIDDEN)
    with torch.no_grad():
        y, new_state = model.step(x, state, torch.ones(2, 1))
        h, c = model.cell(x, (state[:, :HIDDEN], state[:, HIDDEN:]))
    assert torch.equal(new_state, torch.cat([h, c], dim=1)) and torch.equal(y, h)


@pytest.mark.parametrize("label", ["ltc-clip-linear", "ltc-fused"])
def test_ltc_weight_constraints(label):
    model = build(label)
    clip = model.config.constraints == "clip"
    torch.manual_seed(7)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))  # mixed signs in every tensor
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    model.apply_weight_constraints()
    for name, p in model.named_parameters():
        if clip and name in ("w", "sensory_w", "cm", "gleak"):
            assert (before[name] < 0).any(), name
            assert (p >= 0).all(), name
            assert torch.equal(p, before[name].clamp(min=0.0)), name  # exact: clamp copies or zeroes values
        else:  # softplus constraints, and every other tensor, are left alone
            assert torch.equal(p, before[name]), name


def test_lrc_clip_constraints_leave_signed_weights():
    model = build("lrc-symmetric-explicit")
    torch.manual_seed(7)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p))  # mixed signs in every tensor
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    model.apply_weight_constraints()
    for name, p in model.named_parameters():
        if name in ("gleak", "w", "sensory_w", "distr_shift"):
            assert (before[name] < 0).any() and (p >= 0).all(), name
            assert torch.equal(p, before[name].clamp(min=0.0)), name  # exact: clamp copies or zeroes values
        else:
            assert torch.equal(p, before[name]), name


def test_ltc_softplus_and_clip_differ_only_through_the_constraint():
    """With weights already positive, clip (identity) equals softplus applied to the inverse-softplus weights."""
    soft = build("ltc-fused")
    clip = build_model(LTCConfig(INPUT, HIDDEN, constraints="clip")).eval()
    state = dict(soft.state_dict())
    for name in ("w", "sensory_w", "cm", "gleak"):
        state[name] = torch.nn.functional.softplus(state[name])
    clip.load_state_dict(state)
    x, ts = sequence(2, 5)
    with torch.no_grad():
        # softplus applied once to the weights vs inside the step: same math, maybe another kernel
        assert_close(clip.run(x, ts)[0], soft.run(x, ts)[0], rtol=RTOL_OP, what="clip vs softplus")


def test_init_state_follows_parameter_dtype():
    model = build("cfc-default").double()
    assert model.init_state(2).dtype == torch.float64
    x = torch.randn(2, 4, INPUT, dtype=torch.float64)
    y, s = model.run(x)
    assert y.dtype == s.dtype == torch.float64


def test_make_config_defaults_follow_ncps():
    cfc = make_config("cfc", INPUT, HIDDEN)
    assert (cfc.mode, cfc.activation, cfc.backbone_units, cfc.backbone_layers) == ("default", "lecun_tanh", 128, 1)
    ltc = make_config("ltc", INPUT, HIDDEN)
    assert (ltc.ode_unfolds, ltc.solver, ltc.constraints) == (6, "fused", "softplus")
    assert make_config("lrc", INPUT, HIDDEN).ode_unfolds == 1
