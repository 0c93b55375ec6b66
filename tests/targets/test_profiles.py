"""Target profiles: every shipped data file loads with the documented fields and real budgets; bad files and
unknown names are clear errors; `edgelnn targets` lists them with their availability here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgelnn.commands.targets import targets
from edgelnn.runtime import BACKENDS
from edgelnn.targets.profile import (
    FIELDS,
    PROFILES_DIR,
    TargetProfile,
    available,
    list_profiles,
    load_profile,
    read_profile,
)

EXPECTED = {"cpu", "cpu-all", "gpu", "rpi4", "stm32f4", "stm32h7", "nrf52840", "rp2040"}
KIB, MIB = 1024, 1024 * 1024
# name -> (kind, clock MHz, RAM budget, flash budget): datasheet numbers (see each file's notes).
BUDGETS = {
    "stm32f4": ("mcu", 180, 128 * KIB, 512 * KIB),
    "stm32h7": ("mcu", 480, 512 * KIB, 2 * MIB),
    "nrf52840": ("mcu", 64, 256 * KIB, 1 * MIB),
    "rp2040": ("mcu", 133, 264 * KIB, 2 * MIB),
    "rpi4": ("cpu", 1500, 64 * MIB, None),
}


def test_every_profile_loads_with_the_documented_fields():
    profiles = {p.name: p for p in list_profiles()}
    assert set(profiles) == EXPECTED
    assert {p.stem for p in PROFILES_DIR.glob("*.json")} == EXPECTED
    for name, profile in profiles.items():
        assert isinstance(profile, TargetProfile)
        raw = json.loads((PROFILES_DIR / f"{name}.json").read_text())
        assert set(raw) == set(FIELDS)  # every field written out, null where it does not apply
        assert profile.kind in ("cpu", "gpu", "mcu") and profile.description and profile.notes
        assert profile.backends and all(b in BACKENDS for b in profile.backends)
        assert profile.threads_here >= 1
        assert set(profile.to_dict()) == set(FIELDS)
        assert load_profile(name) == profile


@pytest.mark.parametrize("name", sorted(BUDGETS))
def test_device_budgets_are_the_datasheet_numbers(name):
    profile = load_profile(name)
    assert (profile.kind, profile.clock_mhz, profile.ram_bytes, profile.flash_bytes) == BUDGETS[name]
    assert profile.part and profile.runs_on == "host-stand-in"
    if profile.kind == "mcu":
        assert profile.backends == ("tflm",) and profile.threads == 1


def test_host_profiles():
    cpu, cpu_all, gpu = load_profile("cpu"), load_profile("cpu-all"), load_profile("gpu")
    assert cpu.threads == 1 and cpu_all.threads is None and cpu_all.threads_here >= 1
    assert cpu.ram_bytes is None and cpu.flash_bytes is None
    assert gpu.kind == "gpu" and gpu.runs_on == "cuda" and set(gpu.backends) <= {"onnxruntime", "torch"}
    assert available(cpu)[0] is True


def test_gpu_availability_says_why():
    import torch

    ok, why = available(load_profile("gpu"))
    if not torch.cuda.is_available():
        import onnxruntime

        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            assert ok is False and why.startswith("not available here")
    assert why


def test_mcu_availability_follows_tflm(monkeypatch):
    import dataclasses

    ok, why = available(load_profile("stm32f4"))
    assert ok == BACKENDS["tflm"].installed() and why
    monkeypatch.setitem(BACKENDS, "tflm", dataclasses.replace(BACKENDS["tflm"], module="edgelnn_test_absent"))
    ok, why = available(load_profile("stm32f4"))
    assert ok is False and "edgelnn[mcu]" in why


def test_unknown_profile_lists_the_names():
    with pytest.raises(ValueError, match="unknown target 'esp32'.*stm32f4"):
        load_profile("esp32")


def _write(tmp_path: Path, **changes) -> Path:
    data = {**json.loads((PROFILES_DIR / "stm32f4.json").read_text()), **changes}
    path = tmp_path / "custom.json"
    path.write_text(json.dumps({k: v for k, v in data.items() if v is not ...}))
    return path


def test_custom_profile_file_and_its_errors(tmp_path):
    assert load_profile(_write(tmp_path, name="custom")).name == "custom"
    with pytest.raises(ValueError, match="missing fields \\['ram_bytes'\\]"):
        read_profile(_write(tmp_path, ram_bytes=...))
    with pytest.raises(ValueError, match="unknown fields \\['sram'\\]"):
        read_profile(_write(tmp_path, sram=1))
    with pytest.raises(ValueError, match="ram_bytes='128K' should be int"):
        read_profile(_write(tmp_path, ram_bytes="128K"))
    with pytest.raises(ValueError, match="kind='dsp'"):
        read_profile(_write(tmp_path, kind="dsp"))
    with pytest.raises(ValueError, match="backends"):
        read_profile(_write(tmp_path, backends=["tensorrt"]))
    with pytest.raises(ValueError, match="must be > 0"):
        read_profile(_write(tmp_path, flash_bytes=0))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_profile(tmp_path / "bad.json")


def test_targets_command_lists_every_profile():
    result = CliRunner().invoke(targets, [])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["target", "kind", "backends"] and "available" in lines[0]
    for name in EXPECTED:
        assert any(line.split()[0] == name for line in lines[2:])
    assert "128 KiB" in result.output and "512 KiB" in result.output and "180 MHz" in result.output
    as_json = json.loads(CliRunner().invoke(targets, ["--json"]).output)
    assert {p["name"] for p in as_json} == EXPECTED
    assert all(isinstance(p["available"], bool) and p["availability"] for p in as_json)
