"""Profiles may name exactly the runtime's backends; host CPU profiles bench the generated C beside the others."""

from edgelnn.runtime.backends import BACKENDS
from edgelnn.targets.profile import KNOWN_BACKENDS, list_profiles


def test_known_backends_are_the_runtime_backends():
    assert set(KNOWN_BACKENDS) == set(BACKENDS)


def test_host_cpu_profiles_include_the_c_backend():
    for profile in list_profiles():
        if profile.kind == "cpu" and profile.name != "gpu":
            assert "c" in profile.backends, profile.name
