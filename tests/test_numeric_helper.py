"""The suite's one numeric check: the bound scales with the reference, and real bugs fail it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numeric import ATOL, RTOL_ROLLOUT, accuracy_slack, assert_close, max_abs_error


def test_bound_scales_with_the_reference():
    ref = np.array([100.0, -50.0, 0.0])
    # 5e-3 absolute is fine on a reference of magnitude 100 at rtol 1e-4 (bound 1e-2 + 1e-6) ...
    assert assert_close(ref + 5e-3, ref, rtol=RTOL_ROLLOUT) == pytest.approx(5e-3)
    # ... but not on one of magnitude 1, and the message gives the error, the bound and its parts
    with pytest.raises(AssertionError, match=r"state: max abs error 0.005 > bound 0.000101 \(atol 1e-06 \+ "
                                             r"rtol 0.0001 \* max\|reference\| 1\)"):
        assert_close(ref / 100 + 5e-3, ref / 100, rtol=RTOL_ROLLOUT, what="state")


def test_real_bugs_fail_and_float_noise_passes():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((5, 8)).astype(np.float32)
    noise = ref * (1 + rng.uniform(-3e-6, 3e-6, ref.shape)).astype(np.float32)  # a few ulps of reordering
    assert_close(noise, ref)
    with pytest.raises(AssertionError):
        assert_close(-ref, ref, rtol=RTOL_ROLLOUT)  # a wrong sign
    with pytest.raises(AssertionError):
        assert_close(ref + 0.1 * ref[:, :1], ref, rtol=RTOL_ROLLOUT)  # a term too many


def test_nan_shapes_torch_and_zero_reference():
    with pytest.raises(AssertionError, match="max abs error nan"):
        assert_close(np.array([np.nan, 1.0]), np.array([1.0, 1.0]))
    with pytest.raises(AssertionError, match=r"shape \(2,\) != reference shape \(2, 1\)"):
        assert_close(np.zeros(2), np.zeros((2, 1)))  # no silent broadcasting
    assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]))
    assert_close(np.full(3, ATOL / 2), np.zeros(3))  # an all-zero reference gets the atol floor ...
    with pytest.raises(AssertionError):
        assert_close(np.full(3, 2 * ATOL), np.zeros(3))  # ... and no more
    assert max_abs_error([1.0, 2.0], [1.5, 2.0]) == 0.5


def test_accuracy_slack_counts_float_noise_ties_only():
    logits = np.array([[0.0, 1.0], [0.5, 0.5 + 1e-7], [2.0, -1.0], [0.3, 0.3]])
    assert accuracy_slack(logits) == 0.5  # rows 1 and 3 are ties at max|logits| 2; rows 0 and 2 are not
    assert accuracy_slack(logits[[0, 2]]) == 0.0
