"""Every task loads with the network blocked, from a fresh cache folder."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap

import pytest

from edgelnn.tasks import list_tasks, load_task

# Small sizes for the simulated tasks; the others load at their defaults.
SMALL = {
    "walker2d": {"n_train": 4, "n_val": 2, "n_test": 2, "seq_len": 8},
    "halfcheetah": {"n_train": 4, "n_val": 2, "n_test": 2, "seq_len": 8},
    "pendulum": {"n_train": 4, "n_val": 2, "n_test": 2, "seq_len": 8},
    **{f"control-{plant}": {"n_train": 2, "n_val": 1, "n_test": 1, "episode_steps": 8}
       for plant in ("pendulum", "cartpole", "doublependulum", "halfcheetah")},
}


def test_network_is_really_blocked(no_network):
    with pytest.raises(OSError, match="blocked"):
        socket.create_connection(("example.com", 80), timeout=1)
    with pytest.raises(OSError, match="blocked"):
        socket.socket().connect(("127.0.0.1", 9))


@pytest.mark.parametrize("name", list_tasks())
def test_loads_offline(no_network, tmp_path, check_task, name):
    task = load_task(name, seed=0, cache_dir=tmp_path, **SMALL.get(name, {}))
    check_task(task)


def test_fresh_interpreter_offline(tmp_path):
    """Fresh imports of aeon / gymnasium included: nothing may reach the network."""
    script = textwrap.dedent(
        f"""
        import socket
        def refuse(*a, **k):
            raise OSError("network access blocked")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        from edgelnn.tasks import list_tasks, load_task
        small = {SMALL!r}
        for name in list_tasks():
            load_task(name, cache_dir={str(tmp_path)!r}, **small.get(name, {{}}))
        print("ok", len(list_tasks()))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ok 12" in done.stdout
