"""Time-aware LSTM/GRU (``time_input``): dt reaches the cell as an extra feature, the step signature stays
(x, state, dt), the option is listed and round-trips, and the ordinary export (ONNX, TFLite) verifies it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from numeric import ATOL, RTOL_OP, assert_close

from edgelnn.cli import main
from edgelnn.export import ExportConfig, export_model
from edgelnn.export.source import Source
from edgelnn.models import build_model, config_from_json, make_config
from edgelnn.tasks import load_task

F, H = 3, 8
TINY_SINE = {"n_train": 16, "n_val": 8, "n_test": 8, "seq_len": 10}


def _model(kind: str, time_input: bool):
    torch.manual_seed(0)
    return build_model(make_config(kind, F, H, proj_size=2, time_input=time_input)).eval()


def _step_with_dt(model, dt_value: float) -> torch.Tensor:
    torch.manual_seed(1)
    x, state = torch.randn(4, F), torch.randn(4, model.state_size) * 0.1
    with torch.no_grad():
        y, new_state = model.step(x, state, torch.full((4, 1), dt_value))
    return torch.cat([y, new_state], dim=1)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_time_input_makes_the_step_depend_on_dt(kind):
    model = _model(kind, time_input=True)
    short, long = _step_with_dt(model, 0.1), _step_with_dt(model, 3.0)
    assert (short - long).abs().max() > 1e-3  # dt is an input: different elapsed time, different step
    assert model.cell.weight_ih.shape[1] == F + 1


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_without_time_input_dt_is_ignored(kind):
    model = _model(kind, time_input=False)
    assert torch.equal(_step_with_dt(model, 0.1), _step_with_dt(model, 3.0))  # exact: dt is never read
    assert model.cell.weight_ih.shape[1] == F


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_time_input_step_is_the_cell_on_x_and_dt(kind):
    """The extra feature is dt itself (not its log), appended after x."""
    model = _model(kind, time_input=True)
    torch.manual_seed(2)
    x, dt = torch.randn(3, F), torch.rand(3, 1) + 0.1
    state = model.init_state(3)
    with torch.no_grad():
        y, _ = model.step(x, state, dt)
        h = state[:, :H]
        cell_out = model.cell(torch.cat([x, dt], dim=1), (h, state[:, H:]) if kind == "lstm" else h)
        want = model.proj(cell_out[0] if kind == "lstm" else cell_out)
    assert_close(y, want, atol=ATOL, rtol=RTOL_OP, what=f"{kind} time_input step")


def test_time_input_round_trips_and_is_validated():
    config = make_config("gru", F, H, time_input=True)
    assert config_from_json(config.to_json()) == config
    assert make_config("lstm", F, H).time_input is False
    with pytest.raises(ValueError, match="time_input"):
        make_config("lstm", F, H, time_input="yes")


def test_models_options_lists_time_input():
    result = CliRunner().invoke(main, ["models", "--options", "--input-size", "3", "--hidden", "8"])
    assert result.exit_code == 0, result.output
    lstm_part = result.output.split("lstm options:")[1].split("gru options:")[0]
    assert "time_input = False" in lstm_part
    assert "time_input = False" in result.output.split("gru options:")[1]
    assert "lstm time_input" in result.output  # a size-table row: one more input weight column


def _export(kind: str, formats: tuple[str, ...], tmp_path):
    task = load_task("sine", seed=0, **TINY_SINE)
    torch.manual_seed(0)
    model = build_model(make_config(kind, task.input_size, H, proj_size=task.output_size, time_input=True))
    checkpoint = tmp_path / "model.safetensors"
    from edgelnn.models import save_checkpoint

    save_checkpoint(model, checkpoint, {"task": "sine"})
    return export_model(Source(model, checkpoint, None, task), ExportConfig(formats=formats, int8=True),
                        tmp_path / "export")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_onnx_export_of_time_input_verifies_and_reads_dt(kind, tmp_path):
    result = _export(kind, ("onnx",), tmp_path)
    fp32 = next(a for a in result.manifest["artifacts"] if a["name"] == "onnx-fp32")
    assert fp32["status"] == "passed"  # fp32 rollouts on the irregular sine split matched PyTorch
    assert result.manifest["model"]["time_input"] is True
    assert [t["name"] for t in result.manifest["signature"]["inputs"]] == ["x", "state", "dt"]
    from edgelnn.runtime import load

    streaming = load(result.out_dir, backend="onnxruntime", precision="fp32")
    x = np.ones(1, np.float32)
    outs = []
    for dt in (0.1, 0.6):  # inside the range the export declares valid for sine's dt
        streaming.reset()
        outs.append(streaming.step(x, dt=dt))
    assert np.abs(outs[0] - outs[1]).max() > 1e-4  # the artifact reads dt


def test_tflite_export_of_time_input_verifies(tmp_path):
    pytest.importorskip("litert_torch")
    result = _export("lstm", ("tflite",), tmp_path)
    by_name = {a["name"]: a for a in result.manifest["artifacts"]}
    assert by_name["tflite-fp32"]["status"] == "passed"
    assert {"tflite-int8-dynamic", "tflite-int8-full"} <= set(by_name)
