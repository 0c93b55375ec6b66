"""`edgelnn compare` on bad input: one line `error: ...`, exit 2, nothing run."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from edgelnn.cli import main


@pytest.mark.parametrize(("args", "message"), [
    (["--models", "cfc,transformer"], "unknown model"),
    (["--tasks", "mnist"], "unknown task"),
    (["--seeds", "0,x"], "--seeds"),
    (["--seeds", ","], "--seeds"),
    (["--match", "width=4"], "--match"),
    (["--match", "params=100", "--hidden", "8"], "not both"),
    (["--models", "cfc", "--tasks", "sine", "--match", "params=50"], "no hidden size puts cfc within 10%"),
    (["--shard", "2/2"], "shard"),
    (["--jobs", "0"], "--jobs"),
    (["--report-only"], "does not exist"),
    (["somedir"], "only taken with --collect"),
    (["--collect"], "at least one study directory"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compare", "--out", str(out), "--models", "cfc", "--tasks", "sine", *args]
                                if args[0] not in ("--models", "--tasks", "somedir") else
                                ["compare", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (out / "cells").exists()  # nothing ran
