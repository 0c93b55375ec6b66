"""One cell of the study: train -> export (fp32 + int8) -> bench, then the numbers the study reports.

Each cell is an ordinary run directory and export directory under ``OUT/cells/<model>-<task>-s<seed>/``
(``run/``, ``export/``), so every tool of the project opens them. ``cell.json`` is written last (atomically):
its presence marks the cell finished. An interrupted cell resumes: training from its last finished epoch
(run dir), an export that finished is reused (export dirs appear whole or not at all), and so is a bench
document measured with the same settings. The int8 figure is the int8 generated C, evaluated on this host.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgelnn.study.baselines import (
    beats_trivial,
    best_trivial,
    chance_p_value,
    normalised_error,
    split_sizes,
    trivial_metrics,
)
from edgelnn.study.grid import Cell, family
from edgelnn.tasks.metrics import metric_spec
from edgelnn.utils.atomic import write_json_atomic

CELL_FILE = "cell.json"
# Which int8 model stands for "int8" in the study: the generated int8 C (what the Cortex-M4F figures measure,
# for every model kind), else the full-integer flatbuffer TFLite Micro runs, else the best static artifact,
# else dynamic range.
C_INT8 = "c-int8-dynamic"  # the c backend's name for it (int8 weights, inputs quantized per call)
INT8_PREFERENCE = (C_INT8, "tflite-int8-full", "onnx-int8-static", "tflite-int8-dynamic", "onnx-int8-dynamic")
DEVICE_CORE, DEVICE_PROFILE = "cortex-m4f", "stm32f4"
DEVICE_STEPS = 3  # emulated steps per cell: instructions are exact per step and barely vary between steps
# The trivial predictors a record's normalised errors rest on: 1 = the training majority class (classification),
# 2 = also the best constant class on each split, 3 = and an accuracy beats them only beyond chance (binomial
# test over the split's sequences). Older records are recomputed (refresh_baselines), not rerun.
BASELINES_VERSION = 3
DEVICE_OFF = "the preset does not measure Cortex-M4F figures (mcu_measure off)"


@dataclass(frozen=True)
class PipelineSettings:
    """Export and bench settings of every cell (part of a preset)."""

    formats: tuple[str, ...] = ("onnx",)
    verify_sequences: int = 128
    calibration_rows: int = 256
    bench_backends: tuple[str, ...] = ("onnxruntime",)
    bench_steps: int = 500
    bench_warmup: int = 50
    bench_eval_sequences: int = 16
    bench_timeout_s: float = 600.0
    mcu_target: str | None = None  # e.g. "stm32f4": TFLite Micro arena (host build) as a device-RAM bound
    mcu_measure: bool = True  # generated C on the emulated Cortex-M4F: instructions/step, flash, RAM

    def to_dict(self) -> dict[str, Any]:
        return {"formats": list(self.formats), "verify_sequences": self.verify_sequences,
                "calibration_rows": self.calibration_rows, "bench_backends": list(self.bench_backends),
                "bench_steps": self.bench_steps, "bench_warmup": self.bench_warmup,
                "bench_eval_sequences": self.bench_eval_sequences, "bench_timeout_s": self.bench_timeout_s,
                "mcu_target": self.mcu_target, "mcu_measure": self.mcu_measure}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineSettings:
        data = dict(data)
        data["formats"] = tuple(data["formats"])
        data["bench_backends"] = tuple(data["bench_backends"])
        return cls(**data)


def cell_dir(out_dir: Path, cell_id: str) -> Path:
    return Path(out_dir) / "cells" / cell_id


def read_cell_record(path: Path) -> dict[str, Any] | None:
    """A finished cell's record, or None when there is none (or it is unreadable: the cell runs again)."""
    try:
        record = json.loads((path / CELL_FILE).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "status" in record else None


def run_cell(cell: Cell, pipeline: PipelineSettings, out_dir: str | Path) -> dict[str, Any]:
    """Run one cell end to end and write its ``cell.json``; a failure is recorded (status "failed", error)."""
    folder = cell_dir(Path(out_dir), cell.cell_id)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        record = _measure(cell, pipeline, folder, timings)
        record.update(status="ok", error=None)
    except Exception as exc:  # noqa: BLE001  (a failed cell is a result: recorded, the study goes on)
        record = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                  "traceback_tail": traceback.format_exc().strip().splitlines()[-3:]}
    record = {**cell.to_dict(), "family": family(cell.model), **record,
              "run_dir": f"cells/{cell.cell_id}/run", "export_dir": f"cells/{cell.cell_id}/export",
              "timings": {**timings, "cell_s": round(time.perf_counter() - started, 3)}}
    write_json_atomic(folder / CELL_FILE, record)
    return record


