"""The bench's child-process protocol, one implementation for every kind of row (runtime and firmware).

The parent writes one JSON job on stdin and reads one JSON object from the child's stdout. Libraries that
print to stdout (or C code writing to fd 1) cannot corrupt it: fd 1 is pointed at stderr for the whole
run and the result goes to a saved copy of the original stdout. Any exception becomes a failed result
(its traceback on stderr) and exit code 3.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any


def serve_one_job(measure: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
    """Read the job, run ``measure(job)``, write the result line; the process exit code."""
    saved = os.dup(1)
    os.dup2(2, 1)  # anything written to stdout from here on goes to stderr
    sys.stdout = sys.stderr
    try:
        job = json.loads(sys.stdin.read())
        result = {"status": "ok", "pid": os.getpid(), **measure(job)}
        code = 0
    except Exception as exc:  # noqa: BLE001 - any failure becomes the failed row the parent reports
        traceback.print_exc()
        result = {"status": "failed", "pid": os.getpid(), "error": f"{type(exc).__name__}: {exc}",
                  "error_type": type(exc).__name__}
        code = 3
    with os.fdopen(saved, "w") as f:
        f.write(json.dumps(result) + "\n")
    return code
