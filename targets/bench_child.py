"""One backend's measurements, run in a child process: ``python -m edgelnn.targets.bench_child``.

The parent writes a JSON job on stdin and reads one JSON object from stdout. Libraries that print to
stdout (or C code writing to fd 1) cannot corrupt it: fd 1 is pointed at stderr for the whole run and the
result goes to a saved copy of the original stdout.

Job keys: artifact_dir, backend, precision, steps, warmup, batches, threads, throughput_seconds, seed,
eval_file (npz of the evaluation splits written by the parent, or null), metric, reference_metrics.

Order matters for memory: ``rss_start_bytes`` (Python + numpy), imports of edgelnn.runtime, then
``rss_before_load_bytes``; load, latency and throughput, then
``peak_rss_bytes``; only then the task metric (whole-split rollouts allocate more).

Test hook: ``EDGELNN_BENCH_TEST_CRASH=backend[:precision]`` makes the matching child kill itself with
SIGSEGV after loading (to test that bench survives a crashing backend).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import warnings
from typing import Any

import numpy as np

from edgelnn.targets.bench_measure import interleaved_latency, peak_rss_bytes, rss_source, throughput

CRASH_ENV = "EDGELNN_BENCH_TEST_CRASH"


def _maybe_crash(backend: str, precision: str) -> None:
    want = os.environ.get(CRASH_ENV)
    if want and want in (backend, f"{backend}:{precision}"):
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSEGV)


def _load(job: dict[str, Any], batch: int):
    from edgelnn.runtime import load

    return load(job["artifact_dir"], backend=job["backend"], precision=job["precision"], batch=batch,
                threads=job["threads"])


def _inputs(model, rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, float]:
    """Random x of ``shape`` (last axis features) and a dt, inside the export's declared input ranges where
    it has them (standard normal x, dt 1 otherwise): latency is measured on the in-range path."""
    xs = rng.standard_normal(shape).astype(np.float32)
    ranges = model.input_ranges
    if not ranges:
        return xs, 1.0
    lo, hi = np.asarray(ranges["x"]["min"], np.float32), np.asarray(ranges["x"]["max"], np.float32)
    dt = float(np.clip(1.0, ranges["dt"]["min"], ranges["dt"]["max"]))
    return np.clip(xs, lo, hi).astype(np.float32), dt


def _latency(model, job: dict[str, Any]) -> dict[str, Any]:
    """step() and the raw runner side by side at batch 1, interleaved in blocks."""
    steps, warmup = job["steps"], job["warmup"]
    rng = np.random.default_rng(job["seed"])
    xs, dt_value = _inputs(model, rng, (steps + warmup, 1, model.input_size))
    samples = xs[:, 0]  # [N,F]: each row a contiguous [F] sample, as a control loop passes it
    dt = np.full((1, 1), dt_value, np.float32)
    raw = model.raw
    holder = {"state": np.zeros((1, model.state_size), np.float32)}

    def step(i: int) -> None:
        model.step(samples[i], dt_value)

    def raw_step(i: int) -> None:
        _, holder["state"] = raw(xs[i], holder["state"], dt)

    model.reset()
    both = interleaved_latency({"step": step, "raw": raw_step}, steps, warmup)
    return {"step": both["step"], "raw": both["raw"]}


def _batched(model) -> bool:
    from edgelnn.runtime import BACKENDS

    return BACKENDS[model.backend].batched


def _rate(model, batch: int, job: dict[str, Any]) -> dict[str, float]:
    """Throughput of ``model`` (loaded at ``batch``) stepping random inputs through step()."""
    rng = np.random.default_rng(job["seed"] + batch)
    xs, dt_value = _inputs(model, rng, (8, batch, model.input_size))
    dt = np.full((batch, 1), dt_value, np.float32)
    model.reset()
    return throughput(lambda i: model.step(xs[i % 8], dt), batch, min_calls=5, min_seconds=job["throughput_seconds"])


def _throughputs(model, job: dict[str, Any], notes: list[str]) -> list[dict[str, Any]]:
    """One row per batch size; null with a reason where the backend cannot run that batch."""
    from edgelnn.errors import EdgelnnError

    rows = []
    for batch in job["batches"]:
        row: dict[str, Any] = {"batch": batch, "steps_per_s": None, "calls_per_s": None, "reason": None}
        if batch > 1 and not _batched(model):
            row["reason"] = f"{model.backend} runs batch 1 only (a microcontroller steps one sample at a time)"
        else:
            try:
                got = _rate(model if batch == 1 else _load(job, batch), batch, job)
                row.update(steps_per_s=got["steps_per_s"], calls_per_s=got["calls_per_s"])
            except (EdgelnnError, ValueError) as exc:  # this batch cannot run: say why, keep going
                row["reason"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    batch_note = model.artifact.get("settings", {}).get("batch", "")
    if model.backend == "litert" and any(b > 1 for b in job["batches"]) and isinstance(batch_note, str) \
            and batch_note.startswith("fixed at 1"):
        notes.append(f"batch > 1 runs one row per invoke: the artifact's batch is {batch_note}")
    return rows


def _rollout(model_for_batch, split: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, int]]:
    """Outputs [N,T,O] of the shared free-running rollout (edgelnn.export.rollout) stepped through each
    model's step(), rows in chunks of the model's batch; and the inputs it counted outside the declared
    ranges (``out_of_range``, summed over the chunks)."""
    from edgelnn.export.rollout import rollout, streaming_runner

    x, t, mask = split["x"], split["t"], split["mask"]
    n = mask.shape[0]
    model, rows = model_for_batch(n)
    outs, outside = [], {"x": 0, "dt": 0, "steps": 0}
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        before = model.out_of_range
        got = rollout(streaming_runner(model), x[lo:hi], t[lo:hi], mask[lo:hi], model.state_size)
        after = model.out_of_range
        for key in outside:
            outside[key] += after[key] - before[key]
        outs.append(got.outputs)
    return np.concatenate(outs, axis=0), outside


def _metrics(model, job: dict[str, Any], notes: list[str]) -> tuple[dict[str, float], dict[str, float],
                                                                    dict[str, dict[str, int]]]:
    """Task metric of every split in the parent's eval file through this runtime, the drop vs PyTorch, and
    per split the inputs outside the export's declared ranges."""
    from edgelnn.errors import InputRangeWarning
    from edgelnn.tasks.metrics import compute_metric, metric_spec

    data = np.load(job["eval_file"])
    names = sorted({key.split("/")[0] for key in data.files})
    cache: dict[int, Any] = {}
    batched = _batched(model)
    spec = metric_spec(job["metric"])

    def model_for_batch(n: int):
        if not batched:
            return model, 1
        if n not in cache:
            cache.clear()
            cache[n] = _load(job, n)
        return cache[n], n

    metrics, drops, outside = {}, {}, {}
    for name in names:
        split = {k: data[f"{name}/{k}"] for k in ("x", "t", "y", "mask")}
        split["x"] = split["x"].astype(np.float32)
        split["t"] = split["t"].astype(np.float32)
        with warnings.catch_warnings():  # counted per split instead; the warning is meant for control loops
            warnings.simplefilter("ignore", InputRangeWarning)
            outputs, outside[name] = _rollout(model_for_batch, split)
        metrics[name] = float(compute_metric(job["metric"], outputs, split["y"], split["mask"]))
        ref = job["reference_metrics"].get(name)
        if ref is not None:
            drops[name] = spec.drop(ref, metrics[name])
    if not batched:
        notes.append("task metric stepped one sequence at a time (backend runs batch 1 only)")
    return metrics, drops, outside


