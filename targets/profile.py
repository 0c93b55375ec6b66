"""Target profiles: one JSON data file per target in ``profiles/`` (host CPU, GPU, Raspberry Pi 4 class,
microcontrollers), loaded into :class:`TargetProfile`.

Fields (all present in every file; ``null`` where a value does not apply or is unbounded):

- ``name``, ``kind`` ("cpu" | "gpu" | "mcu"), ``description``, ``part`` (the concrete chip/board the numbers
  come from), ``core``;
- ``runs_on``: "host" (this machine), "cuda" (a CUDA GPU of this machine), or "host-stand-in" (another
  device whose budgets are checked while the measurement runs on this host);
- ``backends``: runtime backends to use, in order of preference (names of ``edgelnn.runtime.BACKENDS``);
- ``threads`` (null = all logical CPUs here), ``clock_mhz``, ``ram_bytes``, ``flash_bytes``: the budget a
  model must fit (RAM for the runtime's working memory / tensor arena, flash for the model file);
- ``notes``: where the numbers come from and what they mean.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

PROFILES_DIR = Path(__file__).with_name("profiles")
KINDS = ("cpu", "gpu", "mcu")
RUNS_ON = ("host", "cuda", "host-stand-in")
KNOWN_BACKENDS = ("onnxruntime", "litert", "tflm", "torch", "c")  # the runtime backends (edgelnn.runtime.BACKENDS)

# field -> (allowed JSON types, may be null)
FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "name": ((str,), False), "kind": ((str,), False), "description": ((str,), False), "part": ((str,), True),
    "core": ((str,), False), "runs_on": ((str,), False), "backends": ((list,), False), "threads": ((int,), True),
    "clock_mhz": ((int, float), True), "ram_bytes": ((int,), True), "flash_bytes": ((int,), True),
    "notes": ((list,), False),
}


@dataclass(frozen=True)
class TargetProfile:
    """One target: what it is, which backends run on it, and the budgets a model must fit."""

    name: str
    kind: str
    description: str
    part: str | None
    core: str
    runs_on: str
    backends: tuple[str, ...]
    threads: int | None
    clock_mhz: float | None
    ram_bytes: int | None
    flash_bytes: int | None
    notes: tuple[str, ...]

    @property
    def threads_here(self) -> int:
        """The thread count to use on this machine (``threads``, or every logical CPU when it is null)."""
        return self.threads if self.threads is not None else (os.cpu_count() or 1)

    def to_dict(self) -> dict[str, Any]:
        """The profile as JSON-ready data (lists, not tuples)."""
        out = asdict(self)
        out["backends"], out["notes"] = list(self.backends), list(self.notes)
        return out


def _check(data: Any, source: str) -> TargetProfile:
    """A TargetProfile from parsed JSON; ValueError naming the file and the first bad field."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a profile is a JSON object")  # noqa: TRY004 - bad data, as for any field
    missing = [f for f in FIELDS if f not in data]
    unknown = [f for f in data if f not in FIELDS]
    if missing or unknown:
        raise ValueError(f"{source}: missing fields {missing}, unknown fields {unknown}; fields: {', '.join(FIELDS)}")
    for field, (types, nullable) in FIELDS.items():
        value = data[field]
        if value is None and nullable:
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            allowed = " or ".join(t.__name__ for t in types) + (" or null" if nullable else "")
            raise ValueError(f"{source}: {field}={value!r} should be {allowed}")  # noqa: TRY004 - bad data
        if isinstance(value, (int, float)) and value <= 0:
            raise ValueError(f"{source}: {field}={value!r} must be > 0")
    if data["kind"] not in KINDS:
        raise ValueError(f"{source}: kind={data['kind']!r}; allowed: {', '.join(KINDS)}")
    if data["runs_on"] not in RUNS_ON:
        raise ValueError(f"{source}: runs_on={data['runs_on']!r}; allowed: {', '.join(RUNS_ON)}")
    bad = [b for b in data["backends"] if b not in KNOWN_BACKENDS]
    if not data["backends"] or bad:
        raise ValueError(f"{source}: backends {data['backends']!r} must be a non-empty list of "
                         f"{', '.join(KNOWN_BACKENDS)}")
    if not all(isinstance(n, str) for n in data["notes"]):
        raise ValueError(f"{source}: notes must be a list of strings")
    return TargetProfile(**{**data, "backends": tuple(data["backends"]), "notes": tuple(data["notes"])})


def read_profile(path: str | Path) -> TargetProfile:
    """Load and check one profile file (a target of your own, or a shipped one)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    return _check(data, str(path))


@lru_cache(maxsize=1)
def _shipped() -> dict[str, TargetProfile]:
    profiles = {}
    for path in sorted(PROFILES_DIR.glob("*.json")):
        profile = read_profile(path)
        if profile.name != path.stem:
            raise ValueError(f"{path}: name {profile.name!r} differs from the file name")
        profiles[profile.name] = profile
    return profiles


def list_profiles() -> list[TargetProfile]:
    """Every shipped profile: host targets first, then GPU, then devices, each group by name."""
    order = {"host": 0, "cuda": 1, "host-stand-in": 2}
    return sorted(_shipped().values(), key=lambda p: (order[p.runs_on], KINDS.index(p.kind), p.name))


def load_profile(name: str | Path) -> TargetProfile:
    """A shipped profile by name, or a profile file by path (``*.json``); ValueError listing the names."""
    if str(name).endswith(".json"):
        return read_profile(name)
    profiles = _shipped()
    if name not in profiles:
        raise ValueError(f"unknown target {name!r}; valid targets: {', '.join(p.name for p in list_profiles())}")
    return profiles[name]


# Device nodes a CUDA (or ROCm/WSL) GPU shows on Linux: without any, skip importing torch (seconds) to say no.
_GPU_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/dxg", "/dev/kfd")


def _cuda() -> tuple[bool, str]:
    if sys.platform == "linux" and not any(os.path.exists(node) for node in _GPU_NODES):
        return False, "not available here: no CUDA device (no GPU device node such as /dev/nvidia0)"
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime

        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            return True, "onnxruntime CUDAExecutionProvider"
    if importlib.util.find_spec("torch") is not None:
        import torch

        if torch.cuda.is_available():
            return True, f"torch CUDA: {torch.cuda.get_device_name(0)}"
    return False, ("not available here: no CUDA device (torch.cuda.is_available() is False and onnxruntime "
                   "has no CUDAExecutionProvider)")


def available(profile: TargetProfile) -> tuple[bool, str]:
    """Whether ``profile`` can be measured on this machine, and why (or why not)."""
    from edgelnn.runtime.backends import BACKENDS

    if profile.runs_on == "cuda":
        return _cuda()
    installed = [b for b in profile.backends if BACKENDS[b].installed()]
    if not installed:
        hints = "; ".join(BACKENDS[b].install for b in profile.backends)
        return False, f"not available here: none of its backends is installed ({hints})"
    if profile.runs_on == "host":
        return True, f"host CPU ({os.cpu_count()} logical CPUs); backends here: {', '.join(installed)}"
    if profile.kind == "mcu":
        return True, ("stand-in: TFLite Micro host build (arena and accuracy as on the device; latency is this "
                      "host's)")
    return True, f"stand-in: runs on this host with its budgets and {profile.threads} threads (latency is this host's)"
