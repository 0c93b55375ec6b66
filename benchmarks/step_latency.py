"""Per-step latency at batch 1, 1 thread: ncps eager PyTorch vs edgelnn's runtimes, side by side in one run.

For CfC, LTC and LSTM at hidden 64 the script builds a seeded model (ncps for CfC and LTC; ncps has no
LSTM, so torch.nn.LSTMCell + Linear in eager mode is the LSTM's baseline), converts it with
``edgelnn.models.from_ncps`` (LSTM: the same weights copied into edgelnn's LSTM), saves a checkpoint,
exports it with ``edgelnn.export`` (ONNX + TFLite, fp32) into a temporary directory and opens every
backend with ``edgelnn.runtime.load(..., batch=1, threads=1)``. It then times, round-robin so machine
noise hits all alike:

- the eager baseline: the ncps module called on a one-step sequence with its hidden state carried over
  (what a control loop written with ncps pays), or LSTMCell + Linear;
- per backend (torch, onnxruntime, litert, tflm, c): ``StreamingModel.step(x, dt)``, the cost a user pays,
  and beside it ``model.raw(x, state, dt)``, the runtime's own runner call (set inputs, invoke, read
  outputs; the floor step() can reach).

Each round times a block of calls per candidate (sized to about 20 ms); the table shows the median over
rounds of the mean time per call, the speed-up over the eager baseline (baseline us / candidate us) and
step()/raw. LTC is also exported with fewer ODE unfolds (``--ltc-unfolds``), compared with the same
6-unfold ncps baseline; the output change vs 6 unfolds is shown (accuracy vs unfolds on a trained model
comes from the solver sweep: ``edgelnn export --model ltc --ode-unfolds 1,2,4,6``).

    python benchmarks/step_latency.py [--hidden 64 --inputs 8 --outputs 4 --rounds 30 --ltc-unfolds 1,2,3]

Goals of issue 5 (batch 1, 1 thread): CfC step() >= 100x faster than ncps eager, LTC >= 50x, and
step() <= 1.5x the raw invoke.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

BACKENDS = ("torch", "onnxruntime", "litert", "tflm", "c")
GOALS = {"cfc": 100.0, "ltc": 50.0}
STEP_OVER_RAW_GOAL = 1.5
DT = 1.0


@dataclass
class Candidate:
    """One thing to time: ``call(i)`` does one batch-1 step on sample ``i``."""

    label: str
    call: Callable[[int], object]
    block: int = 0
    times: list[float] = field(default_factory=list)

    @property
    def us(self) -> float:
        return statistics.median(self.times) * 1e6


# ----------------------------------------------------------------------------------------------- models
def ncps_models(kind: str, args) -> tuple[torch.nn.Module, object]:
    """(eager baseline module, the same model as an edgelnn StepModel)."""
    from edgelnn.models import build_model, from_ncps, make_config

    torch.manual_seed(args.seed)
    if kind == "lstm":
        cell, head = torch.nn.LSTMCell(args.inputs, args.hidden), torch.nn.Linear(args.hidden, args.outputs)
        model = build_model(make_config("lstm", args.inputs, args.hidden, proj_size=args.outputs))
        model.cell.load_state_dict(cell.state_dict())
        model.proj.load_state_dict(head.state_dict())
        return torch.nn.ModuleDict({"cell": cell, "head": head}).eval(), model.eval()
    import ncps.torch
    import ncps.wirings

    if kind == "cfc":
        base = ncps.torch.CfC(args.inputs, args.hidden, proj_size=args.outputs, batch_first=True)
    else:
        base = ncps.torch.LTC(args.inputs, ncps.wirings.FullyConnected(args.hidden, args.outputs), batch_first=True)
    return base.eval(), from_ncps(base).eval()


def eager_call(kind: str, base: torch.nn.Module, xs: torch.Tensor) -> Callable[[int], object]:
    """One eager step of the baseline on sample i, carrying its hidden state (no autograd)."""
    dt = torch.full((1, 1), DT)
    if kind == "lstm":
        cell, head = base["cell"], base["head"]
        hc = [None]

        def lstm(i: int) -> object:
            with torch.inference_mode():
                hc[0] = cell(xs[i], hc[0])
                return head(hc[0][0])

        return lstm
    hidden = [None]

    def ncps_step(i: int) -> object:
        with torch.inference_mode():
            y, hidden[0] = base(xs[i][:, None, :], hx=hidden[0], timespans=dt)
        return y

    return ncps_step


def task_file(folder: Path, args) -> Path:
    """A small random regression data set (npz) for export's calibration and verification."""
    rng = np.random.default_rng(args.seed)
    n, steps = 32, 16
    path = folder / "data.npz"
    np.savez(path, x=rng.standard_normal((n, steps, args.inputs)).astype(np.float32),
             y=rng.standard_normal((n, steps, args.outputs)).astype(np.float32),
             t=np.full((n, steps), DT, np.float32))
    return path


