"""Fault battery through the CLI: every bad input exits 2 with exactly one line `error: ...` on stderr that
names the offending option or file, never a traceback; silently ignored options are errors naming both
values; eval --data; bench's exit code when every row fails; the CLI starts without importing torch.

The commands run in-process through click's CliRunner (standalone mode: the same exit codes as the real
`edgelnn`, whose _Group.invoke calls sys.exit); the cases where the process boundary matters (a planted
pickle, startup imports) run `python -m edgelnn` in a subprocess.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from edgelnn.cli import main
from edgelnn.models import load_checkpoint
from edgelnn.targets.profile import _GPU_NODES
from edgelnn.tasks import compute_metric

TINY = ["--task", "sine", "--task-option", "n_train=32", "--task-option", "n_val=8", "--task-option", "n_test=8",
        "--epochs", "1", "--quiet"]
TINY_EXPORT = ["--formats", "onnx"]


def cli(*args: str, env: dict[str, str] | None = None):
    """Run the CLI in-process; stdout and stderr apart."""
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def assert_one_error_line(result, *names: str, code: int = 2) -> str:
    """Exit ``code``, exactly one non-empty stderr line starting with "error:", naming each of ``names``."""
    assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    assert "internal error" not in lines[0]
    for name in names:
        assert str(name) in lines[0], (name, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> SimpleNamespace:
    """A CfC sine run (hidden 8), an LTC sine run (hidden 16), the CfC run exported to ONNX, a regular file."""
    root = tmp_path_factory.mktemp("bad-input")
    cfc, ltc, export = root / "cfc", root / "ltc16", root / "export"
    assert cli("train", *TINY, "--hidden", "8", "--out", cfc).exit_code == 0
    assert cli("train", *TINY, "--model", "ltc", "--hidden", "16", "--ode-unfolds", "1", "--out", ltc).exit_code == 0
    assert cli("export", "--run", cfc, *TINY_EXPORT, "--out", export).exit_code == 0
    regular = root / "regular-file"
    regular.write_text("not a folder")
    return SimpleNamespace(root=root, cfc=cfc, ltc=ltc, export=export, file=regular)


def _truncated_state_run(b, tmp: Path) -> Path:
    run = tmp / "truncated"
    shutil.copytree(b.cfc, run)
    data = (run / "train_state.pt").read_bytes()
    (run / "train_state.pt").write_bytes(data[: len(data) // 3])
    return run


def _broken_manifest_export(b, tmp: Path) -> Path:
    export = tmp / "broken-export"
    shutil.copytree(b.export, export)
    (export / "manifest.json").write_text('{"schema_version": 1, "artifacts": [')
    return export


def _wrong_features_npz(b, tmp: Path) -> Path:
    path = tmp / "three-features.npz"
    np.savez(path, x=np.zeros((4, 6, 3), np.float32), y=np.zeros((4, 6, 1), np.float32))
    return path


def _labels_npz(b, tmp: Path) -> Path:
    path = tmp / "labels.npz"
    np.savez(path, x=np.zeros((4, 6, 1), np.float32), y=np.array([0, 1, 0, 1]))
    return path


LONG_NAME = "n" * 300

# (id, args from (built, tmp_path), what the one error line must name: a list, or one from (built, tmp_path))
BAD_INPUTS = [
    ("task-option-not-int", lambda b, t: ["train", *TINY, "--task-option", "n_train=abc", "--out", t / "r"],
     ["n_train", "abc"]),
    ("task-option-negative", lambda b, t: ["train", *TINY, "--task-option", "n_train=-5", "--out", t / "r"],
     ["n_train", "-5"]),
    ("task-option-bool", lambda b, t: ["train", *TINY, "--task-option", "n_val=true", "--out", t / "r"],
     ["n_val"]),
    ("task-option-fraction", lambda b, t: ["train", *TINY, "--task-option", "drop_rate=1.5", "--out", t / "r"],
     ["drop_rate"]),
    ("train-out-under-a-file", lambda b, t: ["train", *TINY, "--out", b.file / "run"], lambda b, t: ["--out", b.file]),
    ("train-out-name-too-long", lambda b, t: ["train", *TINY, "--out", t / LONG_NAME], [LONG_NAME]),
    ("resume-truncated-train-state", lambda b, t: ["train", *TINY, "--hidden", "8", "--epochs", "2", "--resume",
                                                   "--out", _truncated_state_run(b, t)],
     ["train_state.pt", "not a train state file"]),
    ("manifest-not-json", lambda b, t: ["bench", _broken_manifest_export(b, t), "--backend", "onnxruntime"],
     ["manifest.json", "not valid JSON"]),
    ("export-model-vs-checkpoint", lambda b, t: ["export", "--model", "cfc", "--checkpoint",
                                                 b.ltc / "best.safetensors", *TINY_EXPORT, "--out", t / "e"],
     ["--model cfc", "ltc"]),
    ("export-task-vs-checkpoint", lambda b, t: ["export", "--checkpoint", b.cfc / "best.safetensors", "--task", "xor",
                                                *TINY_EXPORT, "--out", t / "e"], ["--task xor", "sine"]),
    ("export-task-vs-run", lambda b, t: ["export", "--run", b.cfc, "--task", "xor", *TINY_EXPORT, "--out", t / "e"],
     ["--task xor", "sine"]),
    ("export-model-vs-run", lambda b, t: ["export", "--run", b.ltc, "--model", "cfc", *TINY_EXPORT, "--out", t / "e"],
     ["--model cfc", "ltc"]),
    ("train-model-vs-init-from", lambda b, t: ["train", *TINY, "--model", "cfc", "--init-from",
                                               b.ltc / "best.safetensors", "--out", t / "r"], ["--model cfc", "ltc"]),
    ("train-hidden-vs-init-from", lambda b, t: ["train", *TINY, "--hidden", "8", "--init-from",
                                                b.ltc / "best.safetensors", "--out", t / "r"], ["--hidden 8", "16"]),
    ("train-model-option-vs-init-from", lambda b, t: ["train", *TINY, "--ode-unfolds", "3", "--init-from",
                                                      b.ltc / "best.safetensors", "--out", t / "r"],
     ["ode_unfolds=3", "ode_unfolds=1"]),
    ("eval-data-wrong-features", lambda b, t: ["eval", b.cfc, "--data", _wrong_features_npz(b, t)],
     ["three-features.npz", "3 input features", "takes 1"]),
    ("eval-data-wrong-kind", lambda b, t: ["eval", b.cfc, "--data", _labels_npz(b, t)],
     ["labels.npz", "classification", "regression"]),
    ("eval-data-with-split", lambda b, t: ["eval", b.cfc, "--data", _labels_npz(b, t), "--split", "test"],
     ["--split test", "--data"]),
    ("bench-out-under-a-file", lambda b, t: ["bench", b.export, "--backend", "onnxruntime", "--out",
                                             b.file / "bench.json"], lambda b, t: [b.file / "bench.json"]),
]


@pytest.mark.parametrize(("make_args", "names"), [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line_naming_it(built, tmp_path, make_args, names):
    result = cli(*make_args(built, tmp_path))
    assert_one_error_line(result, *(names(built, tmp_path) if callable(names) else names))
    assert not (tmp_path / "r").exists() and not (tmp_path / "e").exists()  # nothing written


def test_planted_pickle_as_train_state_is_refused_and_never_run(built, tmp_path):
    run, marker = tmp_path / "planted", tmp_path / "MARKER"
    shutil.copytree(built.cfc, run)

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (run / "train_state.pt").write_bytes(pickle.dumps(Payload()))
    proc = subprocess.run([sys.executable, "-m", "edgelnn", "train", *TINY, "--hidden", "8", "--epochs", "2",
                           "--resume", "--out", str(run)], check=False, capture_output=True, text=True,
                          env=_env(built))
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "not a train state file" in lines[0], proc.stderr
    assert "train_state.pt" in lines[0]
    assert not marker.exists()


def test_os_errors_from_user_paths_exit_2_in_a_real_process(built, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "edgelnn", "train", *TINY, "--out", str(tmp_path / LONG_NAME)],
                          check=False, capture_output=True, text=True,
                          env=_env(built))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and LONG_NAME in lines[0], proc.stderr


def _env(built) -> dict[str, str]:
    return {**os.environ, "EDGELNN_CACHE": str(built.root / "cache")}


# Item 6: with --init-from, unset --model/--hidden follow the checkpoint (and config.json says so).
def test_init_from_without_model_options_trains_the_checkpoints_model(built, tmp_path):
    result = cli("train", *TINY, "--init-from", built.ltc / "best.safetensors", "--out", tmp_path / "ft")
    assert result.exit_code == 0, result.output + result.stderr
    config = json.loads((tmp_path / "ft" / "config.json").read_text())
    assert (config["train"]["model"], config["train"]["hidden_size"]) == ("ltc", 16)
    assert (config["model"]["kind"], config["model"]["hidden_size"]) == ("ltc", 16)


def test_export_with_matching_model_and_task_is_accepted(built, tmp_path):
    result = cli("export", "--model", "cfc", "--task", "sine", "--checkpoint", built.cfc / "best.safetensors",
                 *TINY_EXPORT, "--out", tmp_path / "e")
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads((tmp_path / "e" / "manifest.json").read_text())["model"]["kind"] == "cfc"


# Item 9: bench exits 1 when no row succeeded, and still writes its JSON.
def test_bench_exits_1_when_every_row_fails(built, tmp_path):
    out = tmp_path / "bench.json"
    result = cli("bench", built.export, "--backend", "onnxruntime", "--steps", "5", "--warmup", "0", "--batches", "1",
                 "--eval-sequences", "2", "--out", out, env={"EDGELNN_BENCH_TEST_CRASH": "onnxruntime"})
    assert result.exit_code == 1, result.output + result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "every benchmark row failed" in error_lines[0] and "SIGSEGV" in error_lines[0]
    doc = json.loads(out.read_text())
    assert doc["results"] and all(row["status"] == "failed" for row in doc["results"])


def test_bench_exits_0_when_a_row_succeeds(built, tmp_path):
    out = tmp_path / "new-folder" / "bench.json"  # a missing folder is fine: it is made when writing
    result = cli("bench", built.export, "--backend", "onnxruntime", "--steps", "5", "--warmup", "0", "--batches", "1",
                 "--eval-sequences", "2", "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(out.read_text())["results"][0]["status"] == "ok"


# Item 15: eval --data on another .npz with the run's shapes; --json prints one JSON document only.
def test_eval_data_scores_every_sequence_of_another_file(built, tmp_path):
    rng = np.random.default_rng(5)
    n, steps = 6, 10
    t = rng.uniform(0.05, 0.2, (n, steps)).astype(np.float32)
    x = np.sin(np.cumsum(t, axis=1) * 2.0)[..., None].astype(np.float32)
    y = np.sin(np.cumsum(t, axis=1) * 2.0 + 1.0)[..., None].astype(np.float32)
    mask = np.ones((n, steps), bool)
    mask[0, 7:] = False  # one shorter recording
    path = tmp_path / "held-out.npz"
    np.savez(path, x=x, t=t, y=y, mask=mask)

    result = cli("eval", built.cfc, "--data", path, "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)  # the whole stdout is one JSON document
    assert doc["data"] == str(path) and doc["sequences"] == n and list(doc["splits"]) == ["data"]

    model = load_checkpoint(built.cfc / "best.safetensors").eval()
    xs, ts = torch.from_numpy(np.where(mask[..., None], x, 0)), torch.from_numpy(np.where(mask, t, 1.0))
    with torch.no_grad():
        pred = model.run(xs, ts, mask=torch.from_numpy(mask))[0].numpy()
    reference = compute_metric("mse", pred, np.where(mask[..., None], y, 0), mask)
    assert abs(doc["splits"]["data"] - reference) <= 1e-6 + 1e-5 * abs(reference)

    table = cli("eval", built.cfc, "--data", path)
    assert table.exit_code == 0 and "held-out.npz" in table.stdout and "data" in table.stdout


def test_eval_json_prints_one_document(built):
    result = cli("eval", built.cfc, "--split", "test", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc["splits"]) == {"test"} and doc["metric"] == "mse"


# Item 17: the CLI starts without torch.
STARTUP = """
import sys
from edgelnn.cli import main
try:
    main({args!r})
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
heavy = sorted(m for m in ("torch", "onnx", "onnxruntime", "tensorflow") if m in sys.modules)
assert not heavy, heavy
"""


@pytest.mark.parametrize("args", [["--help"], ["tasks"], ["targets"], ["models", "--help"], ["train", "--help"],
                                  ["export", "--help"], ["bench", "--help"], ["eval", "--help"]],
                         ids=lambda a: " ".join(a))
def test_cli_answers_without_importing_torch(args, tmp_path):
    if args == ["targets"] and any(os.path.exists(node) for node in _GPU_NODES):
        pytest.skip("a GPU device node exists: `targets` imports torch to ask CUDA whether the gpu target runs")
    proc = subprocess.run([sys.executable, "-c", STARTUP.format(args=args)], check=False, capture_output=True,
                          text=True, env={**os.environ, "EDGELNN_CACHE": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr


def test_model_names_in_the_cli_match_the_registry():
    from edgelnn.commands.options import MODEL_NAMES
    from edgelnn.models.registry import MODELS

    assert list(MODEL_NAMES) == list(MODELS)


def test_optimizer_names_in_the_cli_match_the_registry():
    from edgelnn.commands.options import OPTIMIZER_NAMES
    from edgelnn.training.optimizers import OPTIMIZERS

    assert list(OPTIMIZER_NAMES) == list(OPTIMIZERS)
