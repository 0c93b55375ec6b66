"""Export faults with real processes: two exports into one --out, an export killed with kill -9, a directory
appearing at --out during an export. One writer per output directory; nothing half-written survives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgelnn.artifact import sha256_of
from edgelnn.export import ExportConfig, export_model, read_manifest, resolve_source
from edgelnn.export import pipeline as pipeline_module
from edgelnn.training import TrainConfig, train
from edgelnn.utils.locking import exclusive_lock, lock_path_beside

TINY = {"n_train": 32, "n_val": 8, "n_test": 8}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    cfg = TrainConfig(model="cfc", task="sine", hidden_size=8, epochs=1, batch_size=16, patience=0,
                      task_options=TINY)
    return train(cfg, tmp_path_factory.mktemp("runs") / "cfc", progress=False).run_dir


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "EDGELNN_CACHE": str(tmp / "cache"), "OMP_NUM_THREADS": "1"}


def _export_cmd(run: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "edgelnn", "export", "--run", str(run), "--formats", "onnx",
            "--out", str(out), "--quiet", *extra]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if "edgelnn-export" in p.name or p.name.endswith(".lock")
                  or ".tmp-" in p.name or ".old-" in p.name)


def _assert_complete(out: Path) -> dict:
    manifest = read_manifest(out)  # validates against the schema
    assert [a["name"] for a in manifest["artifacts"]] == ["onnx-fp32"]
    for art in manifest["artifacts"]:
        assert sha256_of(out / art["file"]) == art["sha256"]
    assert sha256_of(out / manifest["torch_checkpoint"]["file"]) == manifest["torch_checkpoint"]["sha256"]
    listed = {a["file"] for a in manifest["artifacts"]}
    listed |= {manifest["torch_checkpoint"]["file"], "manifest.json"}
    names = {p.name for p in out.iterdir()}
    assert listed <= names and not [n for n in names if n.startswith(("tmp-", "."))], names
    return manifest


def test_export_into_a_locked_output_is_refused_with_one_line(run, tmp_path):
    out = tmp_path / "out"
    with exclusive_lock(lock_path_beside(out)):  # as a running export holds it
        proc = subprocess.run(_export_cmd(run, out), cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                              text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = _error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    assert lines[0] == f"error: output directory {out} is in use by process {os.getpid()}"
    assert not out.exists() and _leftovers(tmp_path) == []


def test_two_concurrent_exports_into_one_output(run, tmp_path):
    out = tmp_path / "out"
    procs = [subprocess.Popen(_export_cmd(run, out), cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.pid, *p.communicate(timeout=300), p.returncode) for p in procs]
    codes = sorted(code for *_, code in results)
    assert codes == [0, 2], results
    (winner, *_), (_, _, err, _) = sorted(results, key=lambda r: r[3])
    lines = _error_lines(err)
    assert len(lines) == 1, err
    # Refused while the other held the lock, or (if the other had already finished) because --out exists.
    assert (lines[0] == f"error: output directory {out} is in use by process {winner}"
            or lines[0] == f"error: output directory {out} exists; pass --force to replace it"), lines
    _assert_complete(out)
    assert _leftovers(tmp_path) == []


def test_export_killed_mid_way_is_cleaned_by_the_next(run, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(_export_cmd(run, out), cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    prefix = f".out.edgelnn-export-staging-pid{proc.pid}-"
    deadline = time.monotonic() + 120
    try:
        while not any(p.name.startswith(prefix) for p in tmp_path.iterdir()):
            assert proc.poll() is None, "the export finished before its staging directory was seen"
            assert time.monotonic() < deadline, "no staging directory appeared"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert any(name.startswith(prefix) for name in _leftovers(tmp_path))  # what kill -9 leaves
    assert not out.exists()
    export_model(resolve_source(run=run), ExportConfig(formats=("onnx",)), out)
    _assert_complete(out)
    assert _leftovers(tmp_path) == []


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    return int(proc.stdout)


def test_replaced_export_of_a_killed_export_is_put_back(run, tmp_path):
    # kill -9 between renaming the old export aside and renaming the new one into place
    out = tmp_path / "out"
    aside = tmp_path / f".out.edgelnn-export-replaced-pid{_dead_pid()}-0a1b2c3d"
    aside.mkdir()
    (aside / "manifest.json").write_text("{}")
    with pytest.raises(FileExistsError, match="exists; pass --force"):
        export_model(resolve_source(run=run), ExportConfig(formats=("onnx",)), out)
    assert (out / "manifest.json").read_text() == "{}" and not aside.exists()


def test_a_directory_appearing_during_the_export_is_never_removed_without_force(run, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = pipeline_module.validate_manifest

    def someone_creates_out(manifest):
        out.mkdir()
        (out / "mine.txt").write_text("not an export")
        return real(manifest)

    monkeypatch.setattr(pipeline_module, "validate_manifest", someone_creates_out)
    with pytest.raises(FileExistsError, match="appeared during the export; pass --force"):
        export_model(resolve_source(run=run), ExportConfig(formats=("onnx",)), out)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    assert _leftovers(tmp_path) == []
    monkeypatch.undo()
    export_model(resolve_source(run=run), ExportConfig(formats=("onnx",)), out, force=True)
    _assert_complete(out)
    assert _leftovers(tmp_path) == []
