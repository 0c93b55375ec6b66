"""The microcontroller table: every model kind x C precision x Cortex-M core, beside TFLite Micro.

For each model kind (CfC, LTC, LRC, LSTM, GRU) at one size (default: 8 inputs, hidden 32, CfC backbone 64 --
smaller than issue 9's CfC-64/backbone-128 so that the whole table runs in minutes on a shared machine), the
script builds a seeded, untrained model (random weights give the instruction counts of trained ones up to
data-dependent branches in exp/tanh), exports it with ``edgelnn.export`` (TFLite fp32 and int8, with golden
vectors) into a temporary directory and reports, per C precision the generator writes (fp32; int8 once it
exists) and per core (Cortex-M0+, M4F, M7):

- instructions per step (exact, emulated in unicorn), estimated cycles per step (per-instruction-class model,
  zero-wait memory: an ESTIMATE), flash (text + rodata + data) and RAM (data + bss + stack high-water mark +
  state + x/dt/y), and the golden check of the emulated steps against the PyTorch rollout;
- beside it, TFLite Micro on the same model: the .tflite flatbuffer's size and the smallest arena the TFLite
  Micro interpreter runs it with (fp32 flatbuffer for the fp32 rows, int8-full for int8), and the measured
  ratios C flash / flatbuffer and C RAM / (arena + state + x/dt/y). The flatbuffer ratio leaves out TFLite
  Micro's interpreter code (tens of KB of flash), so it favours TFLite Micro.

    python benchmarks/mcu_table.py [--kinds cfc,ltc,lrc,lstm,gru --inputs 8 --hidden 32 --backbone 64
                                    --steps 3 --m0-steps 1 --markdown table.md]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np

CORES = (("cortex-m0plus", "rp2040"), ("cortex-m4f", "stm32f4"), ("cortex-m7", "stm32h7"))
TFLM_PRECISION = {"fp32": "fp32", "int8": "int8-full"}


@contextlib.contextmanager
def quiet():
    """Silence converter chatter on Python's stdout/stderr."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def export_kind(kind: str, args, folder: Path) -> Path:
    """Seeded ``kind`` model -> checkpoint -> TFLite fp32 + int8 export (with golden vectors)."""
    import torch

    from edgelnn.export import ExportConfig, Source, export_model
    from edgelnn.models import build_model, make_config, save_checkpoint
    from edgelnn.tasks import load_npz_task

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    options = {"backbone_units": args.backbone} if kind == "cfc" else {}
    model = build_model(make_config(kind, args.inputs, args.hidden, **options)).eval()
    rng = np.random.default_rng(args.seed)
    data = folder / "data.npz"
    np.savez(data, x=rng.standard_normal((32, 16, args.inputs)).astype(np.float32),
             y=rng.standard_normal((32, 16, model.output_size)).astype(np.float32),
             t=rng.uniform(0.05, 0.5, (32, 16)).astype(np.float32))
    ckpt = save_checkpoint(model, folder / "model.safetensors", {"task": str(data)})
    cfg = ExportConfig(formats=("tflite",), int8=True, calibration_rows=64, verify_sequences=4)
    with quiet():
        export_model(Source(model, ckpt, None, load_npz_task(str(data))), cfg, folder / "export")
    return folder / "export"


def tflm_figures(export: Path, precision: str, manifest: dict) -> tuple[int | None, int | None, str | None]:
    """(flatbuffer bytes, arena bytes, error) of the export's TFLite artifact of ``precision`` in TFLite Micro."""
    from edgelnn.runtime import load

    want = TFLM_PRECISION[precision]
    entry = next((a for a in manifest["artifacts"] if a["format"] == "tflite" and a["precision"] == want), None)
    if entry is None:
        return None, None, f"no {want} .tflite"
    try:
        with quiet():
            model = load(export, backend="tflm", precision=want)
        return entry["size_bytes"], model.arena_bytes, None
    except Exception as exc:  # noqa: BLE001 - a row of the table says what failed
        return entry["size_bytes"], None, f"{type(exc).__name__}: {exc}"


