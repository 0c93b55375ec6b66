"""`edgelnn bundle`: an export's model as a drop-in C library for a firmware project."""

from __future__ import annotations

import click


@click.command()
@click.argument("export_dir", type=click.Path(file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Bundle directory to create (written atomically).")
@click.option("--precision", type=click.Choice(["fp32", "int8"]), default="fp32", show_default=True,
              help="Precision of the generated C.")
@click.option("--name", default=None, help="C identifier prefixing every symbol and file (default: the model kind).")
@click.option("--force", is_flag=True, help="Replace an existing --out directory.")
@click.option("--no-measure", is_flag=True, help="Skip the emulated Cortex-M measurement (README: not measured).")
def bundle(export_dir: str, out_dir: str, precision: str, name: str | None, force: bool, no_measure: bool) -> None:
    """Write EXPORT_DIR's model as C99 (header, source, golden test, CMakeLists.txt, Makefile fragment,
    control-loop example, README) into --out; the golden test is built and run on this host first."""
    from edgelnn.firmware_bench.bundle import make_bundle

    result = make_bundle(export_dir, out_dir, precision, force=force, measure=not no_measure, name=name)
    click.echo(f"bundle {result.out_dir} ({result.name}, {result.precision}): {', '.join(result.files)}")
    click.echo(f"host golden test: {result.host_check}")
    for f in result.figures:
        cycles = "-" if f.cycles_mean is None else f"~{f.cycles_mean:,.0f}"
        click.echo(f"{f.core:<13} {f.instructions_mean:>12,.0f} instructions/step, {cycles} cycles (estimate), "
                   f"flash {f.flash_bytes:,} B, RAM {f.ram_bytes:,} B; {f.verdict}")
    if result.not_measured:
        click.echo(f"Cortex-M figures: {result.not_measured}")
