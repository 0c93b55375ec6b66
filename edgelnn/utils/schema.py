"""JSON Schema validation of edgelnn's versioned documents (export manifest, bench result)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=8)
def load_schema(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def validate_document(doc: dict[str, Any], schema: dict[str, Any], what: str, version: int) -> None:
    """Raise ValueError naming the first place where ``doc`` breaks ``schema`` (e.g. what="manifest")."""
    import jsonschema

    try:
        jsonschema.validate(doc, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ValueError(f"{what} does not match schema v{version} at {where}: {exc.message}") from None
