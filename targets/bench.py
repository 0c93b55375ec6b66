"""`bench`: profile an export directory's artifacts on a target, each backend in its own child process.

    from edgelnn.targets.bench import bench
    result = bench("artifacts/cfc-japanesevowels", target="cpu", backends="all", precision="fp32")
    print(result.report()); result.write()          # table + verdicts; bench-cpu.json beside the manifest

Per backend (and precision) a child process (``python -m edgelnn.targets.bench_child``) measures load
time, batch-1 step latency through ``StreamingModel.step`` and the raw runner beside it, throughput at
several batch sizes, its own peak RSS, the TFLite Micro arena (tflm) and the task metric on the test and
every OOD split through that runtime. A child that crashes, times out or raises is one failed row; the
others still run. Each row gets a fits / does-not-fit verdict against the target profile
(:mod:`edgelnn.targets.bench_verdict` says which numbers are compared).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn import __version__
from edgelnn.artifact import read_manifest
from edgelnn.errors import OutputPathError
from edgelnn.targets import bench_mcu
from edgelnn.targets.bench_plan import plan_runs, resolve_profile
from edgelnn.targets.bench_report import SCHEMA_VERSION, format_report, validate_bench, write_bench
from edgelnn.targets.bench_tasks import eval_splits
from edgelnn.targets.bench_verdict import verdict

DEFAULT_BATCHES = (1, 64, 1024)
CPU_ONLY_NOTE = ("edgelnn.runtime opens every backend on the host CPU (it has no device option yet): this row "
                 "measures the CPU, not the GPU")
CHILD_MODULE = "edgelnn.targets.bench_child"


@dataclass(frozen=True)
class BenchSettings:
    """How much to measure. ``eval_sequences`` None: as many as the export verified (manifest)."""

    steps: int = 2000
    warmup: int = 200
    batches: tuple[int, ...] = DEFAULT_BATCHES
    threads: int | None = None  # None: the target profile's threads (1 if it sets none)
    throughput_seconds: float = 0.5
    eval_sequences: int | None = None
    timeout_s: float = 900.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1 or self.warmup < 0:
            raise ValueError(f"steps={self.steps}, warmup={self.warmup}: steps must be >= 1 and warmup >= 0")
        if not self.batches or any(b < 1 for b in self.batches):
            raise ValueError(f"batches={self.batches!r}: each must be an integer >= 1")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads={self.threads!r} is not valid; it must be an integer >= 1")
        if self.eval_sequences is not None and self.eval_sequences < 1:
            raise ValueError(f"eval_sequences={self.eval_sequences!r} is not valid; it must be >= 1")


@dataclass
class BenchResult:
    """The bench document (schema: bench.schema.json) and where it goes by default."""

    doc: dict[str, Any]
    default_path: Path

    @property
    def available(self) -> bool:
        return bool(self.doc["available"])

    @property
    def succeeded(self) -> bool:
        """Whether at least one (backend, precision) row measured without failing."""
        return any(row["status"] == "ok" for row in self.doc["results"])

    @property
    def failures(self) -> list[str]:
        """``backend precision: error`` for each failed row."""
        return [f"{r['backend']} {r['precision']}: {r.get('error') or r['status']}" for r in self.doc["results"]
                if r["status"] != "ok"]

    def report(self) -> str:
        """The table, the verdict per backend and any failures, as printable text."""
        return format_report(self.doc) + bench_mcu.format_firmware(self.doc)

    def write(self, path: str | Path | None = None) -> Path:
        """Write the validated JSON to ``path`` (default ``<artifact_dir>/bench-<target>.json``)."""
        return write_bench(self.doc, path or self.default_path)


def _host() -> dict[str, Any]:
    return {"platform": platform.platform(), "machine": platform.machine(), "python": platform.python_version(),
            "cpu_count": os.cpu_count()}


def _model(manifest: dict[str, Any]) -> dict[str, Any]:
    sizes = {t["name"]: int(t["shape"][-1]) for t in manifest["signature"]["inputs"] + manifest["signature"]["outputs"]}
    return {"kind": manifest["model"]["kind"], "input_size": sizes["x"], "hidden_size": manifest["model"]["hidden_size"],
            "state_size": sizes["state"], "output_size": sizes["y"], "solver": manifest["solver"]["method"],
            "ode_unfolds": manifest["solver"]["ode_unfolds"]}


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def run_child(job: dict[str, Any], timeout_s: float, module: str = CHILD_MODULE) -> dict[str, Any]:
    """Run one child; its JSON result, or a failed row saying how it died (signal, exit code, timeout)."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    failed = {"status": "failed", "pid": proc.pid}
    try:
        stdout, stderr = proc.communicate(json.dumps(job), timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {**failed, "error": f"timed out after {timeout_s:g} s (killed)", "exit_code": proc.returncode,
                "seconds": time.perf_counter() - started}
    seconds = time.perf_counter() - started
    tail = "; ".join(line.strip() for line in stderr.splitlines()[-3:] if line.strip())
    if proc.returncode < 0:
        return {**failed, "exit_code": proc.returncode, "seconds": seconds,
                "error": f"child crashed ({_signal_name(proc.returncode)})" + (f"; stderr: {tail}" if tail else "")}
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        return {**failed, "exit_code": proc.returncode, "seconds": seconds,
                "error": f"child exited with code {proc.returncode} without a result" + (f": {tail}" if tail else "")}
    return {**result, "exit_code": proc.returncode, "seconds": seconds}


def _row(plan: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """A schema row from the plan entry and whatever the child reported."""
    lat = child.get("latency_us")
    ratio = None
    if lat and lat["raw"]["p50"] > 0:
        ratio = lat["step"]["p50"] / lat["raw"]["p50"]
    return {
        "backend": plan["backend"], "precision": plan["precision"], "artifact": plan["artifact"],
        "status": child.get("status", "failed"), "error": child.get("error"), "exit_code": child.get("exit_code"),
        "pid": child.get("pid"), "artifact_bytes": plan["artifact_bytes"], "load_seconds": child.get("load_seconds"),
        "latency_us": lat, "step_over_raw": ratio, "throughput": child.get("throughput") or [],
        "peak_rss_bytes": child.get("peak_rss_bytes"), "rss_start_bytes": child.get("rss_start_bytes"),
        "rss_source": child.get("rss_source"),
        "rss_before_load_bytes": child.get("rss_before_load_bytes"),
        "arena_bytes": child.get("arena_bytes"), "metrics": child.get("metrics"),
        "metric_drop": child.get("metric_drop"), "seconds": child.get("seconds", 0.0), "notes": child.get("notes", []),
        "out_of_range": child.get("out_of_range"), "manifest_metrics": child.get("manifest_metrics"),
    }


def _write_eval_file(splits: dict[str, Any], folder: Path) -> Path:
    arrays = {f"{name}/{key}": getattr(split, key) for name, split in splits.items()
              for key in ("x", "t", "y", "mask")}
    path = folder / "eval.npz"
    np.savez(path, **arrays)
    return path


def _header(export_dir: Path, manifest: dict[str, Any], profile_doc: dict[str, Any], ok: bool, reason: str,
            plan: list[dict[str, Any]], skipped: list[dict[str, Any]], precision: str, settings: BenchSettings,
            threads: int) -> dict[str, Any]:
    """Everything of the bench document except the task and the results."""
    return {
        "schema_version": SCHEMA_VERSION, "edgelnn_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "artifact_dir": str(export_dir),
        "model": _model(manifest), "target": profile_doc, "host": _host(), "available": ok,
        "reason": None if ok else reason,
        "settings": {"backends": list(dict.fromkeys(p["backend"] for p in plan)), "precision": precision,
                     "steps": settings.steps, "warmup": settings.warmup, "batches": list(settings.batches),
                     "threads": threads, "eval_sequences": settings.eval_sequences, "timeout_s": settings.timeout_s},
        "skipped": skipped, "results": [],
    }


def _job(export_dir: Path, entry: dict[str, Any], settings: BenchSettings, threads: int, eval_file: Path | None,
         manifest: dict[str, Any]) -> dict[str, Any]:
    """What one child is told to measure (see bench_child)."""
    return {"artifact_dir": str(export_dir.resolve()), "backend": entry["backend"], "precision": entry["precision"],
            "steps": settings.steps, "warmup": settings.warmup, "batches": list(settings.batches),
            "threads": threads, "seed": settings.seed, "throughput_seconds": settings.throughput_seconds,
            "eval_file": None if eval_file is None else str(eval_file), "metric": manifest["task"]["metric"],
            "reference_metrics": manifest.get("reference_metrics", {}) if same_sequences(manifest, settings) else {}}


def same_sequences(manifest: dict[str, Any], settings: BenchSettings) -> bool:
    """Whether the bench evaluates the sequences the export verified (its reference metrics and per-artifact
    metrics): not when --eval-sequences cuts the splits shorter, where a drop or a difference would compare
    two different sets of sequences."""
    verified = manifest.get("verification", {}).get("sequences_per_split")
    return settings.eval_sequences is None or (verified is not None and settings.eval_sequences >= verified)


SUBSET_NOTE = ("metrics on the first {n} sequences of each split: the export's figures cover more, so no drop "
               "against PyTorch and no comparison with the manifest is computed")


def check_writable(path: str | Path) -> Path:
    """Raise OutputPathError unless the JSON file ``path`` can be written (checked before measuring, so
    a bad ``--out`` does not throw away minutes of benchmarking). Missing parent folders are fine (they are
    made when writing) as long as the nearest existing one is a writable folder. Leaves nothing behind."""
    path = Path(path)
    try:
        if path.is_dir():
            raise OutputPathError(f"cannot write {path}: it is a directory")
        folder = path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise OutputPathError(f"cannot write {path}: {folder} is not a directory")
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".edgelnn-write-check-"):
            pass  # can write there (a read-only or foreign folder fails here)
    except OSError as exc:  # also a name too long for the file system

        raise OutputPathError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def bench(artifact_dir: str | Path, target: str | Path = "cpu", backends: str | list[str] = "all",
          precision: str = "fp32", settings: BenchSettings | None = None,
          on_row: Callable[[dict[str, Any]], None] | None = None, out: str | Path | None = None) -> BenchResult:
    """Benchmark the artifacts of ``artifact_dir`` on ``target``; every (backend, precision) in its own child.

    ``target``: a profile name or a profile .json file. ``backends``: "all" (the target's backends that are
    installed here) or a list of names. ``precision``: "fp32", "fp16", "int8" (each backend's preferred int8
    artifact), a specific one ("int8-full", ...), or "all" (every precision each backend has here).
    ``on_row`` is called with each finished row (progress). ``out``: the JSON file the caller will write
    (default ``<artifact_dir>/bench-<target>.json``), checked to be writable before measuring
    (OutputPathError). Bad input raises before any child starts:
    ValueError (unknown target, backend or precision), FileNotFoundError (no export directory),
    ArtifactNotFoundError, RuntimeMissingError, ArtifactIntegrityError (a file's sha256 differs from the
    manifest). A target that cannot run here gives ``available`` False and no results.
    ``BenchResult.succeeded`` says whether any row measured (the CLI exits 1 when none did).
    """
    settings = settings or BenchSettings()
    export_dir = Path(artifact_dir)
    if not export_dir.is_dir():
        raise FileNotFoundError(f"artifact directory {export_dir} does not exist")
    manifest = read_manifest(export_dir)
    profile, profile_doc, ok, reason = resolve_profile(target)
    backends, with_firmware = bench_mcu.split_firmware(backends, profile_doc)  # emulated Cortex-M rows (bench_mcu)
    firmware, fw_skipped = bench_mcu.plan_firmware(export_dir, manifest, precision) if ok and with_firmware else ([], [])
    plan, skipped = plan_runs(export_dir, manifest, profile_doc, backends, precision, allow_empty=bool(firmware)) \
        if ok and backends != [] else ([], [])
    skipped += fw_skipped
    threads = settings.threads or profile.threads_here
    doc = _header(export_dir, manifest, profile_doc, ok, reason, plan, skipped, precision, settings, threads)
    doc["settings"]["backends"] += [bench_mcu.FIRMWARE] if firmware else []
    default_path = export_dir / f"bench-{profile_doc['name']}.json"
    if out is not None or ok:  # what will be written: checked before any child starts
        check_writable(out if out is not None else default_path)
    if not ok:
        doc["task"] = {"name": manifest["task"]["name"], "metric": manifest["task"]["metric"], "options": {},
                       "seed": 0, "options_from": "task defaults", "splits": [], "error": None}
        validate_bench(doc)
        return BenchResult(doc, default_path)
    doc["task"], splits = eval_splits(manifest, settings.eval_sequences)
    with tempfile.TemporaryDirectory(prefix="edgelnn-bench-") as tmp:
        eval_file = _write_eval_file(splits, Path(tmp)) if splits else None
        for entry in plan:
            row = _row(entry, run_child(_job(export_dir, entry, settings, threads, eval_file, manifest),
                                        settings.timeout_s))
            if row["metrics"] and not same_sequences(manifest, settings):
                row["manifest_metrics"] = None
                row["notes"].append(SUBSET_NOTE.format(n=settings.eval_sequences))
            if profile.runs_on == "cuda":
                row["notes"].append(CPU_ONLY_NOTE)
            row["verdict"] = verdict(row, profile_doc, manifest, entry["entry"])
            doc["results"].append(row)
            if on_row is not None:
                on_row(row)
        for p in firmware:
            child = run_child(bench_mcu.firmware_job(export_dir, target, p), settings.timeout_s,
                              bench_mcu.CHILD_MODULE)
            doc["results"].append(bench_mcu.firmware_row(p, child, profile_doc))
            if on_row is not None:
                on_row(doc["results"][-1])
    validate_bench(doc)
    return BenchResult(doc, default_path)
