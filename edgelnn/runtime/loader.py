"""load(): pick an artifact of an export directory for a backend and precision, check it, open it.

Order of checks: arguments -> manifest (schema) -> which artifact -> backend installed -> sha256 of the
file against the manifest -> open in the runtime. Each failure has its own exception (edgelnn.errors):
ArtifactNotFoundError, RuntimeMissingError, ArtifactIntegrityError, ArtifactLoadError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgelnn.artifact import Artifact, TensorSpec, read_manifest, sha256_of
from edgelnn.errors import (
    ArtifactIntegrityError,
    ArtifactLoadError,
    ArtifactNotFoundError,
    CompileError,
    RuntimeMissingError,
    UnsupportedModelError,
)
from edgelnn.runtime.backends import AUTO_ORDER, BACKENDS, PRECISIONS, Backend
from edgelnn.runtime.streaming import StreamingModel


def _checkpoint_entry(manifest: dict[str, Any], backend: Backend, precision: str) -> dict[str, Any]:
    """A manifest-like entry for the float checkpoint that every export directory carries, as run by
    ``backend`` at ``precision`` (torch steps it in eager PyTorch; c generates and compiles C from it, with
    int8 weights for int8-dynamic)."""
    ckpt = manifest["torch_checkpoint"]
    return {"name": f"{backend.name}-{precision}", "file": ckpt["file"], "sha256": ckpt["sha256"],
            "format": "safetensors", "precision": precision, "kind": "step", "runtime": backend.name}


def candidates(manifest: dict[str, Any], backend: Backend, precision: str) -> list[dict[str, Any]]:
    """The manifest entries ``backend`` can run at ``precision``, most preferred first."""
    wanted = backend.expand(precision)
    if backend.checkpoint:
        return [_checkpoint_entry(manifest, backend, p) for p in wanted]
    entries = [a for a in manifest["artifacts"] if backend.runs(a)]
    return sorted((a for a in entries if a["precision"] in wanted), key=lambda a: wanted.index(a["precision"]))


def _available(manifest: dict[str, Any]) -> str:
    """What an export directory offers, per backend: "litert: fp32, int8-full; torch: fp32"."""
    parts = []
    for name, backend in BACKENDS.items():
        precisions = [p for p in PRECISIONS if p != "int8" and candidates(manifest, backend, p)]
        if precisions:
            parts.append(f"{name}: {', '.join(precisions)}")
    return "; ".join(parts) or "nothing runnable"


def select(manifest: dict[str, Any], backend: str, precision: str) -> tuple[Backend, dict[str, Any]]:
    """The backend and manifest entry that ``load`` would open."""
    if backend == "auto":
        for name in AUTO_ORDER:
            if BACKENDS[name].installed() and (found := candidates(manifest, BACKENDS[name], precision)):
                return BACKENDS[name], found[0]
        installed = [n for n in AUTO_ORDER if BACKENDS[n].installed()]
        raise ArtifactNotFoundError(f"no installed backend ({', '.join(installed) or 'none'}) has a {precision} "
                                    f"artifact here; available: {_available(manifest)}")
    chosen = BACKENDS[backend]
    chosen.require()
    found = candidates(manifest, chosen, precision)
    if not found:
        raise ArtifactNotFoundError(f"no {precision} artifact for backend {backend!r}; available: "
                                    f"{_available(manifest)}")
    return chosen, found[0]


def check_integrity(export_dir: Path, entry: dict[str, Any]) -> Path:
    """The artifact's path, after checking it is inside ``export_dir``, present, and has the recorded sha256."""
    path = (export_dir / entry["file"]).resolve()
    if path.parent != export_dir.resolve():
        raise ArtifactLoadError(f"{entry['name']}: file {entry['file']!r} is not a file of the export directory")
    if not path.is_file():
        raise ArtifactLoadError(f"{entry['name']}: {entry['file']} is listed in the manifest but missing")
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        raise ArtifactIntegrityError(
            f"{entry['file']}: sha256 {actual[:16]}... differs from the manifest's {entry['sha256'][:16]}...: the "
            f"file changed after export; re-export it (or restore the original)")
    return path


def _spec(d: dict[str, Any]) -> TensorSpec:
    q = d.get("quantization") or {}
    return TensorSpec(name=d["name"], shape=list(d["shape"]), dtype=d["dtype"], scale=q.get("scale"),
                      zero_point=q.get("zero_point"))


def artifact_record(entry: dict[str, Any]) -> Artifact:
    """The Artifact record of a manifest entry (what ``Backend.open`` takes)."""
    return Artifact(name=entry["name"], format=entry["format"], precision=entry["precision"], file=entry["file"],
                    runtime=entry["runtime"], inputs=[_spec(t) for t in entry.get("inputs", [])],
                    outputs=[_spec(t) for t in entry.get("outputs", [])], kind=entry["kind"],
                    settings=dict(entry.get("settings", {})), tool_versions=dict(entry.get("tool_versions", {})))


def open_runner(backend: Backend, path: Path, entry: dict[str, Any], threads: int):
    """Open ``path`` in ``backend``; any failure of the runtime becomes ArtifactLoadError (never a traceback
    from deep inside the runtime)."""
    try:
        return backend.open(path, artifact_record(entry), threads)
    except (RuntimeMissingError, ArtifactLoadError, CompileError, UnsupportedModelError):
        raise  # named errors that say what to do (install, fix the C, pick another backend)
    except ImportError as err:
        raise RuntimeMissingError(f"backend {backend.name!r} failed to import: {err}; {backend.install}") from err
    except Exception as err:
        raise ArtifactLoadError(f"{entry['file']}: {backend.name} cannot load it ({type(err).__name__}: "
                                f"{str(err).strip()[:300]})") from err


def _check_args(backend: str, precision: str, batch: int, threads: int) -> None:
    if backend != "auto" and backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends: auto, {', '.join(BACKENDS)}")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; valid precisions: {', '.join(PRECISIONS)}")
    for name, value in (("batch", batch), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} is not valid; it must be an integer >= 1")


def load(artifact_dir: str | Path, backend: str = "auto", precision: str = "fp32", batch: int = 1,
         threads: int = 1) -> StreamingModel:
    """Open an export directory's artifact as a :class:`StreamingModel`.

    ``backend``: "auto" (litert, then onnxruntime, then torch: the first installed one with an artifact of
    ``precision``), "onnxruntime", "litert", "tflm", "torch" or "c" (C generated from the export's float
    checkpoint, compiled for this host and cached in ``<export>/.edgelnn-c-cache``; fp32). ``precision``: "fp32", "fp16", "int8-dynamic",
    "int8-static", "int8-full", or "int8" (the first of int8-dynamic, int8-static, int8-full the backend has;
    TFLite Micro runs int8-full only). ``batch``: rows stepped together (tflm: 1 only). ``threads``: intra-op
    threads of the runtime (tflm: always 1; torch: process-wide).
    """
    _check_args(backend, precision, batch, threads)
    export_dir = Path(artifact_dir)
    manifest = read_manifest(export_dir)
    chosen, entry = select(manifest, backend, precision)
    if not chosen.batched and batch != 1:
        raise ValueError(f"backend {chosen.name!r} runs batch 1 only (a microcontroller steps one sample at a "
                         f"time); got batch={batch}")
    path = check_integrity(export_dir, entry)
    runner = open_runner(chosen, path, entry, threads)
    return StreamingModel(runner, manifest=manifest, artifact=entry, backend=chosen.name, batch=batch,
                          export_dir=export_dir, threads=threads)
