"""Files and directories edgelnn writes get the umask's ordinary modes (0644 / 0755 under umask 022), not
tempfile's private 0600 / 0700, so a run or an export can be handed to another user (a robot's service
account); a stricter umask (077) is respected too."""

from __future__ import annotations

import builtins
import os
import stat
from pathlib import Path

import pytest

from edgelnn.export import ExportConfig, export_model, resolve_source
from edgelnn.training import TrainConfig, train
from edgelnn.utils import atomic
from edgelnn.utils.atomic import atomic_write, current_umask, make_temp_dir, write_json_atomic

MODES = {0o022: (0o644, 0o755), 0o077: (0o600, 0o700), 0o002: (0o664, 0o775)}


@pytest.fixture(params=sorted(MODES), ids=lambda m: f"umask{m:03o}")
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_current_umask_reads_without_changing_it(umask):
    assert current_umask() == umask
    assert current_umask() == umask


def test_current_umask_falls_back_when_proc_is_missing(umask, monkeypatch):
    real_open = builtins.open

    def no_proc(file, *args, **kwargs):
        if str(file).startswith("/proc/"):
            raise FileNotFoundError(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    assert atomic.current_umask() == umask
    monkeypatch.undo()
    assert current_umask() == umask  # the fallback restored it


def test_atomic_write_and_temp_dir_modes(umask, tmp_path):
    file_mode, dir_mode = MODES[umask]
    path = write_json_atomic(tmp_path / "a.json", {"x": 1})
    assert _mode(path) == file_mode
    raw = atomic_write(tmp_path / "b.bin", lambda tmp: Path(tmp).write_bytes(b"1"), ".bin")
    assert _mode(raw) == file_mode
    assert _mode(make_temp_dir(".x-", tmp_path)) == dir_mode
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("tmp-")) == []


@pytest.mark.parametrize("mask", [0o022, 0o077], ids=["umask022", "umask077"])
def test_run_and_export_modes(mask, tmp_path):
    file_mode, dir_mode = MODES[mask]
    old = os.umask(mask)
    try:
        cfg = TrainConfig(model="cfc", task="sine", hidden_size=8, epochs=1, batch_size=16, patience=0,
                          task_options={"n_train": 32, "n_val": 8, "n_test": 8})
        run = train(cfg, tmp_path / "runs" / "run", progress=False).run_dir
        out = tmp_path / "artifacts" / "cfc"
        export_model(resolve_source(run=run), ExportConfig(formats=("onnx",)), out)
    finally:
        os.umask(old)
    for root in (run, out):
        assert _mode(root) == dir_mode, root
        files = [p for p in root.rglob("*")]
        assert files and all(p.is_file() for p in files)
        assert {p.name: oct(_mode(p)) for p in files} == {p.name: oct(file_mode) for p in files}
