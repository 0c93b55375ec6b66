"""Capture what converters print at the C level (absl/TF logs, progress lines) so reports stay readable."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def captured_output() -> Iterator[None]:
    """Redirect fd 1 and fd 2 to a temporary file for the block.

    The text is dropped when the block succeeds; when it raises, the last lines are attached to the
    exception as a note, so nothing needed for debugging is lost.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException as exc:
            sys.stdout.flush()
            sys.stderr.flush()
            sink.seek(0)
            tail = sink.read().decode(errors="replace").strip().splitlines()[-20:]
            if tail:
                exc.add_note("converter output (last lines):\n" + "\n".join(tail))
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
