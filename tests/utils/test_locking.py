"""The exclusive-lock helper: one holder at a time, the refusal names the holder, a dead holder frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from edgelnn.errors import EdgelnnError, InUseError, OutputInUseError
from edgelnn.utils.locking import exclusive_lock, lock_path_beside

HOLD = """
import sys, time
from edgelnn.utils.locking import exclusive_lock
with exclusive_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_second_holder_is_refused_with_the_holders_pid(tmp_path):
    lock = tmp_path / ".out.lock"
    with exclusive_lock(lock, "output directory out", OutputInUseError):
        assert lock.read_text().strip() == str(os.getpid())
        message = f"output directory out is in use by process {os.getpid()}$"
        second = exclusive_lock(lock, "output directory out", OutputInUseError)
        with pytest.raises(OutputInUseError, match=message) as err, second:
            pass  # pragma: no cover
        assert err.value.pid == os.getpid()
        assert isinstance(err.value, InUseError) and isinstance(err.value, EdgelnnError)
    assert not lock.exists()  # released and removed
    with exclusive_lock(lock):  # free again
        pass


def test_released_on_error_inside_the_block(tmp_path):
    lock = tmp_path / "x.lock"
    with pytest.raises(RuntimeError), exclusive_lock(lock):
        raise RuntimeError("boom")
    with exclusive_lock(lock):
        pass


def test_threads_racing_for_one_lock_get_one_holder_at_a_time(tmp_path):
    lock, inside, overlaps, refused = tmp_path / "race.lock", [0], [], [0]
    guard = threading.Lock()

    def worker():
        for _ in range(80):
            try:
                with exclusive_lock(lock):
                    with guard:
                        inside[0] += 1
                        overlaps.append(inside[0])
                    time.sleep(0.0005)
                    with guard:
                        inside[0] -= 1
            except InUseError:
                with guard:
                    refused[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps and max(overlaps) == 1
    assert len(overlaps) + refused[0] == 320


def test_a_killed_holder_frees_the_lock_and_its_pid_is_named_while_alive(tmp_path):
    lock = tmp_path / ".run.lock"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True,
                            env=env)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(InUseError, match=f"in use by process {proc.pid}"), exclusive_lock(lock):
            pass  # pragma: no cover
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert lock.exists()  # kill -9 leaves the file; the kernel dropped the lock
    with exclusive_lock(lock):
        assert lock.read_text().strip() == str(os.getpid())


def test_lock_path_beside(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert lock_path_beside("artifacts/cfc") == tmp_path / "artifacts" / ".cfc.lock"
    assert lock_path_beside("./artifacts/cfc") == lock_path_beside(tmp_path / "artifacts" / "cfc")
