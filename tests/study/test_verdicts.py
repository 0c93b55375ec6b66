"""Verdicts on synthetic numbers where the answer is known: supported, not supported, inconclusive."""

from __future__ import annotations

import numpy as np
import pytest

from edgelnn.study.results import COST_FIELDS, build_results
from edgelnn.study.verdicts import bootstrap_ci

from .synthetic import fake_cell, study

TASKS, SEEDS = ["t1", "t2", "t3"], [0, 1]


def _doc(lnn_degradation, rnn_degradation, **kwargs) -> dict:
    """cfc and gru cells on 3 tasks x 2 seeds; degradations may be callables of (task index, seed)."""
    cells = []
    for t, task in enumerate(TASKS):
        for seed in SEEDS:
            lnn = lnn_degradation(t, seed) if callable(lnn_degradation) else lnn_degradation
            rnn = rnn_degradation(t, seed) if callable(rnn_degradation) else rnn_degradation
            cells.append(fake_cell("cfc", task, seed, 0.20, lnn, **kwargs.get("cfc", {})))
            cells.append(fake_cell("gru", task, seed, 0.22, rnn, **kwargs.get("gru", {})))
    return build_results(study(["cfc", "gru"], TASKS, SEEDS), cells)  # schema-validated


def _verdict(doc: dict, claim_id: str) -> dict:
    return next(v for v in doc["verdicts"] if v["claim_id"] == claim_id)


def test_lnn_degrading_less_everywhere_is_supported():
    v = _verdict(_doc(lambda t, s: 1.1 + 0.01 * s, lambda t, s: 1.5 + 0.02 * t), "ood-degradation")
    assert v["verdict"] == "supported" and v["n_pairs"] == 6
    assert v["effect"] == pytest.approx(np.mean([np.log((1.5 + 0.02 * t) / (1.1 + 0.01 * s))
                                                 for t in range(3) for s in SEEDS]))
    assert v["ci"][0] > 0 and "interval lies above 0" in v["reason"]


def test_lnn_degrading_more_everywhere_is_not_supported():
    v = _verdict(_doc(lambda t, s: 2.0 + 0.1 * t, lambda t, s: 1.2 + 0.05 * s), "ood-degradation")
    assert v["verdict"] == "not supported" and v["ci"][1] < 0


def test_mixed_signs_are_inconclusive():
    v = _verdict(_doc(lambda t, s: 1.0 if (t + s) % 2 else 2.0, 1.4), "ood-degradation")
    assert v["verdict"] == "mixed/inconclusive" and v["ci"][0] < 0 < v["ci"][1]


def test_too_few_pairs_are_inconclusive():
    cells = [fake_cell("cfc", "t1", 0, 0.2, 1.0), fake_cell("gru", "t1", 0, 0.3, 3.0)]
    v = _verdict(build_results(study(["cfc", "gru"], ["t1"], [0]), cells), "ood-degradation")
    assert v["verdict"] == "mixed/inconclusive" and "fewer than 3 pairs" in v["reason"]


def test_cells_that_did_not_train_are_not_paired():
    doc = _doc(1.0, 2.0, gru={"did_not_train": True})
    v = _verdict(doc, "ood-degradation")
    assert v["n_pairs"] == 0 and v["verdict"] == "mixed/inconclusive"
    gru = next(a for a in doc["aggregates"] if a["model"] == "gru" and a["task"] == "t1")
    assert gru["did_not_train_seeds"] == [0, 1] and set(gru["stats"]) == COST_FIELDS  # listed, no metric averaged


def test_training_speed_int8_and_ram_claims():
    doc = _doc(1.0, 1.0, cfc={"int8_increase": 0.01}, gru={"int8_increase": 0.05})
    assert _verdict(doc, "int8-robustness")["verdict"] == "supported"
    ram = _verdict(doc, "ram-efficiency")
    assert ram["verdict"] == "mixed/inconclusive" and ram["reason"].startswith("no device RAM measured")
    assert _verdict(doc, "cfc-faster-than-ltc")["n_pairs"] == 0  # no LTC in this study
    hidden = build_results(study(["cfc", "gru"], TASKS, SEEDS, match_by="hidden"), doc["cells"])
    assert "not at a matched parameter budget" in _verdict(hidden, "param-efficiency")["reason"]
    assert _verdict(doc, "param-efficiency")["verdict"] == "supported"  # cfc 0.20 vs gru 0.22 everywhere


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    diffs = [0.1, 0.3, -0.05, 0.2, 0.15]
    lo, hi = bootstrap_ci(diffs)
    assert (lo, hi) == bootstrap_ci(diffs) and lo < np.mean(diffs) < hi
