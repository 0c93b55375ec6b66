"""The whole closed-loop story as library calls: imitation -> export -> closed loop -> report.

``control_exports`` runs exported policies under the conditions and writes ``control.json`` (schema
checked), ``returns.png`` and ``trajectories.png``; ``train_and_export`` makes a policy from nothing
(BC + DAgger, then the ordinary export); ``compare_models`` does both for every model kind and ranks how
much out-of-distribution return each keeps per KB and per microsecond; ``run_demo_control`` is the short
run at the end of ``make demo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.control.conditions import select_conditions
from edgelnn.control.loop import RuntimePolicy, evaluate_policy, load_policy
from edgelnn.control.report import build_document, format_report, policy_entry, write_document, write_plots

MODEL_KINDS = ("cfc", "ltc", "lrc", "lstm", "gru")


@dataclass
class ControlReport:
    document: dict[str, Any]
    text: str
    files: list[Path]


def _policy_info(model: Any) -> dict[str, Any]:
    """Model kind, backend, precision, sizes of a loaded export (memory = artifact file + float32 state)."""
    manifest, artifact = model.manifest, model.artifact
    size = artifact.get("size_bytes")
    if size is None:
        path = Path(model.export_dir) / artifact["file"]
        size = path.stat().st_size if path.is_file() else None
    return {"model": manifest["model"]["kind"], "backend": model.backend, "precision": model.precision,
            "artifact": artifact["name"], "export": str(model.export_dir), "state_size": int(model.state_size),
            "parameters": None, "artifact_bytes": size,
            "memory_bytes": None if size is None else int(size + 4 * model.state_size)}


def control_exports(plant: str, exports: list[tuple[str | Path, str, str]], out_dir: str | Path | None,
                    conditions: str | list[str] = "all", episodes: int = 20, seed: int = 0,
                    steps: int | None = None, compare: bool = False, target: str | None = None) -> ControlReport:
    """Closed loop of every ``(export_dir, backend, precision)`` on ``plant``; files into ``out_dir``.

    ``target`` (a microcontroller profile, e.g. "stm32f4"): processor-in-the-loop instead of the runtime —
    the generated C runs in the Cortex-M emulator at every step, and the host C backend runs the same
    episodes beside it (same arithmetic: the returns must match).
    """
    from edgelnn.control.experts import make_expert

    conds = select_conditions(plant, conditions)
    policies, results, pil_lines = [], {}, []
    for export_dir, backend, precision in exports:
        if target is not None:
            entry, res, line = _processor_in_the_loop(plant, export_dir, target, conds, episodes, seed, steps)
            policies.append(entry)
            results[entry["label"]] = res
            pil_lines.append(line)
            continue
        model = load_policy(export_dir, plant, backend, precision)
        info = _policy_info(model)
        label = f"{info['model']} {model.precision} ({model.backend})"
        if label in results:
            label = f"{label} [{Path(export_dir).name}]"
        res = evaluate_policy(RuntimePolicy(model), plant, conds, episodes, seed, steps)
        results[label] = res
        policies.append(policy_entry(label, info, res))
    extra = {"compare": compare_rows(policies)} if compare else None
    doc = build_document(plant, episodes, seed, conds, policies, make_expert(plant).name, extra)
    text = format_report(doc)
    if pil_lines:
        text += "\n" + "\n".join(pil_lines)
    if compare:
        text += "\n\n" + format_compare(doc["compare"])
    files: list[Path] = []
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files.append(write_document(doc, out / "control.json"))
        files += write_plots(doc, results, out)
    return ControlReport(doc, text, files)


def _processor_in_the_loop(plant: str, export_dir: str | Path, target: str, conds: list[Any], episodes: int,
                           seed: int, steps: int | None) -> tuple[dict[str, Any], list[Any], str]:
    """The emulated-MCU policy under every condition, with the host C backend's returns beside it."""
    from edgelnn.control.loop import check_policy_fits
    from edgelnn.control.pil import McuPolicy

    mcu = McuPolicy(export_dir, target)
    check_policy_fits(mcu, plant, f"export {export_dir}")
    res = evaluate_policy(RuntimePolicy(mcu), plant, conds, episodes, seed, steps)
    host = load_policy(export_dir, plant, "c", "fp32")
    host_res = evaluate_policy(RuntimePolicy(host), plant, conds, episodes, seed, steps)
    diff = max(abs(a - b) for r, h in zip(res, host_res) for a, b in zip(r.returns, h.returns))
    scale = max(abs(b) for h in host_res for b in h.returns)
    period = min(r.period_s for r in res)
    pil = {**mcu.summary(period), "host_c_return_max_abs_diff": diff, "host_c_return_max_abs": scale}
    info = {**_policy_info(host), "backend": mcu.backend, "artifact": "generated C (emulated)", "pil": pil}
    label = f"{info['model']} fp32 (C on emulated {target})"
    line = (f"processor in the loop, {target} ({pil['core']}, {pil['clock_mhz']} MHz): "
            f"{pil['instructions_mean']:.0f} instructions and ~{pil['cycles_mean'] or 0:.0f} cycles (estimated) per "
            f"step, worst step {pil.get('step_us_max', float('nan')):.1f} us at the clock; fits the {period * 1e3:.0f} ms "
            f"period: {pil.get('fits_period')}, fits 100 Hz: {pil.get('fits_100hz')}; closed-loop return vs the "
            f"host C backend: max |diff| {diff:.3g} (returns up to {scale:.3g})")
    return policy_entry(label, info, res), res, line


