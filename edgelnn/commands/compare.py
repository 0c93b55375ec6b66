"""`edgelnn compare`: the LNN-vs-RNN study (train -> export -> bench per cell, results, verdicts, report)."""

from __future__ import annotations

import click


def _names(value: str | None, option: str) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise click.BadParameter("give at least one name (comma-separated)", param_hint=option)
    return names


def _seeds(value: str | None) -> list[int] | None:
    names = _names(value, "--seeds")
    if names is None:
        return None
    try:
        return [int(v) for v in names]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers", param_hint="--seeds")


def _match(match: str | None, hidden: int | None):
    from edgelnn.study.grid import Match

    if match is not None and hidden is not None:
        raise click.UsageError("give --match params=N or --hidden N, not both")
    if hidden is not None:
        return Match("hidden", hidden)
    if match is None:
        return None
    key, _, value = match.partition("=")
    if key.strip() != "params" or not value.strip().isdigit() or int(value) < 1:
        raise click.BadParameter(f"{match!r} is not valid; expected params=N with N >= 1", param_hint="--match")
    return Match("params", int(value))


@click.command(name="compare")
@click.argument("collect_dirs", nargs=-1, type=click.Path(file_okay=False))
@click.option("--models", default=None, help="Comma-separated: cfc,ltc,lrc,lstm,gru,lstm-time,gru-time "
                                             "(default: the preset's).")
@click.option("--tasks", default=None, help="Comma-separated task names (default: the preset's).")
@click.option("--seeds", default=None, help="Comma-separated seeds, e.g. 0,1,2 (default: the preset's).")
@click.option("--match", "match", default=None, help="params=N: size every model to N parameters (within 10%).")
@click.option("--hidden", type=click.IntRange(min=1), default=None, help="Compare every model at this hidden size.")
@click.option("--preset", type=click.Choice(["demo", "full"]), default="demo", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="study", show_default=True,
              help="Study directory: cells/, results.json, results.csv, report.md, plots/.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True, help="Cells run in parallel processes.")
@click.option("--shard", default=None, help="i/n: run only shard i (0-based) of n; merge with --collect.")
@click.option("--collect", is_flag=True, help="Merge the study directories given as arguments into --out.")
@click.option("--report-only", is_flag=True, help="Rebuild report.md and plots from --out/results.json.")
@click.option("--quiet", is_flag=True, help="No per-cell progress lines.")
def compare(collect_dirs, models, tasks, seeds, match, hidden, preset, out_dir, jobs, shard, collect, report_only,
            quiet) -> None:
    """Train, export and bench every (model, task, seed) cell; write results, verdicts and report.md."""
    from edgelnn.study import runner
    from edgelnn.study.grid import parse_shard
    from edgelnn.study.report import verdict_lines

    if collect_dirs and not collect:
        raise click.UsageError("directories are only taken with --collect")
    progress = None if quiet else (lambda message: click.echo(message, err=True))
    if report_only:
        path = runner.report_only(out_dir)
        click.echo(f"report: {path}")
        return
    if collect:
        result = runner.collect(list(collect_dirs), out_dir)
    else:
        spec = runner.make_spec(preset, _names(models, "--models"), _names(tasks, "--tasks"), _seeds(seeds),
                                _match(match, hidden))
        result = runner.run_study(spec, out_dir, jobs=jobs, shard=parse_shard(shard) if shard else None,
                                  progress=progress)
        click.echo(f"{len(result.executed)} cells run, {len(result.reused)} reused, {len(result.failed)} failed "
                   f"in {result.wall_s:.0f} s")
    for line in verdict_lines(result.results):
        click.echo(f"- {line}")
    click.echo(f"report: {result.report_path}")
