"""Targets: target profiles (data files), runtime backends and the profiler."""
