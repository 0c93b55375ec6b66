"""What a bench run measures: the target profile, and which (backend, precision, artifact) rows to run.

Every check that can fail on bad input runs here, before any child process starts: unknown target,
backend or precision (ValueError), a backend the target does not use (ValueError), a missing runtime
package (RuntimeMissingError), no artifact for the request (ArtifactNotFoundError) and a file whose
sha256 differs from the manifest (ArtifactIntegrityError) or that is missing (ArtifactLoadError).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgelnn.errors import ArtifactNotFoundError
from edgelnn.runtime.backends import BACKENDS, PRECISIONS
from edgelnn.runtime.loader import candidates, check_integrity
from edgelnn.targets.profile import TargetProfile, available, load_profile

ALL = "all"


def resolve_profile(target: str | Path) -> tuple[TargetProfile, dict[str, Any], bool, str]:
    """(profile, its JSON form, whether it can run here, why / why not)."""
    profile = load_profile(target)
    ok, reason = available(profile)
    return profile, profile.to_dict(), ok, reason


def _backend_names(backends: str | list[str], profile: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """(backends to run, skipped rows) for "all" or an explicit list (checked against the profile)."""
    if isinstance(backends, str) and backends == ALL:
        names = list(profile["backends"])
        skipped = [{"backend": b, "precision": None, "reason": f"not installed: {BACKENDS[b].install}"}
                   for b in names if not BACKENDS[b].installed()]
        return [b for b in names if BACKENDS[b].installed()], skipped
    names = [backends] if isinstance(backends, str) else list(backends)
    if not names:
        raise ValueError("no backend given; name one or more of " + ", ".join(BACKENDS) + ", or 'all'")
    for name in names:
        if name not in BACKENDS:
            raise ValueError(f"unknown backend {name!r}; valid backends: {', '.join(BACKENDS)}, all")
        if name not in profile["backends"]:
            raise ValueError(f"target {profile['name']!r} does not run backend {name!r}; its backends: "
                             f"{', '.join(profile['backends'])}")
        BACKENDS[name].require()
    return list(dict.fromkeys(names)), []


def _precisions(precision: str) -> list[str]:
    if precision == ALL:
        return [p for p in PRECISIONS if p != "int8"]
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; valid precisions: {', '.join(PRECISIONS)}, all")
    return [precision]


def plan_runs(export_dir: Path, manifest: dict[str, Any], profile: dict[str, Any], backends: str | list[str],
              precision: str, allow_empty: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows to measure, rows skipped with a reason). Each row: backend, precision, artifact, bytes, entry.

    ``allow_empty``: other rows will run (the emulated firmware of bench_mcu), so no artifact is no error."""
    names, skipped = _backend_names(backends, profile)
    explicit = not (isinstance(backends, str) and backends == ALL)
    wanted = _precisions(precision)
    plan: list[dict[str, Any]] = []
    for name in names:
        backend, found = BACKENDS[name], {}
        for p in wanted:
            entries = candidates(manifest, backend, p)
            if entries:
                found.setdefault(entries[0]["name"], entries[0])  # "int8" may name the same file as "int8-full"
        if not found:
            why = f"no {precision} artifact for {name} in {export_dir}"
            if explicit and precision != ALL and not allow_empty:
                raise ArtifactNotFoundError(why)
            skipped.append({"backend": name, "precision": precision, "reason": why})
            continue
        for entry in found.values():
            path = check_integrity(export_dir, entry)
            plan.append({"backend": name, "precision": entry["precision"], "artifact": entry["name"],
                         "artifact_bytes": path.stat().st_size, "entry": entry})
    if not plan and not allow_empty:
        reasons = "; ".join(s["reason"] for s in skipped) or "nothing requested"
        raise ArtifactNotFoundError(f"nothing to bench on target {profile['name']!r}: {reasons}")
    return plan, skipped
