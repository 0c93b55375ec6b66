"""Golden vectors: written by every export (manifest entry, sha256), equal to a PyTorch rollout of the
exported checkpoint; the generated test_main.c passes on the host build and fails on a corrupted value."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from numeric import assert_close

from edgelnn.artifact import sha256_of, validate_manifest
from edgelnn.errors import ArtifactIntegrityError, UnsupportedModelError
from edgelnn.export.golden import read_golden
from edgelnn.firmware_bench.codegen import generate
from edgelnn.firmware_bench.golden_c import (
    INT8_DEFAULT_RTOL,
    INT8_MIN_RTOL,
    TEST_FILE,
    golden_test_c,
    golden_tolerance,
)
from edgelnn.firmware_bench.host import find_compiler


def _manifest(export: Path) -> dict:
    return json.loads((export / "manifest.json").read_text())


def test_export_writes_golden_vectors_with_a_manifest_entry(golden_export):
    manifest = _manifest(golden_export)
    validate_manifest(manifest)
    entry = manifest["golden"]
    assert sha256_of(golden_export / entry["file"]) == entry["sha256"]
    golden = read_golden(golden_export, entry)
    assert entry["sequences"] == golden.sequences == golden.x.shape[0] > 1
    assert entry["steps"] == int(golden.mask.sum())
    assert not golden.mask.all(), "the fixture's sequences have different lengths"


def test_golden_outputs_are_a_pytorch_rollout_of_the_checkpoint(golden_export):
    from edgelnn.export.rollout import rollout, streaming_runner
    from edgelnn.runtime import load

    golden = read_golden(golden_export, _manifest(golden_export)["golden"])
    model = load(golden_export, backend="torch", batch=golden.sequences)
    assert model.backend == "torch"
    again = rollout(streaming_runner(model), golden.x, golden.dt, golden.mask, golden.state_final.shape[1])
    assert_close(golden.y[golden.mask], again.outputs[golden.mask], atol=1e-6, rtol=1e-5)
    assert_close(golden.state_final, again.final_state, atol=1e-6, rtol=1e-5)


def test_changed_golden_file_is_an_integrity_error(golden_export, tmp_path):
    export = Path(shutil.copytree(golden_export, tmp_path / "export"))
    entry = _manifest(export)["golden"]
    with open(export / entry["file"], "ab") as f:
        f.write(b"\0")
    with pytest.raises(ArtifactIntegrityError, match="sha256"):
        read_golden(export, entry)


def _build_and_run(folder: Path, files: dict[str, str]) -> subprocess.CompletedProcess:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    exe = folder / "golden_test"
    sources = [str(folder / n) for n in files if n.endswith(".c")]
    subprocess.run([*find_compiler(), "-O2", "-std=c99", "-o", str(exe), *sources], check=True,
                   capture_output=True, text=True, timeout=300)
    return subprocess.run([str(exe)], check=False, capture_output=True, text=True, timeout=60)


def _test_files(export: Path, golden) -> dict[str, str]:
    manifest = _manifest(export)
    src = generate(export, "fp32")
    atol, rtol = golden_tolerance(manifest)
    test = golden_test_c(src.name, golden, atol, rtol, input_size=src.input_size, state_size=src.state_size,
                         output_size=src.output_size)
    return {**src.files, TEST_FILE: test}


def test_golden_test_passes_on_the_host_build(golden_export, tmp_path):
    golden = read_golden(golden_export)
    proc = _build_and_run(tmp_path / "ok", _test_files(golden_export, golden))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout and "0 of" in proc.stdout


@pytest.mark.parametrize("field", ["y", "state_final"])
def test_golden_test_fails_on_a_corrupted_expected_value(golden_export, tmp_path, field):
    golden = read_golden(golden_export)
    bad = getattr(golden, field).copy()
    if field == "y":
        n, k = np.argwhere(golden.mask)[-1]  # the last real step of the first sequence that has one
        bad[n, k, 0] += 1e-2 + 1e-3 * np.abs(golden.y).max()  # far above atol + rtol * max|ref| (1e-4 + ...)
    else:
        bad[1, 0] -= 1e-2
    corrupted = dataclasses.replace(golden, **{field: bad})
    proc = _build_and_run(tmp_path / field, _test_files(golden_export, corrupted))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL (1 of" in proc.stdout


def test_golden_test_refuses_inconsistent_vectors(golden_export):
    golden = read_golden(golden_export)
    src = generate(golden_export, "fp32")
    with pytest.raises(UnsupportedModelError, match="shape"):
        golden_test_c(src.name, golden, 1e-4, 1e-4, input_size=src.input_size + 1, state_size=src.state_size,
                      output_size=src.output_size)


def test_golden_tolerance_per_precision(golden_export):
    manifest = _manifest(golden_export)  # fp32 artifacts only
    assert golden_tolerance(manifest) == (manifest["verification"]["atol"], manifest["verification"]["rtol"])
    assert golden_tolerance(manifest, "int8") == (manifest["verification"]["atol"], INT8_DEFAULT_RTOL)
    int8 = {"precision": "int8-dynamic", "parity": {"max_abs_error": 0.03, "reference_max_abs": 0.5}}
    with_int8 = {**manifest, "artifacts": [*manifest["artifacts"], int8]}
    assert golden_tolerance(with_int8, "int8")[1] == pytest.approx(2 * 0.03 / 0.5)
    int8["parity"]["max_abs_error"] = 1e-4
    assert golden_tolerance(with_int8, "int8")[1] == INT8_MIN_RTOL
    # A full-integer artifact's larger error does not loosen the bound while an int8-dynamic one exists ...
    full = {"precision": "int8-full", "parity": {"max_abs_error": 0.2, "reference_max_abs": 0.5}}
    with_both = {**manifest, "artifacts": [*manifest["artifacts"], int8, full]}
    assert golden_tolerance(with_both, "int8")[1] == INT8_MIN_RTOL
    # ... and sets it when it is the only int8 artifact.
    only_full = {**manifest, "artifacts": [*manifest["artifacts"], full]}
    assert golden_tolerance(only_full, "int8")[1] == pytest.approx(2 * 0.2 / 0.5)
    with pytest.raises(UnsupportedModelError, match="int4"):
        golden_tolerance(manifest, "int4")
