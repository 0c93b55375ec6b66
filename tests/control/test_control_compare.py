"""--compare ranking: out-of-distribution return per KB of memory and per microsecond of p99 latency."""

from __future__ import annotations

import pytest

from edgelnn.control.pipeline import compare_rows, format_compare


def _policy(label, ood, memory, p99):
    return {"label": label, "memory_bytes": memory, "summary": {"ood_mean": ood, "step_p99_us": p99}}


def test_compare_ranks_per_kb_and_names_the_winners():
    rows = compare_rows([_policy("big", 0.9, 100 * 1024, 10.0), _policy("small", 0.6, 10 * 1024, 40.0),
                         _policy("none", None, None, None)])
    assert [r["label"] for r in rows] == ["small", "big", "none"]
    assert rows[0]["ood_per_kb"] == pytest.approx(0.06) and rows[1]["ood_per_us"] == pytest.approx(0.09)
    text = format_compare(rows)
    assert "most OOD return per KB: small" in text and "most OOD return per microsecond: big" in text


def test_compare_models_trains_exports_and_ranks_every_kind(tmp_path):
    import json

    import jsonschema

    from edgelnn.control.pipeline import compare_models
    from edgelnn.control.report import control_schema

    report = compare_models("pendulum", tmp_path, models=("cfc", "gru"), backend="onnxruntime", precision="fp32",
                            conditions="nominal,drop", episodes=1, hidden_size=8, epochs=1, dagger_iterations=0,
                            task_options={"n_train": 4, "n_val": 2, "n_test": 2, "episode_steps": 40})
    doc = json.loads((tmp_path / "control.json").read_text())
    jsonschema.validate(doc, control_schema())
    assert sorted(r["label"] for r in doc["compare"]) == ["cfc fp32 (onnxruntime)", "gru fp32 (onnxruntime)"]
    assert all(r["memory_kb"] > 0 and r["step_p99_us"] > 0 for r in doc["compare"])
    assert "most OOD return per KB" in report.text
