"""report.md: cells that did not train are listed with their numbers, here and beside the published ones."""

from __future__ import annotations

from edgelnn.study.report import render_report
from edgelnn.study.results import build_results

from .synthetic import fake_cell, study


def test_cells_that_did_not_train_are_listed_with_their_metric_and_the_trivial_one():
    cells = [fake_cell("cfc", "walker2d", s, id_error=1.0 + 0.1 * s, ood_degradation=1.0, did_not_train=True)
             for s in (0, 1)]
    cells += [fake_cell("lstm-time", "walker2d", s, id_error=0.4, ood_degradation=1.5) for s in (0, 1)]
    doc = build_results(study(["cfc", "lstm-time"], ["walker2d"], [0, 1]), cells)
    report = render_report(doc, {})
    assert "Did not train, test mse (best trivial predictor's): cfc-walker2d-s0 1 (trivial 1); " \
           "cfc-walker2d-s1 1.1 (trivial 1)." in report
    assert "**did not train [0, 1]**" in report  # in the task table's seeds column, in no mean
    cfc = next(a for a in doc["aggregates"] if a["model"] == "cfc")
    assert "id_metric" not in cfc["stats"]  # no metric averaged over seeds that did not train
    assert cfc["stats"]["parameters"] == {"mean": 100.0, "std": 0.0, "n": 2}  # but what it costs is known
    assert cfc["stats"]["train_seconds_per_epoch"]["n"] == 2 and cfc["stats"]["latency_us"]["n"] == 2
    assert "| cfc | 100 ± 0 | 8 ± 0 | 8 ± 0 | – | – |" in report
    paper_rows = {line.split(" | ")[2]: line for line in report.splitlines() if line.startswith("| walker2d | squared")}
    assert "did not train (seeds [0, 1]: mse 1-1.1)" in paper_rows["CfC"]
    assert "0.4 ± 0 (mse)" in paper_rows["ODE-LSTM"]
