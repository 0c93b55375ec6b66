"""manifest.json: what an export directory holds and how well each artifact matches PyTorch.

The schema (manifest.schema.json beside this file, JSON Schema 2020-12) is versioned by
``schema_version``; readers must check it. Later stages (targets, firmware bench) read only this file and
the artifacts it lists.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def manifest_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def validate_manifest(manifest: dict[str, Any]) -> None:
    """Raise ValueError naming the first schema violation."""
    import jsonschema

    try:
        jsonschema.validate(manifest, manifest_schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ValueError(f"manifest does not match schema v{SCHEMA_VERSION} at {where}: {exc.message}") from None


def read_manifest(export_dir: str | Path) -> dict[str, Any]:
    """Load and validate ``export_dir/manifest.json``."""
    path = Path(export_dir) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{export_dir} is not an export directory (no manifest.json)")
    manifest = json.loads(path.read_text())
    validate_manifest(manifest)
    return manifest
