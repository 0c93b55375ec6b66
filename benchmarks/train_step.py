"""Training-step time of edgelnn vs ncps 1.0.1 on identical models, measured side by side in one run.

Each edgelnn model is converted from the ncps one (same weights, same math); all run forward + backward +
Adam step on the same batch, interleaved round by round so machine noise hits them alike. Prints the median
time per step and the ratio ncps / edgelnn (> 1 means edgelnn is faster), for the eager loop and for the
compiled training loop of `edgelnn train --compile` (compiled before the timed rounds; compile time printed).

    python benchmarks/train_step.py [--batch 32 --steps 32 --hidden 32 --rounds 20 --threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from edgelnn.models import from_ncps
from edgelnn.training.compiled import compile_training_steps


def _ncps_step(model, opt, x, ts, target):
    opt.zero_grad()
    # ncps broadcasts batched timespans wrongly (issues 81-83); uniform dt=1 (timespans=None) keeps it correct.
    y, _ = model(x, timespans=None)
    loss = ((y - target) ** 2).mean()
    loss.backward()
    opt.step()


def _edgelnn_step(model, opt, x, ts, target):
    opt.zero_grad()
    y, _ = model.run(x, ts)
    loss = ((y - target) ** 2).mean()
    loss.backward()
    opt.step()


def bench(name: str, ncps_model, args) -> dict:
    edge = from_ncps(ncps_model).train()
    fast = from_ncps(ncps_model).train()
    ncps_model.train()
    x = torch.randn(args.batch, args.steps, args.inputs)
    ts = torch.ones(args.batch, args.steps)
    with torch.no_grad():
        out_size = ncps_model(x[:, :1])[0].shape[-1]
    target = torch.randn(args.batch, args.steps, out_size)
    runs = {"ncps": (_ncps_step, ncps_model), "edgelnn": (_edgelnn_step, edge)}
    compile_training_steps(fast)
    runs["compiled"] = (_edgelnn_step, fast)
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, (_, m) in runs.items()}
    start = time.perf_counter()
    _edgelnn_step(fast, opts["compiled"], x, ts, target)  # compiles
    compile_s = time.perf_counter() - start
    times = {k: [] for k in runs}
    for _ in range(2):  # warm-up
        for k, (fn, m) in runs.items():
            fn(m, opts[k], x, ts, target)
    for _ in range(args.rounds):
        for k, (fn, m) in runs.items():
            start = time.perf_counter()
            fn(m, opts[k], x, ts, target)
            times[k].append(time.perf_counter() - start)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    return {"model": name, "ncps_ms": med["ncps"], "edgelnn_ms": med["edgelnn"], "ratio": med["ncps"] / med["edgelnn"],
            "compiled_ms": med["compiled"], "compiled_ratio": med["ncps"] / med["compiled"], "compile_s": compile_s}


def main() -> None:
    import ncps.torch as nt

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=32)
    p.add_argument("--inputs", type=int, default=8)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cases = [
        ("cfc", nt.CfC(args.inputs, args.hidden)),
        ("ltc (6 unfolds)", nt.LTC(args.inputs, args.hidden)),
    ]
    print(f"batch={args.batch} steps={args.steps} inputs={args.inputs} hidden={args.hidden} "
          f"threads={args.threads} rounds={args.rounds}")
    print(f"{'model':<18}{'ncps ms/step':>14}{'edgelnn ms/step':>17}{'ncps/edgelnn':>14}"
          f"{'--compile ms/step':>19}{'ncps/--compile':>16}{'compile s':>11}")
    for name, model in cases:
        r = bench(name, model, args)
        print(f"{r['model']:<18}{r['ncps_ms']:>14.2f}{r['edgelnn_ms']:>17.2f}{r['ratio']:>13.2f}x"
              f"{r['compiled_ms']:>19.2f}{r['compiled_ratio']:>15.2f}x{r['compile_s']:>11.1f}")


if __name__ == "__main__":
    main()
