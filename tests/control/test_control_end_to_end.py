"""Imitation -> ordinary export -> closed loop through the runtime -> report, on a tiny pendulum policy.

One module-scoped policy (BC 2 epochs + 1 DAgger iteration, hidden 8, ONNX fp32 + int8) serves every test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from edgelnn.cli import main
from edgelnn.control.report import control_schema
from edgelnn.errors import PolicyShapeError

ROOT = Path(__file__).resolve().parents[2]
TINY = {"n_train": 4, "n_val": 2, "n_test": 2, "episode_steps": 40}


@pytest.fixture(scope="module")
def policy(tmp_path_factory) -> Path:
    from edgelnn.control.pipeline import train_and_export

    out = tmp_path_factory.mktemp("control") / "pendulum"
    return train_and_export("pendulum", out, model="cfc", hidden_size=8, epochs=2, dagger_iterations=1,
                            dagger_epochs=1, dagger_episodes=2, task_options=TINY)


def test_the_policy_is_an_ordinary_run_and_export(policy):
    imitation = policy.parent / "imitation"
    summary = json.loads((imitation / "imitation.json").read_text())
    run = Path(summary["policy_run"])
    assert run.name == "dagger-1" and (run / "best.safetensors").is_file()
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["task"] == "control-pendulum"
    dagger = Path(config["train"]["task_options"]["dagger_data"])
    with np.load(dagger) as data:  # the learner's 2 episodes, expert-labelled, padded to 40 steps
        assert data["x"].shape[0] == 2 and data["x"].shape[1:] == (40, 3)
    manifest = json.loads((policy / "manifest.json").read_text())
    assert {a["precision"] for a in manifest["artifacts"]} >= {"fp32", "int8-dynamic"}
    assert manifest["task"]["name"] == "control-pendulum"


def test_closed_loop_report_is_valid_json_with_plots(policy, tmp_path):
    from edgelnn.control.pipeline import control_exports

    report = control_exports("pendulum", [(policy, "onnxruntime", "int8")], tmp_path, "nominal,physics-mass-x1.5,drop",
                             episodes=2, steps=30)
    doc = json.loads((tmp_path / "control.json").read_text())
    jsonschema.validate(doc, control_schema())
    rows = doc["policies"][0]["conditions"]
    assert [r["condition"] for r in rows] == ["nominal", "physics-mass-x1.5", "drop"]
    assert all(r["calls"] > 0 and r["latency_us"]["p99"] > 0 for r in rows)
    assert all(r["latency_us"]["n"] == r["calls"] and r["latency_us"]["max"] >= r["latency_us"]["p99"] for r in rows)
    assert rows[2]["calls"] < rows[0]["calls"]  # dropped observations never reach the policy
    assert doc["policies"][0]["precision"].startswith("int8")
    for name in ("returns.png", "trajectories.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "physics-mass-x1.5" in report.text


def test_export_that_does_not_fit_the_plant(policy):
    from edgelnn.control.loop import load_policy

    with pytest.raises(PolicyShapeError, match=r"takes x \[3\] and gives y \[1\].*observations \[4\]"):
        load_policy(policy, "cartpole", "onnxruntime", "fp32")


def test_cli_runs_the_export_and_refuses_bad_input(policy, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["control", "--env", "pendulum", "--export", str(policy), "--episodes", "1",
                              "--steps", "20", "--conditions", "nominal,delay", "--backend", "onnxruntime",
                              "--precision", "fp32", "--out", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert "delay" in ok.output and (tmp_path / "control.json").is_file()
    for args, message in ((["--env", "cartpole", "--export", str(policy)], "does not fit plant cartpole"),
                          (["--env", "pendulum", "--export", str(policy), "--conditions", "wind"],
                           "unknown condition(s) wind"),
                          (["--env", "acrobot", "--export", str(policy)], "unknown plant 'acrobot'")):
        bad = runner.invoke(main, ["control", *args, "--episodes", "1", "--out", str(tmp_path / "x")])
        assert bad.exit_code == 2 and message in bad.output, bad.output
        assert "Traceback" not in bad.output


def test_example_script_runs(policy):
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "control_loop.py"), str(policy), "Pendulum-v1",
                           "20"], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("return ")
    assert len((ROOT / "examples" / "control_loop.py").read_text().splitlines()) < 40


def test_processor_in_the_loop_matches_the_host_c_backend(policy, tmp_path):
    from edgelnn.control.pipeline import control_exports
    from edgelnn.runtime.backends import BACKENDS

    pytest.importorskip("unicorn")
    pytest.importorskip("ziglang")
    if not BACKENDS["c"].installed():
        pytest.skip("no host C compiler")
    report = control_exports("pendulum", [(policy, "c", "fp32")], tmp_path, "nominal", episodes=1, steps=15,
                             target="stm32f4")
    doc = json.loads((tmp_path / "control.json").read_text())
    jsonschema.validate(doc, control_schema())
    pil = doc["policies"][0]["pil"]
    assert pil["target"] == "stm32f4" and pil["steps"] == 15 and pil["instructions_mean"] > 1000
    assert pil["cycles_mean"] > 0 and pil["fits_100hz"] == (pil["step_us_max"] < 10_000)
    # same C source on the emulated M4 and on the host: the closed-loop returns agree
    assert pil["host_c_return_max_abs_diff"] <= 1e-6 + 1e-5 * pil["host_c_return_max_abs"]
    assert "processor in the loop, stm32f4" in report.text
