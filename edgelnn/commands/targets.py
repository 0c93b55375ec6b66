"""`edgelnn targets`: the target profiles, their budgets, and whether each can be measured here."""

from __future__ import annotations

import json

import click

from edgelnn.utils.table import format_table


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} B"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the profiles (with availability) as JSON.")
def targets(as_json: bool) -> None:
    """List the target profiles: kind, backends, clock, RAM and flash budgets, and availability here."""
    from edgelnn.targets.profile import available, list_profiles

    profiles = [(p, *available(p)) for p in list_profiles()]
    if as_json:
        click.echo(json.dumps([{**p.to_dict(), "available": ok, "availability": why} for p, ok, why in profiles],
                              indent=2))
        return
    rows = [{"target": p.name, "kind": p.kind, "backends": ",".join(p.backends),
             "clock": "-" if p.clock_mhz is None else f"{p.clock_mhz:g} MHz",
             "threads": "all" if p.threads is None else str(p.threads), "RAM": _size(p.ram_bytes),
             "flash": _size(p.flash_bytes), "available here": "yes" if ok else "no"}
            for p, ok, _ in profiles]
    click.echo(format_table(rows))
    for p, ok, why in profiles:
        if not ok:
            click.echo(f"{p.name}: {why}")
