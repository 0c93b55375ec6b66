"""A TFLite Micro probe child that fails is reported by its last error line, not its traceback."""

from __future__ import annotations

import re

import pytest

from edgelnn.errors import ArtifactLoadError
from edgelnn.runtime.tflm import last_error_line, measure_arena

TRACEBACK = """Traceback (most recent call last):
  File "/site-packages/tflite_micro/python/tflite_micro/runtime.py", line 43, in count_resource_variables
    for subgraph in model.subgraphs:
TypeError: 'NoneType' object is not iterable
"""


def test_last_error_line_skips_the_traceback():
    assert last_error_line(TRACEBACK) == "TypeError: 'NoneType' object is not iterable"
    assert last_error_line("warming up\nsomething odd happened\n") == "something odd happened"
    assert last_error_line("") == ""


def test_unreadable_tflite_gives_one_line_without_traceback(tmp_path):
    pytest.importorskip("tflite_micro")
    path = tmp_path / "garbage.tflite"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(ArtifactLoadError) as info:
        measure_arena(path, cache=False)
    message = str(info.value)
    assert message.startswith("garbage.tflite: TFLite Micro cannot open it: ")
    assert "\n" not in message and 'File "' not in message and "Traceback" not in message
    assert re.search(r"cannot open it: ([\w.]+(Error|Exception): |crashed \()", message), message