def export_dir(model, folder: Path, name: str, data: Path, unfolds: int | None = None) -> Path:
    """Export ``model`` (ONNX + TFLite, fp32, verified) into ``folder/name``; quiet."""
    from edgelnn.export import ExportConfig, Source, export_model
    from edgelnn.models import save_checkpoint
    from edgelnn.tasks import load_npz_task

    ckpt = folder / f"{name}.safetensors"
    save_checkpoint(model, ckpt, {"task": str(data)})
    cfg = ExportConfig(formats=("onnx", "tflite"), int8=False, ode_unfolds=unfolds, calibration_rows=64,
                       verify_sequences=16)
    with quiet():
        export_model(Source(model, ckpt, None, load_npz_task(str(data))), cfg, folder / name)
    return folder / name


@contextlib.contextmanager
def quiet():
    """Silence converter chatter on Python's and C's stdout/stderr."""
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def runtime_calls(art: Path, xs: np.ndarray, suffix: str = "") -> tuple[list[Candidate], list[str]]:
    """step() and raw candidates of every installed backend for one export directory."""
    from edgelnn.runtime import list_backends, load

    have, out, missing = list_backends(), [], []
    samples = np.ascontiguousarray(xs[:, 0])  # [N,F]: one sample per step, as a control loop passes it
    dt = np.full((1, 1), DT, np.float32)
    for name in BACKENDS:
        if not have.get(name):
            missing.append(name)
            continue
        with quiet():
            model = load(art, backend=name, precision="fp32", batch=1, threads=1)
        raw, state = model.raw, [np.zeros((1, model.state_size), np.float32)]

        def step(i: int, model=model) -> object:
            return model.step(samples[i], DT)

        def raw_call(i: int, raw=raw, state=state) -> object:
            y, state[0] = raw(xs[i], state[0], dt)
            return y

        out += [Candidate(f"{name}{suffix} step()", step), Candidate(f"{name}{suffix} raw", raw_call)]
        bare = invoke_only(name, raw, xs[0], dt, model.state_size)
        if bare is not None:
            out.append(Candidate(f"{name}{suffix} invoke", bare))
    return out, missing


def invoke_only(backend: str, raw, x: np.ndarray, dt: np.ndarray, state_size: int) -> Callable[[int], object] | None:
    """The runtime's bare call with inputs already in place (the floor under raw), through the runners'
    internals: LiteRT / TFLM ``interpreter.invoke()``, onnxruntime ``session.run`` on a prebuilt feed,
    torch ``StepModel.step`` on prebuilt tensors, c the ctypes call of the compiled step on buffers already
    filled. None where a runner does not expose them."""
    state = np.zeros((1, state_size), np.float32)
    if backend in ("litert", "tflm") and hasattr(raw, "_interp") and hasattr(raw, "_invoke"):
        raw._invoke(x, state, dt)  # sets the inputs once
        return lambda i, interp=raw._interp: interp.invoke()
    if backend == "onnxruntime" and hasattr(raw, "session"):
        feed = {"x": x, "state": state, "dt": dt}
        return lambda i, session=raw.session, names=raw.output_names: session.run(names, feed)
    if backend == "c" and hasattr(raw, "_fn"):
        raw(x, state, dt)  # fills the runner's input buffers once
        return lambda i, fn=raw._fn, args=raw._args: fn(*args)
    if backend == "torch" and hasattr(raw, "model"):
        model, xt, st, dtt = raw.model, torch.from_numpy(x), torch.from_numpy(state), torch.from_numpy(dt)

        def step(i: int) -> object:
            with torch.inference_mode():
                return model.step(xt, st, dtt)

        return step
    return None


