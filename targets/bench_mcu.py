"""Microcontroller rows of `edgelnn bench`: the export's generated C measured on the emulated Cortex-M core.

For a target of kind ``mcu`` (stm32f4, stm32h7, nrf52840, rp2040) bench adds one ``firmware`` row per
precision the C generator writes (fp32; int8 once the generator has it). Each row runs in its own child
process (``python -m edgelnn.targets.bench_mcu``, with the bench timeout): the C is generated from the export's
checkpoint, cross-compiled for the profile's core (ziglang), and stepped in unicorn over the first real steps
of the first golden sequence, from the zero state. The row reports emulated instructions per step (exact),
estimated cycles and time at the profile's clock (estimates), flash and RAM with a verdict against the
profile's budgets, and the golden check: those steps' outputs vs the PyTorch rollout within the manifest's
fp32 tolerance (atol + rtol * max|ref|). The TFLite Micro row (arena) stays in the same table for comparison.

Backend selection: ``--backend all`` runs the firmware rows on mcu targets; an explicit list runs them only when
it names ``firmware``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

FIRMWARE = "firmware"
CHILD_MODULE = "edgelnn.targets.bench_mcu"
FIRMWARE_STEPS = 8  # golden steps replayed per row (M0+ soft float: ~10M instructions per CfC-64 step)
FIRMWARE_NOTE = ("firmware: C generated from the export's checkpoint, emulated on the target's core; instructions "
                 "exact, cycles and time estimated (per-instruction-class model, zero-wait memory)")
MCU_INSTALL = "pip install 'edgelnn[mcu]'"


def split_firmware(backends: str | list[str], profile: dict[str, Any]) -> tuple[str | list[str], bool]:
    """(the runtime backends to plan, whether to add firmware rows) from bench's ``backends`` argument."""
    if isinstance(backends, str) and backends == "all":
        return backends, profile.get("kind") == "mcu"
    names = [backends] if isinstance(backends, str) else list(backends)
    wanted = FIRMWARE in names
    if wanted and profile.get("kind") != "mcu":
        raise ValueError(f"backend {FIRMWARE!r} measures emulated Cortex-M firmware; target {profile['name']!r} is "
                         f"a {profile.get('kind')} target (use stm32f4, stm32h7, nrf52840 or rp2040)")
    rest = [n for n in names if n != FIRMWARE]
    return rest, wanted


def firmware_precisions(precision: str) -> list[str]:
    """The C precisions to measure for bench's ``precision`` argument (those the generator writes)."""
    from edgelnn.firmware_bench.codegen import PRECISIONS

    if precision == "all":
        return list(PRECISIONS)
    family = "int8" if precision.startswith("int8") else precision
    return [family] if family in PRECISIONS else []


def plan_firmware(export_dir: Path, manifest: dict[str, Any], precision: str) -> tuple[list[str], list[dict[str, Any]]]:
    """(precisions to measure, skipped rows with the reason) for the firmware rows."""
    from edgelnn.firmware_bench.bundle import mcu_available
    from edgelnn.firmware_bench.codegen import PRECISIONS

    wanted = firmware_precisions(precision)
    skip = [] if wanted else [{"backend": FIRMWARE, "precision": precision,
                               "reason": f"the C generator has no {precision} code yet (it writes "
                                         f"{', '.join(PRECISIONS)})"}]
    if not wanted:
        return [], skip
    reason = None
    if not mcu_available():
        reason = f"not installed: {MCU_INSTALL}"
    elif "golden" not in manifest:
        reason = f"{export_dir} has no golden vectors; re-export it with this edgelnn version"
    elif "torch_checkpoint" not in manifest:
        reason = f"{export_dir} has no float checkpoint to generate C from"
    if reason is not None:
        return [], [{"backend": FIRMWARE, "precision": p, "reason": reason} for p in wanted]
    return _generatable(export_dir, wanted)