def _train(cell: Cell, run_path: Path) -> None:
    from edgelnn.training import RunDir, TrainConfig, train

    run = RunDir(run_path)
    if run.is_complete():
        return
    resume = run.train_state.is_file()
    if not resume and run_path.exists():
        shutil.rmtree(run_path)  # interrupted before its first epoch ended: nothing to keep
    cfg = TrainConfig(model=cell.kind, task=cell.task, hidden_size=cell.hidden_size,
                      model_options=cell.model_options, epochs=cell.train.epochs, batch_size=cell.train.batch_size,
                      lr=cell.train.lr, lr_decay=cell.train.lr_decay, optimizer=cell.train.optimizer,
                      grad_clip=cell.train.grad_clip, patience=cell.train.patience, seed=cell.seed,
                      task_options=dict(cell.train.task_options))
    train(cfg, run_path, resume=resume, progress=False)


def _export(cell: Cell, pipeline: PipelineSettings, run_path: Path, export_path: Path) -> dict[str, Any]:
    from edgelnn.export import ExportConfig, export_model, read_manifest, resolve_source

    if not (export_path / "manifest.json").is_file():
        cfg = ExportConfig(formats=pipeline.formats, int8=True, verify_sequences=pipeline.verify_sequences,
                           calibration_rows=pipeline.calibration_rows, seed=cell.seed)
        export_model(resolve_source(run=run_path), cfg, export_path, force=True)
    return read_manifest(export_path)


def _bench(pipeline: PipelineSettings, export_path: Path, target: str, backends: Any,
           precision: str) -> dict[str, Any]:
    """Bench the export on ``target``; a bench document this cell already wrote with the same settings is
    reused (a cell rerun after its record was removed, or resumed, does not measure twice)."""
    from edgelnn.targets.bench import BenchSettings, bench

    settings = BenchSettings(steps=pipeline.bench_steps, warmup=pipeline.bench_warmup, batches=(1,),
                             eval_sequences=pipeline.bench_eval_sequences, timeout_s=pipeline.bench_timeout_s)
    previous = reusable_bench(export_path, target, list(backends), precision, settings)
    if previous is not None:
        return previous
    result = bench(export_path, target=target, backends=backends, precision=precision, settings=settings)
    result.write()
    return result.doc


def reusable_bench(export_path: Path, target: str, backends: list[str], precision: str,
                   settings: Any) -> dict[str, Any] | None:
    """The export's ``bench-<target>.json`` when it is valid, newer than the export's manifest and was measured
    with these backends, precision and settings; else None."""
    from edgelnn.targets.bench_report import validate_bench

    path, manifest = export_path / f"bench-{target}.json", export_path / "manifest.json"
    try:
        if path.stat().st_mtime_ns < manifest.stat().st_mtime_ns:
            return None
        doc = json.loads(path.read_text())
        validate_bench(doc)
    except (OSError, ValueError):  # missing, unreadable or off-schema: measured again, never trusted
        return None
    want = {"backends": backends, "precision": precision, "steps": settings.steps, "warmup": settings.warmup,
            "batches": list(settings.batches), "eval_sequences": settings.eval_sequences,
            "timeout_s": settings.timeout_s}
    return doc if {k: doc["settings"].get(k) for k in want} == want else None