# ----------------------------------------------------------------------------------------------- timing
def calibrate(cands: list[Candidate], n: int, target_s: float) -> None:
    """Warm up each candidate and size its block to about ``target_s`` seconds."""
    for c in cands:
        for i in range(20):
            c.call(i % n)
        start = time.perf_counter()
        for i in range(20):
            c.call(i % n)
        per_call = (time.perf_counter() - start) / 20
        c.block = int(min(max(target_s / max(per_call, 1e-9), 10), 5000))


def measure(cands: list[Candidate], n: int, rounds: int) -> None:
    """Round-robin: each round times one block of every candidate (mean per call)."""
    clock = time.perf_counter
    for r in range(rounds):
        order = cands if r % 2 == 0 else cands[::-1]  # alternate order: no candidate always runs first
        for c in order:
            offset = (r * c.block) % n
            start = clock()
            for i in range(offset, offset + c.block):
                c.call(i % n)
            c.times.append((clock() - start) / c.block)


# ----------------------------------------------------------------------------------------------- report
def rows_for(cands: list[Candidate], base: Candidate) -> list[dict]:
    by = {c.label: c for c in cands}
    rows = [{"runtime": base.label, "step() us": base.us, "raw us": None, "invoke us": None, "step/raw": None,
             "speed-up step()": 1.0, "speed-up raw": None, "speed-up invoke": None}]
    for c in cands:
        if not c.label.endswith(" step()"):
            continue
        name = c.label[: -len(" step()")]
        raw, bare = by.get(f"{name} raw"), by.get(f"{name} invoke")
        rows.append({"runtime": name, "step() us": c.us, "raw us": raw.us if raw else None,
                     "invoke us": bare.us if bare else None,
                     "step/raw": c.us / raw.us if raw else None, "speed-up step()": base.us / c.us,
                     "speed-up raw": base.us / raw.us if raw else None,
                     "speed-up invoke": base.us / bare.us if bare else None})
    return rows


def output_change(reference, variant, steps: int, inputs: int, seed: int) -> float:
    """Max |y_variant - y_reference| over a random 100-step rollout at dt = 1 (both eager PyTorch)."""
    gen = torch.Generator().manual_seed(seed)
    xs = torch.randn(1, steps, inputs, generator=gen)
    ts = torch.full((1, steps), DT)
    with torch.inference_mode():
        a, _ = reference.run(xs, ts)
        b, _ = variant.run(xs, ts)
    return float((a - b).abs().max())


def print_table(title: str, rows: list[dict]) -> None:
    from edgelnn.utils.table import format_table

    print(f"\n{title}")
    fmt = []
    for r in rows:
        fmt.append({k: (f"{v:.1f}" if k.endswith("us") and v is not None else
                        f"{v:.2f}" if k == "step/raw" and v is not None else
                        f"{v:.1f}x" if k.startswith("speed-up") and v is not None else v) for k, v in r.items()})
    print(format_table(fmt))