def _generatable(export_dir: Path, precisions: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """The precisions the generator writes for this model; the others skipped with its reason (e.g. int8 LTC)."""
    from edgelnn.errors import UnsupportedModelError
    from edgelnn.firmware_bench.codegen import generate

    ok, skipped = [], []
    for p in precisions:
        try:
            generate(export_dir, p)
            ok.append(p)
        except UnsupportedModelError as exc:
            skipped.append({"backend": FIRMWARE, "precision": p, "reason": str(exc)})
    return ok, skipped


def firmware_job(export_dir: Path, target: str | Path, precision: str, steps: int = FIRMWARE_STEPS) -> dict[str, Any]:
    """What one firmware child is told to measure."""
    target = str(Path(target).resolve()) if str(target).endswith(".json") else str(target)
    return {"artifact_dir": str(Path(export_dir).resolve()), "target": target, "precision": precision,
            "steps": steps}


def measure_firmware(job: dict[str, Any]) -> dict[str, Any]:
    """Generate, cross-compile and emulate the export's step on the target's core (runs in the child)."""
    from edgelnn.artifact import read_manifest
    from edgelnn.export.golden import read_golden
    from edgelnn.firmware_bench.codegen import generate
    from edgelnn.firmware_bench.golden_c import golden_tolerance
    from edgelnn.firmware_bench.mcu import measure_c_step

    export_dir = Path(job["artifact_dir"])
    manifest = read_manifest(export_dir)
    golden = read_golden(export_dir, manifest["golden"])
    src = generate(export_dir, job["precision"])
    real = np.flatnonzero(golden.mask[0])[: job["steps"]]
    inputs = [(golden.x[0, k], golden.dt[0, k]) for k in real]
    rep = measure_c_step(src.files, src.step_symbol, None, inputs, src.state_size, src.output_size, job["target"])
    atol, rtol = golden_tolerance(manifest, job["precision"])
    ref = golden.y[0, real]
    error = float(np.abs(rep.outputs - ref).max())
    bound = atol + rtol * float(np.abs(ref).max())
    check = {"status": "passed" if error <= bound else "failed", "steps": len(real), "sequence": 0,
             "max_abs_error": error, "bound": bound, "atol": atol, "rtol": rtol}
    return {"firmware": {**rep.to_dict(), "golden_check": check}}


def firmware_row(precision: str, child: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """A bench result row (schema: bench.schema.json, backend "firmware") from what the child reported."""
    fw = child.get("firmware")
    ok = child.get("status") == "ok" and fw is not None
    row = {
        "backend": FIRMWARE, "precision": precision, "artifact": None, "status": "ok" if ok else "failed",
        "error": None if ok else child.get("error") or "no result", "exit_code": child.get("exit_code"),
        "pid": child.get("pid"), "artifact_bytes": None, "load_seconds": None, "latency_us": None,
        "step_over_raw": None, "throughput": [], "peak_rss_bytes": None, "rss_start_bytes": None,
        "rss_before_load_bytes": None, "rss_source": None, "arena_bytes": None, "metrics": None, "metric_drop": None,
        "seconds": child.get("seconds", 0.0), "out_of_range": None, "manifest_metrics": None,
        "notes": [FIRMWARE_NOTE],
        "firmware": fw if ok else None,
    }
    if ok and fw["golden_check"]["status"] != "passed":
        row["status"], row["error"] = "failed", (
            f"golden check failed: max abs error {fw['golden_check']['max_abs_error']:.3g} > bound "
            f"{fw['golden_check']['bound']:.3g}")
    row["verdict"] = firmware_verdict(row, profile)
    return row


def firmware_verdict(row: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """Flash (text + rodata + data) and RAM (data + bss + stack high-water + state + I/O) vs the budgets."""
    fw = row.get("firmware") or {}
    checks = [
        {"resource": "flash", "measured": "emulated firmware text + rodata + data", "bytes": fw.get("flash_bytes"),
         "budget_bytes": profile.get("flash_bytes")},
        {"resource": "ram", "measured": "emulated firmware data + bss + stack high-water mark + state + x/dt/y",
         "bytes": fw.get("ram_bytes"), "budget_bytes": profile.get("ram_bytes")},
    ]
    for c in checks:
        c["fits"] = None if c["bytes"] is None or c["budget_bytes"] is None else bool(c["bytes"] <= c["budget_bytes"])
    counted = [c["fits"] for c in checks if c["budget_bytes"] is not None]
    if row["status"] != "ok" or not counted:
        overall = "unknown"
    elif False in counted:
        overall = "does not fit"
    else:
        overall = "unknown" if None in counted else "fits"
    return {"verdict": overall, "checks": checks}


def _fmt(value: float | None, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


def format_firmware(doc: dict[str, Any]) -> str:
    """The firmware rows' table (empty when there are none), with the TFLite Micro arena beside them."""
    rows = [r for r in doc["results"] if r["backend"] == FIRMWARE and r.get("firmware")]
    if not rows:
        return ""
    from edgelnn.utils.table import format_table

    arenas = [f"{r['arena_bytes']:,} ({r['precision']})" for r in doc["results"]
              if r["backend"] == "tflm" and r.get("arena_bytes") is not None]
    table = []
    for r in rows:
        fw = r["firmware"]
        cycles, time_us = fw.get("cycles_per_step_estimate"), fw.get("time_us_per_step_estimate")
        table.append({
            "firmware": r["precision"], "core": fw["core"],
            "instr/step": _fmt(fw["instructions_per_step"]["mean"]),
            "~cycles/step": _fmt(None if cycles is None else cycles["mean"]),
            "~us/step": "-" if time_us is None else f"{time_us['mean']:,.1f} @ {time_us['clock_mhz']:g} MHz",
            "flash B": _fmt(fw["flash_bytes"]), "RAM B": _fmt(fw["ram_bytes"]),
            "stack B": _fmt(fw["stack_high_water_bytes"]),
            "tflm arena B": ", ".join(arenas) or "-",
            "golden": f"{fw['golden_check']['status']} ({fw['golden_check']['steps']} steps)",
            "verdict": r["verdict"]["verdict"],
        })
    return ("\n\nemulated firmware (instructions exact; cycles and us are estimates):\n" + format_table(table))


def main() -> int:
    """Child entry: one JSON job on stdin, one JSON result line on the original stdout."""
    from edgelnn.targets.child_protocol import serve_one_job

    return serve_one_job(measure_firmware)


if __name__ == "__main__":
    sys.exit(main())
