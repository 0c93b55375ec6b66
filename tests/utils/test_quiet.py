"""captured_output hides C-level prints on success and keeps them on failure."""

from __future__ import annotations

import os

import pytest

from edgelnn.utils.quiet import captured_output


def test_output_is_dropped_on_success(capfd):
    with captured_output():
        os.write(1, b"converter chatter\n")
        os.write(2, b"absl log line\n")
    out, err = capfd.readouterr()
    assert "chatter" not in out and "absl" not in err


def test_output_is_attached_to_the_error(capfd):
    with pytest.raises(RuntimeError) as info, captured_output():
        os.write(2, b"the reason it failed\n")
        raise RuntimeError("conversion failed")
    assert any("the reason it failed" in note for note in info.value.__notes__)
