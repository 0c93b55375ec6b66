"""The demo pipeline, as library functions returning data (the CLI formats it)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from edgelnn.models.catalog import VARIANTS
from edgelnn.models.registry import build_model, make_config
from edgelnn.training import TrainConfig, train

# The demo's training settings: small models on a real bundled dataset, a few minutes on 2 cores.
DEMO_TASK = "japanesevowels"
DEMO_TRAINING = {"hidden_size": 32, "epochs": 20, "batch_size": 16, "lr": 5e-3, "patience": 8, "seed": 0}


def zoo_demo(input_size: int = 6, hidden_size: int = 32, steps: int = 50, seed: int = 0) -> list[dict[str, Any]]:
    """Build each zoo variant, step it ``steps`` times (batch 1, random irregular dt); one row per model."""
    torch.manual_seed(seed)
    x = torch.randn(1, steps, input_size)
    dt = torch.rand(1, steps) + 0.5
    rows = []
    for label, kind, options in VARIANTS:
        options = dict(options)
        if options.get("wiring") == "auto_ncp":
            options["wiring"] = {"type": "auto_ncp", "units": hidden_size, "output_size": max(1, hidden_size // 8)}
        model = build_model(make_config(kind, input_size, hidden_size, **options)).eval()
        state = model.init_state(1)
        with torch.no_grad():
            for t in range(steps):
                y, state = model.step(x[:, t], state, dt[:, t : t + 1])
        rows.append({"model": label, "parameters": model.num_parameters(), "state_size": model.state_size,
                     "output_size": model.output_size, "final |y|": float(y.abs().mean()),
                     "finite": bool(torch.isfinite(state).all())})
    return rows


def training_demo(runs_dir: str | Path = "runs/demo", models: tuple[str, ...] = ("cfc", "lstm"),
                  task: str = DEMO_TASK, progress: bool = True, **overrides: Any) -> list[dict[str, Any]]:
    """Train each model on ``task``; one row per model with its test and OOD metrics.

    Each run trains in a temporary directory and replaces ``runs_dir/<model>`` only when it finished.
    """
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for model in models:
        cfg = TrainConfig(model=model, task=task, **{**DEMO_TRAINING, **overrides})
        tmp = Path(tempfile.mkdtemp(prefix=f".{model}-", dir=runs_dir))
        try:
            result = train(cfg, tmp / "run", progress=progress)
            final = runs_dir / model
            shutil.rmtree(final, ignore_errors=True)
            (tmp / "run").rename(final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        parameters = json.loads((final / "metrics.json").read_text())["parameters"]
        rows.append({"model": model, "parameters": parameters, "best_epoch": result.best_epoch,
                     **{k: v for k, v in result.metrics.items() if k != "val"}, "run": str(final)})
    return rows


def export_demo(runs_dir: str | Path = "runs/demo", artifacts_dir: str | Path = "artifacts/demo",
                models: tuple[str, ...] = ("cfc", "lstm"), formats: tuple[str, ...] = ("onnx", "tflite"),
                int8: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Export each demo run (fp32 + int8, every artifact verified); summary rows per model."""
    from edgelnn.export import ExportConfig, export_model, resolve_source

    out = {}
    for model in models:
        source = resolve_source(run=Path(runs_dir) / model)
        result = export_model(source, ExportConfig(formats=formats, int8=int8), Path(artifacts_dir) / model,
                              force=True)
        out[model] = result.summary_rows()
    return out


def bench_demo(artifacts_dir: str | Path = "artifacts/demo", models: tuple[str, ...] = ("cfc", "lstm"),
               target: str = "cpu", steps: int = 500) -> dict[str, str]:
    """Bench each demo export on ``target`` (every installed backend in its own child); printable reports."""
    from edgelnn.targets.bench import BenchSettings, bench

    reports = {}
    for model in models:
        result = bench(Path(artifacts_dir) / model, target=target,
                       settings=BenchSettings(steps=steps, warmup=50, throughput_seconds=0.2))
        result.write()
        reports[model] = result.report()
    return reports



def mcu_demo(artifacts_dir: str | Path = "artifacts/demo", models: tuple[str, ...] = ("cfc", "lstm"),
             target: str = "stm32f4") -> dict[str, str]:
    """Each demo export on a microcontroller target: its generated C (fp32 and int8) in the emulated
    Cortex-M core beside the TFLite Micro interpreter; printable reports (bench JSON written beside)."""
    from edgelnn.targets.bench import BenchSettings, bench

    reports = {}
    for model in models:
        result = bench(Path(artifacts_dir) / model, target=target, backends=["firmware", "tflm"], precision="all",
                       settings=BenchSettings(steps=200, warmup=20, batches=(1,), throughput_seconds=0.1))
        result.write()
        reports[model] = result.report()
    return reports


def study_demo(out_dir: str | Path = "runs/demo/study", progress: bool = True) -> tuple[Path, list[str]]:
    """The LNN-vs-RNN study in small form (the ``demo`` preset of ``edgelnn compare``): (report.md, verdicts)."""
    from edgelnn.study import run_demo_study
    from edgelnn.study.report import verdict_lines
    from edgelnn.study.results import read_results

    report = run_demo_study(out_dir, progress=progress)
    return report, verdict_lines(read_results(report.parent / "results.json"))


def control_demo(out_dir: str | Path = "runs/demo/control") -> str:
    """A short closed-loop run: a CfC cart-pole policy by imitation, int8, under every condition."""
    from edgelnn.control.pipeline import run_demo_control

    return run_demo_control(out_dir)