def measure_rows(kind: str, export: Path, args) -> list[dict]:
    """One row per (C precision, core) for the model in ``export``."""
    from edgelnn.artifact import read_manifest
    from edgelnn.errors import UnsupportedModelError
    from edgelnn.export.golden import read_golden
    from edgelnn.firmware_bench.codegen import PRECISIONS, generate
    from edgelnn.firmware_bench.golden_c import golden_tolerance
    from edgelnn.firmware_bench.mcu import measure_c_step

    manifest = read_manifest(export)
    golden = read_golden(export, manifest["golden"])
    rows = []
    for precision in ("fp32", "int8"):
        flatbuffer, arena, tflm_error = tflm_figures(export, precision, manifest)
        if precision not in PRECISIONS:
            rows.append({"kind": kind, "precision": precision, "core": "-", "error": "C generator has no int8 yet",
                         "flatbuffer": flatbuffer, "arena": arena, "tflm_error": tflm_error})
            continue
        try:
            src = generate(export, precision)
        except UnsupportedModelError as exc:
            rows.append({"kind": kind, "precision": precision, "core": "-", "error": f"no C: {exc}".split(" (")[0],
                         "flatbuffer": flatbuffer, "arena": arena, "tflm_error": tflm_error})
            continue
        atol, rtol = golden_tolerance(manifest, precision)
        real = np.flatnonzero(golden.mask[0])
        for core, target in CORES:
            n = args.m0_steps if core == "cortex-m0plus" else args.steps
            steps = real[:n]
            started = time.perf_counter()
            rep = measure_c_step(src.files, src.step_symbol, core, [(golden.x[0, k], golden.dt[0, k]) for k in steps],
                                 src.state_size, src.output_size, target)
            ref = golden.y[0, steps]
            error = float(np.abs(rep.outputs - ref).max())
            io_state = rep.state_bytes + rep.io_bytes
            rows.append({
                "kind": kind, "precision": precision, "core": core, "steps": len(steps),
                "instructions": rep.instructions_mean, "cycles": rep.cycles_mean, "flash": rep.flash_bytes,
                "ram": rep.ram_bytes, "stack": rep.stack_bytes,
                "golden": "pass" if error <= atol + rtol * float(np.abs(ref).max()) else f"FAIL ({error:.2g})",
                "flatbuffer": flatbuffer, "arena": arena, "tflm_error": tflm_error,
                "flash_ratio": None if not flatbuffer else rep.flash_bytes / flatbuffer,
                "ram_ratio": None if arena is None else rep.ram_bytes / (arena + io_state),
                "seconds": time.perf_counter() - started,
            })
    return rows


def _n(value, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


def _arena(r: dict) -> str:
    if r["arena"] is not None:
        return _n(r["arena"])
    # "ArtifactLoadError: <file>: tflm cannot load it (...)" -> "tflm cannot load it (...)"
    return "-" if not r["tflm_error"] else f"failed: {r['tflm_error'].splitlines()[0].split(': ', 2)[-1][:100]}"


def markdown(rows: list[dict], args) -> str:
    """The table as markdown (the README's "Microcontrollers" section)."""
    head = ("| model | C | core | instructions / step | est. cycles / step | flash B | RAM B (stack) | golden | "
            "TFLM flatbuffer B | TFLM arena B | flash C/TFLM | RAM C/TFLM |")
    lines = [head, "|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['kind']} | {r['precision']} | - | {r['error']} | | | | | {_n(r['flatbuffer'])} | "
                         f"{_arena(r)} | | |")
            continue
        lines.append(f"| {r['kind']} | {r['precision']} | {r['core']} | {_n(r['instructions'])} | {_n(r['cycles'])} | "
                     f"{_n(r['flash'])} | {_n(r['ram'])} ({_n(r['stack'])}) | {r['golden']} | {_n(r['flatbuffer'])} | "
                     f"{_arena(r)} | {_n(r['flash_ratio'], '.2f')} | {_n(r['ram_ratio'], '.2f')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", default="cfc,ltc,lrc,lstm,gru")
    parser.add_argument("--inputs", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--backbone", type=int, default=64, help="CfC backbone units")
    parser.add_argument("--steps", type=int, default=3, help="golden steps emulated per row on M4F/M7")
    parser.add_argument("--m0-steps", type=int, default=1, help="golden steps on Cortex-M0+ (soft float is slow)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table to this file")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="edgelnn-mcu-table-") as tmp:
        for kind in args.kinds.split(","):
            started = time.perf_counter()
            export = export_kind(kind, args, Path(tmp, kind))
            exported = time.perf_counter() - started
            rows += measure_rows(kind, export, args)
            print(f"{kind}: exported in {exported:.0f} s, measured in {time.perf_counter() - started - exported:.0f} s",
                  flush=True)
    table = markdown(rows, args)
    head = (f"{args.inputs} inputs, hidden {args.hidden} (CfC backbone {args.backbone}), seeded untrained weights; "
            f"{args.steps} golden steps per row on M4F/M7, {args.m0_steps} on M0+; instructions exact (unicorn), "
            "cycles estimated (zero-wait memory); TFLM = TensorFlow Lite Micro host build (fp32 flatbuffer beside "
            "the fp32 rows, int8-full beside int8); RAM C/TFLM = C RAM / (arena + state + x/dt/y); flash C/TFLM = "
            "C flash / flatbuffer (TFLM's interpreter code not counted)")
    print(head)
    print(table)
    if args.markdown is not None:
        args.markdown.write_text(head + "\n\n" + table + "\n")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