def compare_rows(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Out-of-distribution return (mean normalised return over non-nominal conditions) per KB of memory
    (artifact + state) and per microsecond of p99 step latency, best per KB first."""
    rows = []
    for pol in policies:
        s = pol["summary"]
        kb = None if pol.get("memory_bytes") is None else pol["memory_bytes"] / 1024
        us = s["step_p99_us"]
        ood = s["ood_mean"]
        rows.append({"label": pol["label"], "ood_mean": ood, "memory_kb": kb, "step_p99_us": us,
                     "ood_per_kb": None if ood is None or not kb else ood / kb,
                     "ood_per_us": None if ood is None or not us else ood / us})
    return sorted(rows, key=lambda r: np.inf if r["ood_per_kb"] is None else -r["ood_per_kb"])


def format_compare(rows: list[dict[str, Any]]) -> str:
    from edgelnn.utils.table import format_table

    def f(v: float | None, d: int = 3) -> str:
        return "-" if v is None else f"{v:.{d}f}"

    table = format_table([{"policy": r["label"], "OOD return": f(r["ood_mean"]), "memory KB": f(r["memory_kb"], 1),
                           "p99 us": f(r["step_p99_us"], 1), "OOD/KB": f(r["ood_per_kb"], 4),
                           "OOD/us": f(r["ood_per_us"], 4)} for r in rows])
    lines = [table]
    scored = [r for r in rows if r["ood_per_kb"] is not None]
    if scored:
        lines.append(f"most OOD return per KB: {max(scored, key=lambda r: r['ood_per_kb'])['label']}")
    scored = [r for r in rows if r["ood_per_us"] is not None]
    if scored:
        lines.append(f"most OOD return per microsecond: {max(scored, key=lambda r: r['ood_per_us'])['label']}")
    return "\n".join(lines)


def train_and_export(plant: str, out_dir: str | Path, model: str = "cfc", hidden_size: int = 32, epochs: int = 40,
                     dagger_iterations: int = 2, dagger_epochs: int = 10, dagger_episodes: int = 16,
                     batch_size: int = 32, formats: tuple[str, ...] = ("onnx",), int8: bool = True, seed: int = 0,
                     task_options: dict[str, Any] | None = None, progress: bool = False) -> Path:
    """Imitation (BC + DAgger) into ``out_dir/imitation``, then the ordinary export into ``out_dir/export``."""
    from edgelnn.control.imitation import imitate
    from edgelnn.export import ExportConfig, export_model, resolve_source

    out = Path(out_dir)
    result = imitate(plant, out / "imitation", model=model, hidden_size=hidden_size, epochs=epochs,
                     dagger_iterations=dagger_iterations, dagger_epochs=dagger_epochs,
                     dagger_episodes=dagger_episodes, seed=seed, task_options=task_options, batch_size=batch_size,
                     progress=progress)
    export_dir = out / "export"
    export_model(resolve_source(run=result.policy_run), ExportConfig(formats=tuple(formats), int8=int8, seed=seed),
                 export_dir, force=True)
    return export_dir


def compare_models(plant: str, out_dir: str | Path, models: tuple[str, ...] = MODEL_KINDS, backend: str = "auto",
                   precision: str = "int8", conditions: str | list[str] = "all", episodes: int = 20, seed: int = 0,
                   **train_options: Any) -> ControlReport:
    """Train (imitation) and export every model kind, then one closed-loop comparison of them all."""
    out = Path(out_dir)
    exports = [(train_and_export(plant, out / kind, model=kind, seed=seed, **train_options), backend, precision)
               for kind in models]
    return control_exports(plant, exports, out, conditions, episodes, seed, compare=True)


def run_demo_control(out_dir: str | Path) -> str:
    """The closed-loop part of ``make demo`` (about 30 s on an idle 2-core machine here): a small CfC policy for the cart-pole by
    imitation, exported to ONNX fp32 + int8, run in closed loop through the runtime under every condition.
    Returns the report text; files go to ``out_dir``."""
    out = Path(out_dir)
    export_dir = train_and_export("cartpole", out, model="cfc", hidden_size=16, epochs=30, dagger_iterations=2,
                                  dagger_epochs=10, dagger_episodes=8, batch_size=32,
                                  task_options={"n_train": 24, "n_val": 4, "n_test": 4, "window_steps": 50})
    report = control_exports("cartpole", [(export_dir, "onnxruntime", "int8")], out / "report", "all", episodes=5)
    return report.text