def _measure(cell: Cell, pipeline: PipelineSettings, folder: Path, timings: dict[str, float]) -> dict[str, Any]:
    from edgelnn.tasks import load_task_for

    run_path, export_path = folder / "run", folder / "export"
    t0 = time.perf_counter()
    _train(cell, run_path)
    timings["train_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    manifest = _export(cell, pipeline, run_path, export_path)
    timings["export_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    cpu = _bench(pipeline, export_path, "cpu", list(pipeline.bench_backends), "fp32")
    mcu = _bench(pipeline, export_path, pipeline.mcu_target, ["tflm"], "int8-full") if pipeline.mcu_target else None
    timings["bench_s"] = round(time.perf_counter() - t0, 3)
    config = json.loads((run_path / "config.json").read_text())
    task = load_task_for(config["train"])
    t0 = time.perf_counter()
    m4f = measure_m4f(export_path, task) if pipeline.mcu_measure else {"reason": DEVICE_OFF}
    timings["mcu_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    c_int8 = evaluate_c_int8(export_path, manifest)
    timings["c_eval_s"] = round(time.perf_counter() - t0, 3)
    record = summarise(json.loads((run_path / "metrics.json").read_text()),
                       json.loads((run_path / "history.json").read_text()), manifest, cpu, mcu,
                       trivial_metrics(task), split_sizes(task), c_int8)
    record["device"].update(m4f)
    return record


def measure_m4f(export_path: Path, task: Any) -> dict[str, Any]:
    """The exported model as generated C on the emulated Cortex-M4F (stm32f4 profile): instructions per step
    (mean over the first steps of a test sequence), flash and RAM. int8 C where the generator writes it,
    else fp32 (said in ``precision`` and ``reason``); null figures with the reason when it cannot run here."""
    from edgelnn.errors import EdgelnnError

    out: dict[str, Any] = {"precision": None}
    try:
        from edgelnn.firmware_bench.codegen import generate
        from edgelnn.firmware_bench.mcu import measure_c_step

        note = None
        try:
            src = generate(export_path, precision="int8")
        except EdgelnnError as exc:  # a model option the int8 generator does not write
            note = f"int8 C not generated ({exc}); fp32 C measured"
            src = generate(export_path, precision="fp32")
        split = task.splits["test"]
        steps = min(DEVICE_STEPS, int(split.mask[0].sum()))
        inputs = [(split.x[0, k], split.t[0, k]) for k in range(steps)]
        rep = measure_c_step(src.files, src.step_symbol, DEVICE_CORE, inputs, src.state_size, src.output_size,
                             DEVICE_PROFILE)
    except (EdgelnnError, ImportError, OSError) as exc:
        return {**out, "reason": f"not measured: {type(exc).__name__}: {exc}"}
    return {"precision": src.precision, "instructions_per_step": rep.instructions_mean,
            "flash_bytes": int(rep.flash_bytes), "ram_bytes": int(rep.ram_bytes), "reason": note}


def evaluate_c_int8(export_path: Path, manifest: dict[str, Any]) -> float | str:
    """The int8 generated C's test metric (host build, the manifest's test sequences), or why there is none."""
    from edgelnn.errors import EdgelnnError

    try:
        from edgelnn.firmware_bench.evaluate import c_test_metric

        return c_test_metric(export_path, "int8", manifest).metric
    except (EdgelnnError, ImportError, OSError) as exc:
        return f"int8 C not evaluated: {type(exc).__name__}: {exc}"


def summarise(metrics: dict[str, Any], history: list[dict[str, Any]], manifest: dict[str, Any],
              cpu: dict[str, Any], mcu: dict[str, Any] | None, trivial: dict[str, dict[str, float]],
              sizes: dict[str, int], c_int8: float | str | None = None) -> dict[str, Any]:
    """The cell's numbers from its run (metrics.json, history.json), manifest and bench documents;
    ``trivial`` and ``sizes`` are the task's trivial metrics and sequences per split; ``c_int8`` is the int8
    generated C's test metric (:func:`evaluate_c_int8`), or why there is none."""
    metric = metrics["metric"]
    seconds = [h["seconds"] for h in history]
    state_size = next(int(s["shape"][-1]) for s in manifest["signature"]["inputs"] if s["name"] == "state")
    record = {
        "metric": metric, "parameters": int(metrics["parameters"]), "state_size": state_size,
        "epochs_run": int(metrics["epochs_run"]), "best_epoch": int(metrics["best_epoch"]),
        "epochs_to_best": int(metrics["best_epoch"]) + 1,
        "train_seconds_per_epoch": sum(seconds) / len(seconds) if seconds else None,
        "splits": {name: {"metric": value} for name, value in metrics["splits"].items()},
        "int8": int8_figure(manifest, trivial["test"], c_int8),
        "latency": _latency(cpu),
        "device": _device(mcu),
    }
    return apply_baselines(record, trivial, sizes)


def apply_baselines(record: dict[str, Any], trivial: dict[str, dict[str, float]],
                    sizes: dict[str, int]) -> dict[str, Any]:
    """``record`` with every figure that rests on the trivial predictors (re)computed from its split metrics:
    each split's trivial metrics, normalised error and beats_trivial, the ID and OOD figures, did_not_train,
    and the int8 normalised-error increase. Also how an older record is brought up to :data:`BASELINES_VERSION`
    without training anything again."""
    metric = record["metric"]
    error = metric_spec(metric).error
    per_split = {}
    for name, entry in record["splits"].items():
        value = entry["metric"]
        best = best_trivial(metric, trivial[name])
        per_split[name] = {"metric": value, "trivial": trivial[name], "trivial_best": best,
                           "normalised_error": normalised_error(metric, value, trivial[name]),
                           "beats_trivial": beats_trivial(metric, value, trivial[name], sizes[name]),
                           "sequences": sizes[name],
                           "chance_p": chance_p_value(value, best, sizes[name]) if metric == "accuracy" else None}
    test = per_split["test"]
    ood = {}
    for name in (n for n in per_split if n.startswith("ood-")):
        entry = per_split[name]
        ood[name] = {"metric": entry["metric"], "normalised_error": entry["normalised_error"],
                     "degradation": _ratio(entry["normalised_error"], test["normalised_error"]),
                     "raw_error_ratio": _ratio(error(entry["metric"]), error(test["metric"]))}
    degradations = [v["degradation"] for v in ood.values() if v["degradation"] is not None]
    int8 = dict(record["int8"])
    if int8.get("metric") is not None:
        # a record written before the int8 block kept its reference (the manifest's test metric): undo the drop
        reference = int8.setdefault("reference", metric_spec(metric).reference(int8["metric"], int8["drop"]))
        int8["normalised_error_increase"] = (normalised_error(metric, int8["metric"], trivial["test"])
                                             - normalised_error(metric, reference, trivial["test"]))
    return {**record, "baselines": BASELINES_VERSION, "splits": per_split,
            "id": {"metric": test["metric"], "normalised_error": test["normalised_error"]},
            "ood": ood, "ood_degradation_mean": sum(degradations) / len(degradations) if degradations else None,
            "did_not_train": not test["beats_trivial"], "int8": int8}


def stale_baselines(record: dict[str, Any]) -> bool:
    """Whether an ok record's trivial-predictor figures predate :data:`BASELINES_VERSION`."""
    return record.get("status") == "ok" and record.get("baselines", 1) < BASELINES_VERSION


def refresh_baselines(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` with every stale one recomputed by :func:`apply_baselines` (its task loaded once per
    task and options; the trivial predictors depend on the data only, not on the model or seed)."""
    from edgelnn.tasks import load_task_for

    cache: dict[str, tuple[dict[str, dict[str, float]], dict[str, int]]] = {}
    out = []
    for record in records:
        if stale_baselines(record):
            source = {"task": record["task"], "task_options": record["train"].get("task_options") or {}}
            key = json.dumps(source, sort_keys=True)
            if key not in cache:
                task = load_task_for(source)
                cache[key] = trivial_metrics(task), split_sizes(task)
            record = apply_baselines(record, *cache[key])
        out.append(record)
    return out


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 1e-12 else num / den


def int8_figure(manifest: dict[str, Any], trivial_test: dict[str, float],
                c_int8: float | str | None) -> dict[str, Any]:
    """The cell's int8 block: every int8 model's test-metric drop and the study's figure (INT8_PREFERENCE)."""
    metric = manifest["task"]["metric"]
    reference = manifest["reference_metrics"]["test"]
    values = {a["name"]: a["metrics"]["test"] for a in manifest["artifacts"] if a["precision"].startswith("int8")}
    drops = {a["name"]: a["metric_drop"].get("test") for a in manifest["artifacts"] if a["name"] in values}
    c_reason = c_int8 if isinstance(c_int8, str) else ("not evaluated" if c_int8 is None else None)
    if c_reason is None:
        values[C_INT8] = c_int8
        drops[C_INT8] = metric_spec(metric).drop(reference, c_int8)
    chosen = next((name for name in INT8_PREFERENCE if name in values), None)
    if chosen is None:
        return {"artifact": None, "metric": None, "drop": None, "normalised_error_increase": None,
                "drops": drops, "reason": "the export made no int8 artifact and no int8 C", "c_reason": c_reason}
    value = values[chosen]
    increase = normalised_error(metric, value, trivial_test) - normalised_error(metric, reference, trivial_test)
    return {"artifact": chosen, "metric": value, "reference": reference, "drop": drops[chosen],
            "normalised_error_increase": increase, "drops": drops, "reason": None, "c_reason": c_reason}


def _latency(cpu: dict[str, Any]) -> dict[str, Any]:
    rows = {r["backend"]: r["latency_us"]["step"]["p50"] for r in cpu["results"]
            if r["status"] == "ok" and r.get("latency_us")}
    if not rows:
        failed = "; ".join(f"{r['backend']}: {r['error']}" for r in cpu["results"] if r["status"] != "ok")
        return {"backend": None, "step_p50_us": None, "by_backend": {}, "reason": failed or "nothing benched"}
    fastest = min(rows, key=rows.get)
    return {"backend": fastest, "step_p50_us": rows[fastest], "by_backend": rows, "reason": None}


def _device(mcu: dict[str, Any] | None) -> dict[str, Any]:
    """Device numbers: Cortex-M4F instructions/flash/RAM (filled by :func:`measure_m4f`) and, when the preset
    benches a microcontroller target, the TFLite Micro RAM upper bound (arena + state + I/O, host build)."""
    out = {"core": DEVICE_CORE, "profile": DEVICE_PROFILE, "precision": None, "instructions_per_step": None,
           "flash_bytes": None, "ram_bytes": None, "reason": DEVICE_OFF, "tflm_target": None, "tflm_ram_upper_bytes": None, "tflm_flash_bytes": None,
           "tflm_reason": "the preset benches no microcontroller target (mcu_target unset)"}
    if mcu is None:
        return out
    out["tflm_target"] = mcu["target"]["name"]
    ok = [r for r in mcu["results"] if r["status"] == "ok"]
    if not ok:
        out["tflm_reason"] = "; ".join(str(r.get("error")) for r in mcu["results"]) or "tflm was not benched"
        return out
    checks = {c["resource"]: c for c in ok[0]["verdict"]["checks"]}
    out["tflm_ram_upper_bytes"] = checks.get("ram", {}).get("bytes")
    out["tflm_flash_bytes"] = checks.get("flash", {}).get("bytes")
    out["tflm_reason"] = None
    return out
