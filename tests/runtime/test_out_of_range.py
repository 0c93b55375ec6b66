"""StreamingModel counts inputs outside the export's declared ranges and warns once per model (issue 8,
item 14c). A stand-in runner (state + x summed) keeps these tests free of any exported file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from edgelnn.errors import InputRangeWarning, RuntimeInputError
from edgelnn.runtime import StreamingModel

F, S, O = 2, 3, 1
RANGES = {"x": {"min": [-1.0, 0.0], "max": [1.0, 10.0]}, "dt": {"min": 0.05, "max": 2.0},
          "source": "train+ood splits, margin 10%"}


def _runner(x, state, dt):
    return x[:, :1] * dt, state + 1


def _model(ranges=RANGES, batch: int = 1) -> StreamingModel:
    signature = {"inputs": [{"name": "x", "shape": ["batch", F]}, {"name": "state", "shape": ["batch", S]},
                            {"name": "dt", "shape": ["batch", 1]}],
                 "outputs": [{"name": "y", "shape": ["batch", O]}, {"name": "state_out", "shape": ["batch", S]}]}
    manifest = {"signature": signature, "state_layout": [{"name": "h", "offset": 0, "size": S}]}
    if ranges is not None:
        manifest["input_ranges"] = ranges
    return StreamingModel(_runner, manifest=manifest, artifact={"name": "stand-in", "precision": "int8-full"},
                          backend="stand-in", batch=batch, export_dir=Path("."), threads=1)


def _steps(model, inputs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for x, dt in inputs:
            model.step(np.asarray(x, np.float32), dt)
    return [w for w in caught if issubclass(w.category, InputRangeWarning)]


def test_inputs_inside_the_ranges_are_not_counted():
    model = _model()
    assert _steps(model, [([0.5, 5.0], 0.1), ([-1.0, 0.0], 2.0), ([1.0, 10.0], 0.05)]) == []
    assert model.out_of_range == {"x": 0, "dt": 0, "steps": 0}
    assert model.input_ranges == RANGES


def test_out_of_range_values_are_counted_and_warned_once_naming_input_value_and_range():
    model = _model()
    caught = _steps(model, [([0.5, 11.0], 0.1), ([2.0, -1.0], 0.1), ([0.0, 1.0], 3.0), ([0.0, 1.0], 3.0),
                            ([0.0, 1.0], 0.5), ([5.0, 1.0], 0.01)])
    assert len(caught) == 1
    assert str(caught[0].message).startswith("x[1] = 11 is outside the range the export declares valid [0, 10] "
                                             "(train+ood splits, margin 10%)")
    assert model.out_of_range == {"x": 4, "dt": 3, "steps": 5}
    other = _model()  # once per model: a second model warns again
    assert len(_steps(other, [([0.0, 1.0], 9.0)])) == 1
    assert "dt = 9 is outside" in str(_steps(_model(), [([0.0, 1.0], 9.0)])[0].message)


def test_per_sample_dt_and_batches_are_counted_per_value():
    model = _model(batch=3)
    x = np.array([[0.0, 1.0], [3.0, 1.0], [0.0, 1.0]], np.float32)
    _steps(model, [(x, np.array([0.1, 0.1, 4.0], np.float32))])
    assert model.out_of_range == {"x": 1, "dt": 1, "steps": 1}
    _steps(model, [(x * 0, 0.1), (x * 0, 0.1)])  # a scalar dt after per-sample ones: inside again
    assert model.out_of_range == {"x": 1, "dt": 1, "steps": 1}


def test_run_counts_a_whole_sequence_at_once():
    model = _model()
    seq = np.array([[0.0, 1.0], [4.0, 1.0], [0.0, 1.0], [0.0, 20.0]], np.float32)
    with pytest.warns(InputRangeWarning, match=r"x\[0\] = 4 is outside"):
        model.run(seq, np.array([0.1, 0.1, 5.0, 0.1], np.float32))
    assert model.out_of_range == {"x": 2, "dt": 1, "steps": 3}


def test_nan_and_inf_are_still_refused_not_counted():
    model = _model()
    for bad in ([np.nan, 1.0], [np.inf, 1.0], [0.0, -np.inf]):
        with pytest.raises(RuntimeInputError, match="x contains NaN or Inf"):
            model.step(np.asarray(bad, np.float32), 0.1)
    assert model.out_of_range == {"x": 0, "dt": 0, "steps": 0}


def test_older_manifests_without_ranges_count_nothing():
    model = _model(ranges=None)
    assert _steps(model, [([1e6, -1e6], 1e3)]) == []
    assert model.out_of_range == {"x": 0, "dt": 0, "steps": 0} and model.input_ranges is None
    with pytest.raises(RuntimeInputError, match="NaN or Inf"):
        model.step(np.array([np.nan, 0.0], np.float32), 0.1)


def test_the_warning_points_at_the_callers_line():
    model = _model()
    with pytest.warns(InputRangeWarning) as caught:
        model.step(np.array([0.0, 1.0], np.float32), 9.0)
    assert caught[0].filename == __file__
    with pytest.warns(InputRangeWarning) as caught:
        _model().run(np.array([[0.0, 1.0]], np.float32), np.array([9.0], np.float32))
    assert caught[0].filename == __file__
