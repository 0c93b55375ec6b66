"""A tiny exported CfC with golden vectors (ragged sequences), shared by the golden and bundle tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from firmware_exports import export_tiny_model


@pytest.fixture(scope="session")
def golden_export(tmp_path_factory) -> Path:
    """A tiny CfC (hidden 8, backbone 16) export with golden.npz. Read-only: damage a copy."""
    return export_tiny_model(tmp_path_factory.mktemp("golden-export"), "cfc", backbone_units=16)
