"""manifest.json: what an export directory holds and how well each artifact matches PyTorch.

The schema (manifest.schema.json beside this file, JSON Schema 2020-12) is versioned by
``schema_version``; readers must check it. Later stages (targets, firmware bench) read only this file and
the artifacts it lists.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from edgelnn.errors import ManifestError
from edgelnn.utils.schema import load_schema, validate_document

SCHEMA_VERSION = 2  # 2: solver.method (was solver.solver); input_ranges, golden, metrics_runtime
SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_schema() -> dict[str, Any]:
    return load_schema(SCHEMA_PATH)


def validate_manifest(manifest: dict[str, Any]) -> None:
    """Raise ValueError naming the first schema violation."""
    validate_document(manifest, manifest_schema(), "manifest", SCHEMA_VERSION)


def read_manifest(export_dir: str | Path) -> dict[str, Any]:
    """Load and validate ``export_dir/manifest.json``."""
    path = Path(export_dir) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{export_dir} is not an export directory (no manifest.json)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path} is not valid JSON ({exc}); re-export to write it again") from exc
    version = manifest.get("schema_version") if isinstance(manifest, dict) else None
    if version != SCHEMA_VERSION:
        raise ManifestError(f"{path} has schema_version {version!r}; this edgelnn reads version {SCHEMA_VERSION}: "
                            f"re-export the model with this edgelnn")
    validate_manifest(manifest)
    return manifest
