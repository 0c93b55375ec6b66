"""The LNN-vs-RNN comparison study (`edgelnn compare`): grid, cells, baselines, results, verdicts, report.

    from edgelnn.study import run_demo_study
    report = run_demo_study("study-demo")      # path of report.md
"""

from __future__ import annotations

from pathlib import Path


def run_demo_study(out_dir: str | Path, jobs: int = 2, progress: bool = True) -> Path:
    """Run the demo preset into ``out_dir`` (resuming what is there; ``jobs`` cells at a time, 2 for a 2-core
    machine) and return the path of report.md."""
    from edgelnn.study.runner import run_preset

    return run_preset("demo", out_dir, jobs=jobs, progress=progress).report_path
