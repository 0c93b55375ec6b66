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
