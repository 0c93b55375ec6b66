"""Targets (edgelnn.targets): target profiles (profiles/*.json, :mod:`.profile`) and ``edgelnn bench``
(:mod:`.bench`), which measures an export's artifacts on a target: runtime rows in child processes on the
host, and on microcontroller targets firmware rows of the generated C in the Cortex-M emulator
(:mod:`.bench_mcu`). The runtimes themselves live in :mod:`edgelnn.runtime`."""
