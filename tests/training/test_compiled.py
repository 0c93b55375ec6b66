"""Compiled training loops (edgelnn train --compile): the same numbers as ncps and as the eager loop."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from ncps.torch import LTC as NcpsLTC
from ncps.torch import CfC as NcpsCfC
from numeric import RTOL_ROLLOUT, assert_close

from edgelnn.models import from_ncps
from edgelnn.models.registry import build_model, make_config
from edgelnn.training import TrainConfig, train
from edgelnn.training.compiled import compile_training_steps

TINY_SINE = {"n_train": 48, "n_val": 16, "n_test": 16, "seq_len": 12}


def _outputs_and_grads(model, x, **kw):
    """Outputs of ``model.run`` and the gradients of a loss w.r.t. the input and every parameter."""
    x = x.clone().requires_grad_(True)
    y = model.run(x, **kw)[0]
    model.zero_grad(set_to_none=True)
    (y**2).mean().backward()
    return y.detach(), x.grad, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def _assert_same(fast, eager, what):
    (y_fast, dx_fast, g_fast), (y_eager, dx_eager, g_eager) = fast, eager
    # rollouts through differently fused kernels: the rollout bound
    assert_close(y_fast, y_eager, rtol=RTOL_ROLLOUT, what=f"{what} outputs")
    assert_close(dx_fast, dx_eager, rtol=RTOL_ROLLOUT, what=f"{what} input gradients")
    assert g_fast.keys() == g_eager.keys() and len(g_eager) >= 5
    for name, grad in g_eager.items():
        assert_close(g_fast[name], grad, rtol=RTOL_ROLLOUT, what=f"{what} d/d{name}")


@pytest.mark.parametrize("reference", [lambda: NcpsLTC(3, 8), lambda: NcpsCfC(3, 8)], ids=["ltc", "cfc"])
def test_compiled_loop_matches_ncps_and_the_eager_loop(reference):
    torch.manual_seed(0)
    ncps_model = reference()
    eager, fast = from_ncps(ncps_model), from_ncps(ncps_model)
    compile_training_steps(fast)
    x = torch.randn(4, 20, 3)  # CfC: a chunk of 16 steps and a tail of 4
    ncps_x = x.clone().requires_grad_(True)
    ncps_y = ncps_model(ncps_x)[0]
    (ncps_y**2).mean().backward()
    fast_run = _outputs_and_grads(fast, x)
    assert_close(fast_run[0], ncps_y.detach(), rtol=RTOL_ROLLOUT, what="compiled vs ncps outputs")
    assert_close(fast_run[1], ncps_x.grad, rtol=RTOL_ROLLOUT, what="compiled vs ncps input gradients")
    _assert_same(fast_run, _outputs_and_grads(eager, x), "compiled vs eager")


def test_compiled_lrc_with_padding_masks_matches_the_eager_loop_and_evaluation_stays_eager():
    torch.manual_seed(0)
    eager = build_model(make_config("lrc", 3, 8, proj_size=2))
    fast = copy.deepcopy(eager)
    compile_training_steps(fast, steps=4)
    x, dt = torch.randn(3, 10, 3), torch.rand(3, 10) + 0.5
    mask = torch.arange(10)[None, :] < torch.tensor([[10], [7], [3]])  # padded rows hold their state
    _assert_same(_outputs_and_grads(fast, x, timespans=dt, mask=mask),
                 _outputs_and_grads(eager, x, timespans=dt, mask=mask), "compiled vs eager LRC")
    with torch.no_grad():  # evaluation runs the eager loop: the very same ops, bit for bit
        assert torch.equal(fast.run(x, dt, mask=mask)[0], eager.run(x, dt, mask=mask)[0])


def test_a_chunk_length_below_one_is_refused():
    with pytest.raises(ValueError, match="steps=0 is not valid"):
        compile_training_steps(build_model(make_config("gru", 3, 8)), steps=0)


def test_training_with_compiled_steps_follows_the_eager_run(tmp_path):
    def config(**kw) -> TrainConfig:
        return TrainConfig(model="ltc", task="sine", hidden_size=8, epochs=2, batch_size=16, lr=1e-2, patience=0,
                           model_options={"ode_unfolds": 2}, task_options=dict(TINY_SINE), **kw)

    eager = train(config(), tmp_path / "eager", progress=False)
    fast = train(config(compile_step=True), tmp_path / "fast", progress=False)
    assert json.loads((tmp_path / "fast" / "config.json").read_text())["train"]["compile_step"] is True
    # two epochs of Adam from the same start on the same batches: the fused kernels' float differences pass
    # through the updates, so the rollout bound, on the per-epoch losses and the final metrics
    assert_close([h["train_loss"] for h in fast.history], [h["train_loss"] for h in eager.history],
                 rtol=RTOL_ROLLOUT, what="train loss per epoch")
    assert_close(list(fast.metrics.values()), list(eager.metrics.values()), rtol=RTOL_ROLLOUT, what="metrics")
