"""LTC ODE solvers: fused (ncps semi-implicit Euler), explicit Euler and RK4 solve the same ODE."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from numeric import RTOL_OP, assert_close

from edgelnn.models import build_model, make_config

UNITS, INPUTS = 6, 3


def ltc(solver: str, unfolds: int, base=None, **options):
    torch.manual_seed(0)
    model = build_model(make_config("ltc", INPUTS, UNITS, solver=solver, ode_unfolds=unfolds, **options)).eval()
    if base is not None:
        model.load_state_dict(base.state_dict())
    return model


@pytest.fixture(scope="module")
def problem():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, INPUTS, generator=gen)
    h = 0.5 * torch.randn(2, UNITS, generator=gen)
    return x, h, torch.ones(2, 1)


def final_state(model, problem):
    x, h, dt = problem
    with torch.no_grad():
        return model.step(x, h, dt)[1]


def reference_rhs(model, x, v):
    """dv/dt written out from the LTC equation, independently of the model code."""
    sp = F.softplus
    u = x * model.input_w + model.input_b
    s_in = torch.sigmoid(model.sensory_sigma * (u[:, :, None] - model.sensory_mu))  # [B, in, units]
    s_rec = torch.sigmoid(model.sigma * (v[:, :, None] - model.mu))  # [B, pre, post]
    g_in = sp(model.sensory_w) * model.sensory_sparsity_mask * s_in
    g_rec = sp(model.w) * model.sparsity_mask * s_rec
    current = (sp(model.gleak) * (model.vleak - v)
               + (g_rec * (model.erev - v[:, None, :])).sum(1)
               + (g_in * (model.sensory_erev - v[:, None, :])).sum(1))
    return current / sp(model.cm)


@pytest.mark.parametrize("wiring", [None, {"type": "auto_ncp", "units": UNITS, "output_size": 2}])
def test_solvers_converge_to_the_same_state(problem, wiring):
    base = ltc("rk4", 200, wiring=wiring)
    converged = final_state(base, problem)
    assert (converged - problem[1]).abs().max() > 0.05  # the step really moves the state
    # rk4 has converged: halving its step changes nothing visible (truncation error ~h^4 and float noise
    # both well below 1e-5 of the state's magnitude; Euler at 200 unfolds is ~1e-3 away)
    assert_close(final_state(ltc("rk4", 100, base, wiring=wiring), problem), converged, atol=0, rtol=RTOL_OP,
                 what="rk4 100 vs 200 unfolds")
    for solver in ("euler", "fused"):
        err_200 = (final_state(ltc(solver, 200, base, wiring=wiring), problem) - converged).abs().max().item()
        err_400 = (final_state(ltc(solver, 400, base, wiring=wiring), problem) - converged).abs().max().item()
        assert err_200 < 1e-2, solver
        # both Euler variants are first order: twice the unfolds, about half the error
        assert 1.5 < err_200 / err_400 < 2.5, (solver, err_200, err_400)


@pytest.mark.parametrize("unfolds", [4, 6, 10])
def test_rk4_beats_euler_with_few_unfolds(problem, unfolds):
    base = ltc("rk4", 200)
    converged = final_state(base, problem)
    err_rk4 = (final_state(ltc("rk4", unfolds, base), problem) - converged).abs().max()
    err_euler = (final_state(ltc("euler", unfolds, base), problem) - converged).abs().max()
    assert err_rk4 < err_euler / 10


def test_one_euler_and_one_rk4_substep_follow_the_ltc_ode(problem):
    x, h, _ = problem
    dt = torch.tensor([[0.05], [0.1]])
    euler = ltc("euler", 1)
    with torch.no_grad():
        def f(v):
            return reference_rhs(euler, x, v)

        assert_close(euler.step(x, h, dt)[1], h + dt * f(h), rtol=RTOL_OP, what="one Euler substep")
        rk4 = ltc("rk4", 1, euler)
        k1 = f(h)
        k2 = f(h + dt / 2 * k1)
        k3 = f(h + dt / 2 * k2)
        k4 = f(h + dt * k3)
        assert_close(rk4.step(x, h, dt)[1], h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), rtol=RTOL_OP,
                     what="one RK4 substep")


def test_fused_step_is_the_semi_implicit_euler_update(problem):
    x, h, _ = problem
    dt = torch.tensor([[0.3], [1.7]])
    model = ltc("fused", 1)
    sp = F.softplus
    with torch.no_grad():
        u = x * model.input_w + model.input_b
        g_in = sp(model.sensory_w) * torch.sigmoid(model.sensory_sigma * (u[:, :, None] - model.sensory_mu))
        g_rec = sp(model.w) * torch.sigmoid(model.sigma * (h[:, :, None] - model.mu))
        cm_t = sp(model.cm) / dt
        num = cm_t * h + sp(model.gleak) * model.vleak + (g_rec * model.erev).sum(1) + (g_in * model.sensory_erev).sum(1)
        den = cm_t + sp(model.gleak) + g_rec.sum(1) + g_in.sum(1)
        assert_close(model.step(x, h, dt)[1], num / (den + 1e-8), rtol=RTOL_OP, what="one fused substep")


@pytest.mark.parametrize("solver", ["fused", "euler", "rk4"])
def test_unfolds_split_dt(problem, solver):
    """K unfolds over dt equal K single-unfold steps of dt / K (the input is the same within the step)."""
    x, h, _ = problem
    dt = torch.tensor([[0.4], [0.8]])
    many, one = ltc(solver, 4), ltc(solver, 1)
    one.load_state_dict(many.state_dict())
    with torch.no_grad():
        state = h
        for _ in range(4):
            state = one.step(x, state, dt / 4)[1]
        assert_close(many.step(x, h, dt)[1], state, rtol=RTOL_OP, what=f"{solver}: 4 unfolds vs 4 steps")


def test_zero_dt_keeps_the_state_for_ode_solvers(problem):
    x, h, _ = problem
    for solver in ("euler", "rk4"):
        with torch.no_grad():  # exact by construction: h + 0 * f(h) is h, bit for bit
            assert torch.equal(ltc(solver, 3).step(x, h, torch.zeros(2, 1))[1], h), solver
