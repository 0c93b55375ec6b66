"""Task-metric drop of every int8 artifact, per model and bundled task (issue goals: <= 0.5 accuracy points
or 5% relative MSE for CfC, LSTM, GRU; LTC within 2% relative MSE on sine and pendulum in an integer-only
artifact: tflite-int8-a16, and in the generated C at int8). Trains small models (or reuses those already in
--out), exports them, prints one table; the integer-only artifacts' sizes are printed beside it. With --c the
generated C (fp32 and int8, compiled for this host) is evaluated on the same test sequences as columns
"c-fp32" and "c-int8-dynamic" (the c backend's names).

    python benchmarks/int8_drop.py [--tasks japanesevowels,basicmotions,sine,pendulum] [--models cfc,lstm,gru,ltc,lrc]
                                   [--epochs 10] [--formats onnx,tflite] [--c] [--out runs/int8-drop]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgelnn.export import ExportConfig, export_model, resolve_source
from edgelnn.training import TrainConfig, train

SMALL = {"sine": {"n_train": 512, "n_val": 128, "n_test": 256}}


def tflm_arena(path: Path) -> int | str:
    """The TFLite Micro arena (bytes) of a .tflite, or why TFLite Micro cannot run it."""
    from edgelnn.errors import ArtifactLoadError
    from edgelnn.runtime.tflm import measure_arena

    try:
        return measure_arena(path).arena_bytes
    except ArtifactLoadError as err:
        return f"not runnable: {err}"


def c_metric_drops(export_dir: Path, manifest: dict) -> dict[str, float]:
    """Test-metric drop vs PyTorch of the generated C at each precision, on the sequences the export verified."""
    from edgelnn.firmware_bench.evaluate import c_test_metric

    return {name: round(c_test_metric(export_dir, precision, manifest).drop, 4)
            for name, precision in (("c-fp32", "fp32"), ("c-int8-dynamic", "int8"))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", default="japanesevowels,basicmotions,sine,pendulum")
    p.add_argument("--models", default="cfc,lstm,gru,ltc,lrc")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--formats", default="onnx,tflite", help="export formats (tflite alone is faster)")
    p.add_argument("--tflm", action="store_true", help="also measure the TFLite Micro arena of the integer artifacts")
    p.add_argument("--c", action="store_true", help="also evaluate the generated C (fp32, int8) on this host")
    p.add_argument("--out", default="runs/int8-drop")
    args = p.parse_args()
    out = Path(args.out)
    rows = []
    for task in args.tasks.split(","):
        for model in args.models.split(","):
            run = out / f"{model}-{task}"
            if not (run / "metrics.json").is_file():
                cfg = TrainConfig(model=model, task=task, hidden_size=32, epochs=args.epochs, batch_size=16,
                                  lr=5e-3, patience=5, task_options=SMALL.get(task, {}))
                train(cfg, run, progress=False)
            cfg = ExportConfig(formats=tuple(args.formats.split(",")), int8=True)
            result = export_model(resolve_source(run=run), cfg, out / f"{model}-{task}-export", force=True)
            m = result.manifest
            row = {"task": task, "metric": m["task"]["metric"], "model": model,
                   "pytorch": round(m["reference_metrics"]["test"], 4)}
            for a in m["artifacts"]:
                if a["precision"].startswith("int8") or a["precision"] == "fp16":
                    row[a["name"]] = round(a["metric_drop"]["test"], 4)
                if a["precision"] in ("int8-full", "int8-a16"):
                    row[f"{a['name']} bytes"] = a["size_bytes"]
                    if args.tflm and a["format"] == "tflite":
                        row[f"{a['name']} arena"] = tflm_arena(result.out_dir / a["file"])
            if args.c:
                row.update(c_metric_drops(result.out_dir, m))
            rows.append(row)
            print(json.dumps(row), flush=True)
    (out / "int8_drop.json").write_text(json.dumps(rows, indent=2))
    cols = list(dict.fromkeys(c for r in rows for c in r))
    print("\n" + "  ".join(f"{c:>20}" for c in cols))
    for r in rows:
        print("  ".join(f"{r.get(c, '')!s:>20}" for c in cols))


if __name__ == "__main__":
    main()
