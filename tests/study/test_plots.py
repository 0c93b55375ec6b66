"""The Pareto front marked on the accuracy-vs-cost plots."""

from __future__ import annotations

from edgelnn.study.plots import pareto_front


def test_pareto_front_for_accuracy_and_for_mse():
    points = [(1.0, 0.50), (2.0, 0.90), (3.0, 0.80), (2.0, 0.85)]  # (cost, metric)
    assert pareto_front(points, higher_is_better=True) == [0, 1]  # 3.0/0.80 and 2.0/0.85 are beaten by 2.0/0.90
    mse = [(1.0, 0.30), (2.0, 0.10), (3.0, 0.20), (1.5, 0.30)]
    assert pareto_front(mse, higher_is_better=False) == [0, 1]


def test_a_task_where_no_model_trained_is_left_out_of_the_metric_plots(tmp_path):
    """Its costs are known (seconds per epoch is drawn) but it has no metric to put against them."""
    import pytest

    pytest.importorskip("matplotlib")
    from edgelnn.study.plots import make_plots
    from edgelnn.study.results import build_results

    from .synthetic import fake_cell, study

    cells = [fake_cell(m, "t1", 0, 0.2, 1.5) for m in ("cfc", "gru")]
    cells += [fake_cell(m, "t2", 0, 1.0, 1.0, did_not_train=True) for m in ("cfc", "gru")]
    plots = make_plots(build_results(study(["cfc", "gru"], ["t1", "t2"], [0]), cells), tmp_path)
    for name in ("id_vs_params", "accuracy_vs_latency", "train_time"):
        assert plots[name]["file"] and (tmp_path / plots[name]["file"]).read_bytes()[:4] == b"\x89PNG"
