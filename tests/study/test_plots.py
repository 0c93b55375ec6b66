"""The Pareto front marked on the accuracy-vs-cost plots."""

from __future__ import annotations

from edgelnn.study.plots import pareto_front


def test_pareto_front_for_accuracy_and_for_mse():
    points = [(1.0, 0.50), (2.0, 0.90), (3.0, 0.80), (2.0, 0.85)]  # (cost, metric)
    assert pareto_front(points, higher_is_better=True) == [0, 1]  # 3.0/0.80 and 2.0/0.85 are beaten by 2.0/0.90
    mse = [(1.0, 0.30), (2.0, 0.10), (3.0, 0.20), (1.5, 0.30)]
    assert pareto_front(mse, higher_is_better=False) == [0, 1]
