"""The onnxruntime runner of ONNX step artifacts (backend "onnxruntime"; the export verifies with it too).

Apart from the exporter, so that running an artifact needs neither torch nor onnx."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from edgelnn.artifact import INPUT_NAMES, OUTPUT_NAMES, Artifact
from edgelnn.errors import ShapeError

THREADS_ENV = "EDGELNN_ORT_THREADS"


class OnnxStepRunner:
    """Runs one ONNX artifact on onnxruntime's CPU provider: float32 (x, state, dt) -> (y, state_out).

    For a "sequence" artifact x is [B,T,F] and dt [B,T,1]; for a step artifact x is [B,F] and dt [B,1].
    """

    def __init__(self, path: Path, artifact: Artifact, threads: int | None = None) -> None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads if threads is not None else int(os.environ.get(THREADS_ENV, "1"))
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        self.artifact = artifact
        self.input_names = tuple(i.name for i in self.session.get_inputs())
        self.output_names = [o.name for o in self.session.get_outputs()]
        if self.input_names != INPUT_NAMES or tuple(self.output_names) != OUTPUT_NAMES:
            raise ShapeError(f"{path.name}: signature {self.input_names} -> {self.output_names}, expected "
                             f"{INPUT_NAMES} -> {OUTPUT_NAMES}")
        self._rank = 3 if artifact.kind == "sequence" else 2

    def __call__(self, x: np.ndarray, state: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if np.ndim(x) != self._rank or np.ndim(dt) != self._rank or np.ndim(state) != 2:
            raise ShapeError(f"{self.artifact.name}: expected x and dt of rank {self._rank} and state of rank 2, "
                             f"got {np.shape(x)}, {np.shape(state)}, {np.shape(dt)}")
        feed = {"x": np.ascontiguousarray(x, np.float32), "state": np.ascontiguousarray(state, np.float32),
                "dt": np.ascontiguousarray(dt, np.float32)}
        y, state_out = self.session.run(self.output_names, feed)
        return y, state_out
