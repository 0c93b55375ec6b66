"""Closed-loop goals of issue 11, measured (not a test): CfC int8 policies by imitation on pendulum and cart-pole.

    python benchmarks/control_return.py [--plants pendulum,cartpole] [--episodes 20] [--out runs/bench-control]
                                        [--models cfc,lstm] [--hidden 32] [--reuse]

For each plant and model kind: imitation (BC + DAgger) -> ONNX export (fp32 + int8) -> closed loop through
edgelnn.runtime under every condition, for each int8 artifact (onnxruntime int8-dynamic, int8-static) and
the host C backend (fp32 only: the C generator has no int8 path yet). Prints the tables, then the goals:
normalised nominal return >= 0.9 for the CfC int8 policy, and step p99 < 10% of a 100 Hz period (1 ms).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

GOAL_RETURN = 0.9
PERIOD_100HZ_US = 10_000.0

IMITATION = {"epochs": 40, "dagger_iterations": 2, "dagger_epochs": 10, "dagger_episodes": 16, "batch_size": 32}
SETTINGS = {  # per plant: imitation settings, the same for every model kind (no tuning per kind or condition)
    "pendulum": {**IMITATION, "task_options": {"n_train": 48, "n_val": 4, "window_steps": 50}},
    "cartpole": {**IMITATION, "task_options": {"n_train": 48, "n_val": 4, "window_steps": 50}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plants", default="pendulum,cartpole")
    parser.add_argument("--models", default="cfc")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--conditions", default="all")
    parser.add_argument("--out", default="runs/bench-control")
    parser.add_argument("--reuse", action="store_true", help="reuse exports already under --out")
    args = parser.parse_args()

    from edgelnn.control.pipeline import control_exports, train_and_export
    from edgelnn.runtime.backends import BACKENDS

    lines = []
    for plant in args.plants.split(","):
        for kind in args.models.split(","):
            out = Path(args.out) / plant / kind
            started = time.perf_counter()
            export_dir = out / "export"
            if not (args.reuse and (export_dir / "manifest.json").is_file()):
                export_dir = train_and_export(plant, out, model=kind, hidden_size=args.hidden, **SETTINGS[plant])
            trained_s = time.perf_counter() - started
            runs = [(export_dir, "onnxruntime", "int8-dynamic"), (export_dir, "onnxruntime", "int8-static")]
            if BACKENDS["c"].installed():
                runs.append((export_dir, "c", "fp32"))
            report = control_exports(plant, runs, out / "report", args.conditions, args.episodes)
            print(report.text, flush=True)
            print(f"({plant} {kind}: imitation + export {trained_s:.0f} s)\n", flush=True)
            for pol in report.document["policies"]:
                s = pol["summary"]
                share = s["step_p99_us"] / PERIOD_100HZ_US
                lines.append(f"{plant:9s} {pol['label']:34s} nominal {s['nominal']:.3f} "
                             f"({'met' if s['nominal'] >= GOAL_RETURN else 'MISSED'} >= {GOAL_RETURN}), OOD mean "
                             f"{s['ood_mean']:.3f}, worst {s['ood_worst']:.3f}; step p99 {s['step_p99_us']:.1f} us "
                             f"= {share:.2%} of a 100 Hz period ({'met' if share < 0.1 else 'MISSED'} < 10%)")
    print("goals:")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
