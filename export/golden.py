"""Golden vectors: inputs, dt and the PyTorch outputs of a free-running rollout, shipped beside the model.

A firmware build replays them (ExecuTorch's ``bundled_program`` idea): the generated ``test_main.c`` steps
each sequence from the zero state and checks every real step's outputs against the recorded ones within
the tolerance the manifest states. The file is ``golden.npz`` (plain float32/bool arrays, no pickle):

    x [N,T,F]  dt [N,T]  mask [N,T]  y [N,T,O]  state_final [N,S]

recorded with :func:`edgelnn.export.rollout.rollout` (the rollout verification uses), from the first
``sequences`` sequences of the test split (state held where a sequence has ended).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.artifact import sha256_of
from edgelnn.export.rollout import rollout, torch_runner
from edgelnn.utils.atomic import atomic_write

GOLDEN_FILE = "golden.npz"
GOLDEN_KEYS = ("x", "dt", "mask", "y", "state_final")
DEFAULT_SEQUENCES = 4


@dataclass(frozen=True)
class GoldenVectors:
    """The arrays of golden.npz (see the module docstring for shapes)."""

    x: np.ndarray
    dt: np.ndarray
    mask: np.ndarray
    y: np.ndarray
    state_final: np.ndarray

    @property
    def sequences(self) -> int:
        return int(self.x.shape[0])

    @property
    def steps(self) -> int:
        return int(self.mask.sum())


def record_golden(model: Any, split: Any, sequences: int = DEFAULT_SEQUENCES) -> GoldenVectors:
    """Free-running PyTorch rollout of the first ``sequences`` sequences of ``split``."""
    n = min(sequences, len(split))
    x = np.ascontiguousarray(split.x[:n], np.float32)
    dt = np.ascontiguousarray(split.t[:n], np.float32)
    mask = np.ascontiguousarray(split.mask[:n], bool)
    got = rollout(torch_runner(model), x, dt, mask, model.state_size)
    return GoldenVectors(x=x, dt=dt, mask=mask, y=got.outputs.astype(np.float32),
                         state_final=got.final_state.astype(np.float32))


def write_golden(golden: GoldenVectors, out_dir: Path) -> dict[str, Any]:
    """Write golden.npz into ``out_dir`` atomically; its manifest entry (file, sha256, sizes)."""
    path = Path(out_dir) / GOLDEN_FILE

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **{key: getattr(golden, key) for key in GOLDEN_KEYS})

    atomic_write(path, write, ".npz")
    return {"file": GOLDEN_FILE, "sha256": sha256_of(path), "sequences": golden.sequences,
            "steps": golden.steps, "split": "test", "source": "pytorch float32, free-running rollout"}


def read_golden(export_dir: str | Path, entry: dict[str, Any] | None = None) -> GoldenVectors:
    """Load golden.npz of an export directory (checking its sha256 against ``entry`` when given)."""
    from edgelnn.errors import ArtifactIntegrityError, ArtifactLoadError

    path = Path(export_dir) / (entry or {}).get("file", GOLDEN_FILE)
    if not path.is_file():
        raise ArtifactLoadError(f"{export_dir} has no golden vectors ({path.name}); re-export it with this "
                                f"edgelnn version")
    if entry is not None and sha256_of(path) != entry["sha256"]:
        raise ArtifactIntegrityError(f"{path.name}: sha256 differs from the manifest's: the file changed "
                                     f"after export")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: np.asarray(data[key]) for key in GOLDEN_KEYS}
    except (OSError, ValueError, KeyError) as exc:
        raise ArtifactLoadError(f"{path}: not a golden-vector file ({exc})") from None
    return GoldenVectors(**arrays)
