"""`edgelnn bench`: latency, throughput, memory and accuracy of an export's artifacts on a target profile."""

from __future__ import annotations

import sys

import click


def _batches(value: str) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers", param_hint="--batches")
    if not out or any(b < 1 for b in out):
        raise click.BadParameter(f"{value!r}: each batch must be an integer >= 1", param_hint="--batches")
    return out


@click.command(name="bench")
@click.argument("artifact_dir", type=click.Path())
@click.option("--target", default="cpu", show_default=True,
              help="Target profile name (see `edgelnn targets`) or a profile .json file.")
@click.option("--backend", "backends", default="all", show_default=True,
              help="'all' (the target's installed backends) or a comma-separated list: onnxruntime,litert,tflm,torch.")
@click.option("--precision", default="fp32", show_default=True,
              help="fp32, fp16, int8 (each backend's preferred int8), int8-dynamic, int8-static, int8-full, or all.")
@click.option("--steps", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Timed batch-1 steps per latency measurement (after --warmup untimed steps).")
@click.option("--warmup", type=click.IntRange(min=0), default=200, show_default=True)
@click.option("--batches", default="1,64,1024", show_default=True, help="Batch sizes for throughput.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="Runtime threads (default: the target's).")
@click.option("--eval-sequences", type=click.IntRange(min=1), default=None,
              help="Sequences per split for the task metric (default: as many as the export verified).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=900, show_default=True,
              help="Seconds one backend's child process may take.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="JSON file to write (default: ARTIFACT_DIR/bench-<target>.json).")
def bench(artifact_dir, target, backends, precision, steps, warmup, batches, threads, eval_sequences, timeout_s,
          out_file) -> None:
    """Profile ARTIFACT_DIR's artifacts on a target: each backend in its own process; table, verdict, JSON.

    Exit code 0 when at least one backend measured (or the target is not available here); 1 when every
    row failed or timed out (the JSON is still written); 2 on bad input, including an --out that cannot be
    written (checked before anything runs).
    """
    from edgelnn.targets.bench import BenchSettings
    from edgelnn.targets.bench import bench as run_bench

    names = "all" if backends.strip() == "all" else [b.strip() for b in backends.split(",") if b.strip()]
    settings = BenchSettings(steps=steps, warmup=warmup, batches=_batches(batches), threads=threads,
                             eval_sequences=eval_sequences, timeout_s=timeout_s)
    def progress(row: dict) -> None:
        state = "ok" if row["status"] == "ok" else "FAILED"
        click.echo(f"  {row['backend']} {row['precision']}: {state} ({row['seconds']:.1f} s)", err=True)

    result = run_bench(artifact_dir, target=target, backends=names, precision=precision, settings=settings,
                       on_row=progress, out=out_file)
    click.echo(result.report())
    if not result.available and out_file is None:
        return  # "not available here": nothing measured, nothing written unless asked
    path = result.write(out_file)
    click.echo(f"wrote {path}")
    if result.available and not result.succeeded:
        failures = " ".join("; ".join(result.failures).split()) or "no backend ran"
        click.echo(f"error: every benchmark row failed ({failures})", err=True)
        sys.exit(1)
