"""One StreamingModel shared between threads: calls run one at a time, each returns its own output.

Before the per-model lock, two threads stepping one onnxruntime model got each other's inputs (the slow
input path copies into a shared buffer), and LiteRT raised a raw RuntimeError from its interpreter.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from edgelnn.export import ExportConfig, export_model, resolve_source
from edgelnn.runtime import list_backends, load
from edgelnn.training import TrainConfig, train

TINY_SINE = {"n_train": 32, "n_val": 8, "n_test": 8, "seq_len": 8}
BACKENDS = [b for b in ("onnxruntime", "litert", "torch", "c") if list_backends()[b]]
THREADS, STEPS = 4, 150


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("threads")
    cfg = TrainConfig(model="cfc", task="sine", hidden_size=8, epochs=1, batch_size=16, patience=0,
                      model_options={"backbone_units": 8}, task_options=dict(TINY_SINE))
    run = train(cfg, tmp / "run", progress=False).run_dir
    formats = ("onnx", "tflite") if list_backends()["litert"] else ("onnx",)
    export_model(resolve_source(run=run), ExportConfig(formats=formats, verify_sequences=8), tmp / "export")
    return tmp / "export"


class _Recorder:
    """Wraps a real runner and records every call's (x, y), to match each thread's result to its call."""

    def __init__(self, runner) -> None:
        self.runner, self.calls, self._guard = runner, [], threading.Lock()

    def __call__(self, x, state, dt):
        y, s = self.runner(x, state, dt)
        with self._guard:
            self.calls.append((np.array(x, copy=True), np.array(y, copy=True)))
        return y, s


def _in_threads(work) -> list:
    results: list = [None] * THREADS
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def target(i: int) -> None:
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, f"{len(errors)} thread(s) failed, first: {errors[0]!r}"
    return results


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_steps_each_get_their_own_output(exported, backend):
    model = load(exported, backend=backend)
    recorder = _Recorder(model.raw)
    model.raw = recorder
    if model._stream is not None:  # the c backend steps the model's own buffers in one native call
        stream = model._stream

        def recorded_stream() -> int:
            outside = stream()
            with recorder._guard:
                recorder.calls.append((model._x.copy(), model._y.copy()))
            return outside

        model._stream = recorded_stream
    rng = np.random.default_rng(0)
    # Lists take the slow input path (the shared input buffer); each thread's inputs are distinct.
    inputs = (rng.standard_normal((THREADS, STEPS, model.input_size)) + 10 * np.arange(THREADS)[:, None, None])
    inputs = inputs.astype(np.float32)

    def work(i: int) -> list[np.ndarray]:
        return [model.step(inputs[i, k].tolist(), dt=0.1 + 0.01 * i) for k in range(STEPS)]

    outputs = _in_threads(work)
    assert len(recorder.calls) == THREADS * STEPS
    by_input = {xs.tobytes(): ys for xs, ys in recorder.calls}
    for i in range(THREADS):
        for k in range(STEPS):
            y_call = by_input.get(inputs[i, k].reshape(1, -1).tobytes())
            assert y_call is not None, f"thread {i} step {k}: its input never reached the runtime"
            np.testing.assert_array_equal(outputs[i][k], y_call[0])  # the same array, not another thread's


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_runs_equal_sequential_runs(exported, backend):
    model = load(exported, backend=backend)
    rng = np.random.default_rng(1)
    seqs = rng.standard_normal((THREADS, 40, model.input_size)).astype(np.float32)
    spans = rng.uniform(0.05, 0.5, (THREADS, 40)).astype(np.float32)
    expected = [model.run(seqs[i], spans[i]) for i in range(THREADS)]
    got = _in_threads(lambda i: model.run(seqs[i], spans[i]))
    for i in range(THREADS):
        # Same runtime, same inputs, same order of operations inside each run: bit-identical by construction.
        np.testing.assert_array_equal(got[i], expected[i])


def test_subnormal_dt_says_what_is_wrong(exported):
    model = load(exported, backend="onnxruntime")
    x = np.zeros(model.input_size, np.float32)
    for dt in (1e-45, np.array([1e-40])):
        with pytest.raises(Exception, match="below float32's smallest normal value") as err:
            model.step(x, dt)
        assert "must be finite and > 0" not in str(err.value)
    model.step(x, 1.2e-38)  # the smallest normal float32 and above are accepted