def verdict_lines(kind: str, rows: list[dict]) -> list[str]:
    lines = []
    runtimes = [r for r in rows[1:] if not r["runtime"].startswith("torch")]
    if kind in GOALS and runtimes:
        best = max(runtimes, key=lambda r: r["speed-up step()"])
        ok = best["speed-up step()"] >= GOALS[kind]
        lines.append(f"  goal {kind} step() >= {GOALS[kind]:.0f}x ncps eager: best {best['runtime']} "
                     f"{best['speed-up step()']:.1f}x -> {'met' if ok else 'MISSED'}")
    over = [f"{r['runtime']} {r['step/raw']:.2f}" for r in rows[1:] if r["step/raw"] is not None]
    bad = [r["runtime"] for r in rows[1:] if r["step/raw"] is not None and r["step/raw"] > STEP_OVER_RAW_GOAL]
    lines.append(f"  goal step()/raw <= {STEP_OVER_RAW_GOAL}: {', '.join(over)} -> "
                 f"{'met' if not bad else 'MISSED by ' + ', '.join(bad)}")
    return lines


def bench_model(kind: str, args, folder: Path, data: Path) -> None:
    from edgelnn.export.step import with_solver

    base, model = ncps_models(kind, args)
    n = 512
    gen = torch.Generator().manual_seed(args.seed + 1)
    xs_t = torch.randn(n, 1, args.inputs, generator=gen)
    xs = xs_t.numpy().astype(np.float32)
    label = "ncps eager" if kind != "lstm" else "LSTMCell+Linear eager (ncps has no LSTM)"
    baseline = Candidate(label, eager_call(kind, base, xs_t))
    cands, missing = runtime_calls(export_dir(model, folder, kind, data), xs)
    extra: list[tuple[int, float]] = []
    if kind == "ltc":
        for k in args.ltc_unfolds:
            variant = with_solver(model, None, k)
            more, _ = runtime_calls(export_dir(model, folder, f"ltc-u{k}", data, unfolds=k), xs, f" (unfolds {k})")
            cands += more
            extra.append((k, output_change(model, variant, 100, args.inputs, args.seed)))
    everything = [baseline, *cands]
    calibrate(everything, n, args.block_seconds)
    measure(everything, n, args.rounds)
    unfolds = f", {model.config.ode_unfolds} ODE unfolds (fused solver)" if kind == "ltc" else ""
    title = (f"{kind.upper()} hidden {args.hidden} ({args.inputs} inputs, {args.outputs} outputs{unfolds}), batch 1, "
             f"1 thread: median of {args.rounds} interleaved rounds; speed-up = baseline us / us")
    rows = rows_for(cands, baseline)
    print_table(title, rows)
    if missing:
        print(f"  not installed here: {', '.join(missing)}")
    main_rows = [rows[0]] + [r for r in rows[1:] if "unfolds" not in r["runtime"]]
    for line in verdict_lines(kind, main_rows):
        print(line)
    for k, change in extra:
        sub = [rows[0]] + [r for r in rows[1:] if f"(unfolds {k})" in r["runtime"]]
        best = max((r for r in sub[1:] if not r["runtime"].startswith("torch")), key=lambda r: r["speed-up step()"],
                   default=None)
        if best is not None:
            ok = best["speed-up step()"] >= GOALS["ltc"]
            print(f"  LTC with {k} unfold(s): best {best['runtime']} {best['speed-up step()']:.1f}x vs ncps eager "
                  f"(6 unfolds) -> {'meets' if ok else 'misses'} 50x; max output change vs 6 unfolds "
                  f"{change:.3g} (untrained weights, dt = 1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--inputs", type=int, default=8)
    parser.add_argument("--outputs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--block-seconds", type=float, default=0.02, help="time per candidate per round")
    parser.add_argument("--ltc-unfolds", default="1,2,3", help="extra LTC settings to export and time ('' for none)")
    parser.add_argument("--models", default="cfc,ltc,lstm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", default=None, help="keep the exports in this directory")
    args = parser.parse_args()
    args.ltc_unfolds = [int(k) for k in args.ltc_unfolds.split(",") if k.strip()]
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {os.cpu_count()} logical CPUs, torch threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory(prefix="edgelnn-step-latency-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        data = task_file(folder, args)
        for kind in [m.strip() for m in args.models.split(",") if m.strip()]:
            bench_model(kind, args, folder, data)


if __name__ == "__main__":
    main()