def _manifest_metrics(model) -> dict[str, Any]:
    """The metrics the manifest records for this artifact, and the runtime they came from (verification at
    export: litert for .tflite, onnxruntime for .onnx; older manifests name none)."""
    entry = model.artifact
    return {"metrics": dict(entry.get("metrics") or {}),
            "runtime": entry.get("metrics_runtime") or None}


def _arena_note(job: dict[str, Any]) -> str:
    """Whether load() will measure the TFLite Micro arena (in its own child) or read it from its cache."""
    from edgelnn.artifact import read_manifest
    from edgelnn.runtime.backends import BACKENDS
    from edgelnn.runtime.loader import candidates
    from edgelnn.runtime.tflm import arena_cache_path

    manifest = read_manifest(job["artifact_dir"])
    entry = candidates(manifest, BACKENDS["tflm"], job["precision"])[0]
    cached = arena_cache_path(os.path.join(job["artifact_dir"], entry["file"])).is_file()
    return ("tflm arena read from its cache file (measured before)" if cached else
            "load time includes measuring the tflm arena in a probe child (cached for later loads)")


def measure(job: dict[str, Any]) -> dict[str, Any]:
    """Everything the bench records for one backend at one precision (runs in this process)."""
    out: dict[str, Any] = {"pid": os.getpid(), "notes": [], "rss_start_bytes": peak_rss_bytes(),
                           "rss_source": rss_source()}
    import edgelnn.runtime  # noqa: F401  (counted in rss_before_load_bytes, not in load_seconds)

    out["rss_before_load_bytes"] = peak_rss_bytes()
    if job["backend"] == "tflm":
        out["notes"].append(_arena_note(job))
    started = time.perf_counter()
    model = _load(job, 1)
    out["load_seconds"] = time.perf_counter() - started
    _maybe_crash(job["backend"], job["precision"])
    out["artifact"] = model.artifact["name"]
    out["arena_bytes"] = model.arena_bytes
    out["latency_us"] = _latency(model, job)
    out["throughput"] = _throughputs(model, job, out["notes"])
    out["peak_rss_bytes"] = peak_rss_bytes()
    if job.get("eval_file"):
        out["metrics"], out["metric_drop"], out["out_of_range"] = _metrics(model, job, out["notes"])
    else:
        out["metrics"], out["metric_drop"], out["out_of_range"] = None, None, None
    out["manifest_metrics"] = _manifest_metrics(model)
    return out


def main() -> int:
    """Child entry: one JSON job on stdin, one JSON result line on the original stdout."""
    from edgelnn.targets.child_protocol import serve_one_job

    return serve_one_job(measure)


if __name__ == "__main__":
    sys.exit(main())
