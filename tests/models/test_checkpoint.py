"""Checkpoints: safetensors + config metadata, exact round trips, clear errors, atomic writes, no pickle."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from edgelnn.errors import CheckpointError
from edgelnn.models import checkpoint as checkpoint_module
from edgelnn.models import load_checkpoint, read_checkpoint, save_checkpoint

from .helpers import VARIANTS, build, sequence


@pytest.fixture
def saved(tmp_path):
    """A valid LTC checkpoint, its model, and its raw tensors and metadata."""
    model = build("ltc-wired-mixed", seed=3)
    path = save_checkpoint(model, tmp_path / "model.safetensors")
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is no dict)
        meta = f.metadata()
    return model, path, tensors, meta


@pytest.mark.parametrize("label", list(VARIANTS))
def test_round_trip_gives_identical_outputs(tmp_path, label):
    model = build(label, seed=5)
    path = save_checkpoint(model, tmp_path / "sub" / "dir" / f"{label}.safetensors")  # parents are created
    assert path.is_file()
    torch.manual_seed(99)  # loading must not depend on the random init
    loaded = load_checkpoint(path)
    assert type(loaded) is type(model) and loaded.config == model.config
    assert not loaded.training
    assert loaded.state_dict().keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    x, ts = sequence(2, 10)
    with torch.no_grad():
        y, s = model.run(x, ts)
        y2, s2 = loaded.run(x, ts)
    assert torch.equal(y, y2) and torch.equal(s, s2)


def test_read_checkpoint_returns_config_tensors_and_metadata(tmp_path):
    model = build("cfc-default")
    path = save_checkpoint(model, tmp_path / "m.safetensors",
                           metadata={"task": "walker2d", "metrics": {"mse": 0.5}, "epoch": 3})
    config, tensors, meta = read_checkpoint(path)
    assert config == model.config
    assert tensors.keys() == model.state_dict().keys()
    assert meta["format"] == "edgelnn-checkpoint" and meta["format_version"] == "1"
    assert json.loads(meta["config"]) == model.config.to_dict()
    assert meta["task"] == "walker2d"
    assert json.loads(meta["metrics"]) == {"mse": 0.5} and json.loads(meta["epoch"]) == 3


@pytest.mark.parametrize("key", ["format", "format_version", "config"])
def test_metadata_cannot_overwrite_reserved_keys(tmp_path, key):
    with pytest.raises(ValueError, match=f"metadata key '{key}' is reserved"):
        save_checkpoint(build("gru"), tmp_path / "m.safetensors", metadata={key: "x"})
    assert list(tmp_path.iterdir()) == []


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    first, second = build("gru", seed=1), build("gru", seed=2)
    path = tmp_path / "m.safetensors"
    save_checkpoint(first, path)
    save_checkpoint(second, path)  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    assert torch.equal(load_checkpoint(path).cell.weight_ih, second.cell.weight_ih)


def test_failed_save_keeps_the_old_file_and_removes_the_temp_file(tmp_path, monkeypatch):
    old = build("gru", seed=1)
    path = save_checkpoint(old, tmp_path / "m.safetensors")
    before = path.read_bytes()

    def crash(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(build("gru", seed=2), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"checkpoint .*nothing\.safetensors does not exist"):
        load_checkpoint(tmp_path / "nothing.safetensors")
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path)  # a directory is not a checkpoint file


@pytest.mark.parametrize("keep", [0, 5, 8, 100, -1], ids=["empty", "5-bytes", "8-bytes", "100-bytes", "minus-1"])
def test_truncated_file(saved, keep):
    _, path, _, _ = saved
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    with pytest.raises(CheckpointError, match=r"is unreadable \(truncated or not a safetensors file\)"):
        load_checkpoint(path)


def test_not_a_safetensors_file(tmp_path):
    path = tmp_path / "notes.safetensors"
    path.write_text("this is a text file, not a checkpoint\n" * 10)
    with pytest.raises(CheckpointError, match=r"is unreadable \(truncated or not a safetensors file\)"):
        load_checkpoint(path)


def test_safetensors_without_edgelnn_metadata(saved, tmp_path):
    _, _, tensors, meta = saved
    path = tmp_path / "foreign.safetensors"
    save_file(tensors, str(path))
    with pytest.raises(CheckpointError, match=r"is not an edgelnn checkpoint \(metadata format=None\)"):
        load_checkpoint(path)
    save_file(tensors, str(path), metadata={**meta, "format_version": "7"})
    with pytest.raises(CheckpointError, match="format_version='7'; this edgelnn reads 1"):
        load_checkpoint(path)
    save_file(tensors, str(path), metadata={**meta, "config": '{"kind": "ltc", "input_size": 3}'})
    with pytest.raises(CheckpointError, match="has an invalid model config"):
        load_checkpoint(path)
    save_file(tensors, str(path), metadata={**meta, "config": json.dumps({**json.loads(meta["config"]),
                                                                           "solver": "dopri5"})})
    with pytest.raises(CheckpointError, match="invalid model config: solver='dopri5' is not valid"):
        load_checkpoint(path)
    corrupt = [
        '{"kind": "ltc", "input_size": 3}',
        "[3, 8]",
        '{"kind": "ltc", "input_size": 3, "hidden_size": 8, "wiring": 5}',
        '{"kind": "cfc", "input_size": 3, "hidden_size": 8, "backbone_dropout": null}',
        "{",
    ]
    for bad in corrupt:
        save_file(tensors, str(path), metadata={**meta, "config": bad})
        with pytest.raises(CheckpointError, match="has an invalid model config"):
            read_checkpoint(path)


def test_missing_tensor(saved, tmp_path):
    _, _, tensors, meta = saved
    del tensors["sensory_w"]
    path = tmp_path / "missing.safetensors"
    save_file(tensors, str(path), metadata=meta)
    read_checkpoint(path)  # readable: the problem shows when the model is built
    with pytest.raises(CheckpointError, match=r"is missing tensor\(s\): sensory_w$"):
        load_checkpoint(path)


def test_extra_tensor(saved, tmp_path):
    _, _, tensors, meta = saved
    tensors["head.weight"] = torch.zeros(2, 2)
    path = tmp_path / "extra.safetensors"
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(CheckpointError, match=r"has unexpected tensor\(s\): head\.weight$"):
        load_checkpoint(path)


def test_wrong_shaped_tensor(saved, tmp_path):
    _, _, tensors, meta = saved
    tensors["w"] = torch.zeros(3, 3)
    path = tmp_path / "shape.safetensors"
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(CheckpointError, match=r"tensor\(s\) of the wrong shape: w \(3, 3\) \(expected \(8, 8\)\)"):
        load_checkpoint(path)


def test_checkpoint_of_another_config_does_not_load_silently(saved, tmp_path):
    """Weights of an unwired model under a wired config: the shapes give it away."""
    _, _, _, meta = saved
    other = build("ltc-fused")
    path = tmp_path / "mixed-up.safetensors"
    save_file({k: v.contiguous() for k, v in other.state_dict().items()}, str(path), metadata=meta)
    with pytest.raises(CheckpointError, match="missing tensor|unexpected tensor|wrong shape"):
        load_checkpoint(path)


class _Payload:
    """Unpickling this object would create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_loading_never_unpickles(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    model = build("gru")
    torch.save({"state": model.state_dict(), "payload": _Payload(marker)}, tmp_path / "pickled.pt")
    torch.save(model.state_dict(), tmp_path / "plain.pt")
    good = save_checkpoint(model, tmp_path / "good.safetensors")

    def no_pickle(*args, **kwargs):
        raise AssertionError("checkpoint loading must not unpickle")

    monkeypatch.setattr(torch, "load", no_pickle)
    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "loads", no_pickle)
    monkeypatch.setattr(pickle, "Unpickler", no_pickle)
    for name in ("pickled.pt", "plain.pt"):
        with pytest.raises(CheckpointError, match="unreadable"):
            load_checkpoint(tmp_path / name)
    assert not marker.exists()
    loaded = load_checkpoint(good)  # a real checkpoint loads with pickle unavailable
    assert torch.equal(loaded.cell.weight_hh, model.cell.weight_hh)
    assert not marker.exists()
    assert sorted(os.listdir(tmp_path)) == ["good.safetensors", "pickled.pt", "plain.pt"]
