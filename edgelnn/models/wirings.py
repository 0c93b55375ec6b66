"""Wirings: which neuron connects to which, with a polarity (+1 excitatory, -1 inhibitory).

The random wirings draw the same random numbers, in the same order, as ncps 1.0.1, so one seed gives
one wiring in both libraries (FullyConnected and Random use ``numpy.random.default_rng``; NCP and AutoNCP
use the legacy ``numpy.random.RandomState``). A wiring is described by a JSON-friendly dict
(:meth:`Wiring.to_config`) and is always built for a known input width.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

WIRING_BUILDERS: dict[str, Callable[..., Wiring]] = {}


def register_wiring(name: str):
    def wrap(fn: Callable[..., Wiring]) -> Callable[..., Wiring]:
        WIRING_BUILDERS[name] = fn
        return fn

    return wrap


class Wiring:
    """Adjacency matrices plus the neuron groups ("layers") that wired models step through in order."""

    def __init__(
        self,
        units: int,
        input_dim: int,
        output_dim: int,
        adjacency: np.ndarray,
        sensory_adjacency: np.ndarray,
        layers: list[list[int]] | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.units = units
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.adjacency = np.asarray(adjacency, dtype=np.int32)
        self.sensory_adjacency = np.asarray(sensory_adjacency, dtype=np.int32)
        self.layers = layers if layers is not None else [list(range(units))]
        if self.adjacency.shape != (units, units):
            raise ValueError(f"adjacency has shape {self.adjacency.shape}, expected ({units}, {units})")
        if self.sensory_adjacency.shape != (input_dim, units):
            raise ValueError(
                f"sensory_adjacency has shape {self.sensory_adjacency.shape}, expected ({input_dim}, {units})"
            )
        self._config = config

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def synapse_count(self) -> int:
        return int(np.abs(self.adjacency).sum())

    @property
    def sensory_synapse_count(self) -> int:
        return int(np.abs(self.sensory_adjacency).sum())

    def to_config(self) -> dict[str, Any]:
        """Constructor settings for seeded wirings; explicit matrices for anything else."""
        if self._config is not None:
            return dict(self._config)
        return {
            "type": "explicit",
            "units": self.units,
            "output_dim": self.output_dim,
            "adjacency": self.adjacency.tolist(),
            "sensory_adjacency": self.sensory_adjacency.tolist(),
            "layers": [list(map(int, layer)) for layer in self.layers],
        }


def wiring_from_config(config: dict[str, Any], input_dim: int) -> Wiring:
    """Build a wiring for ``input_dim`` inputs from its config dict (``{"type": ..., ...}``)."""
    config = dict(config)
    kind = config.pop("type", None)
    if kind not in WIRING_BUILDERS:
        raise ValueError(f"wiring type={kind!r} is not valid; allowed values: {', '.join(sorted(WIRING_BUILDERS))}")
    try:
        return WIRING_BUILDERS[kind](input_dim=input_dim, **config)
    except TypeError as exc:  # unknown or missing keyword
        raise ValueError(f"invalid settings for wiring type {kind!r}: {exc}") from None


def _check_positive(name: str, value: Any) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r} is not valid; it must be an integer >= 1")


@register_wiring("fully_connected")
def fully_connected(
    units: int, input_dim: int, output_dim: int | None = None, erev_init_seed: int = 1111,
    self_connections: bool = True,
) -> Wiring:
    """Every neuron to every neuron and every input to every neuron, random polarity (2:1 excitatory)."""
    _check_positive("units", units)
    output_dim = units if output_dim is None else output_dim
    _check_positive("output_dim", output_dim)
    if output_dim > units:
        raise ValueError(f"output_dim={output_dim} is not valid; it must be <= units ({units})")
    rng = np.random.default_rng(erev_init_seed)
    adjacency = np.zeros((units, units), dtype=np.int32)
    for src in range(units):
        for dest in range(units):
            if src == dest and not self_connections:
                continue
            adjacency[src, dest] = rng.choice([-1, 1, 1])
    sensory = np.zeros((input_dim, units), dtype=np.int32)
    for src in range(input_dim):
        for dest in range(units):
            sensory[src, dest] = rng.choice([-1, 1, 1])
    cfg = {"type": "fully_connected", "units": units, "output_dim": output_dim,
           "erev_init_seed": erev_init_seed, "self_connections": self_connections}
    return Wiring(units, input_dim, output_dim, adjacency, sensory, config=cfg)


@register_wiring("random")
def random_wiring(
    units: int, input_dim: int, output_dim: int | None = None, sparsity_level: float = 0.0,
    random_seed: int = 1111,
) -> Wiring:
    """A random subset of synapses, ``1 - sparsity_level`` of all possible ones."""
    _check_positive("units", units)
    output_dim = units if output_dim is None else output_dim
    if not 0.0 <= sparsity_level < 1.0:
        raise ValueError(f"sparsity_level={sparsity_level!r} is not valid; it must be in [0, 1)")
    rng = np.random.default_rng(random_seed)
    adjacency = np.zeros((units, units), dtype=np.int32)
    pairs = [(s, d) for s in range(units) for d in range(units)]
    chosen = rng.choice(pairs, size=int(np.round(units * units * (1 - sparsity_level))), replace=False)
    for src, dest in chosen:
        adjacency[src, dest] = rng.choice([-1, 1, 1])
    sensory = np.zeros((input_dim, units), dtype=np.int32)
    pairs = [(s, d) for s in range(input_dim) for d in range(units)]
    chosen = rng.choice(pairs, size=int(np.round(input_dim * units * (1 - sparsity_level))), replace=False)
    for src, dest in chosen:
        # ncps 1.0.1 draws the polarity of each sensory synapse twice and keeps the second draw.
        rng.choice([-1, 1, 1])
        sensory[src, dest] = rng.choice([-1, 1, 1])
    cfg = {"type": "random", "units": units, "output_dim": output_dim,
           "sparsity_level": sparsity_level, "random_seed": random_seed}
    return Wiring(units, input_dim, output_dim, adjacency, sensory, config=cfg)


@register_wiring("ncp")
def ncp(
    inter_neurons: int, command_neurons: int, motor_neurons: int, sensory_fanout: int, inter_fanout: int,
    recurrent_command_synapses: int, motor_fanin: int, input_dim: int, seed: int = 22222,
) -> Wiring:
    """Neural circuit policy: sensory -> inter -> command (recurrent) -> motor, sparse random synapses.

    Neuron ids: motor first, then command, then inter; ``layers`` is [inter, command, motor].
    """
    for name, value in [("inter_neurons", inter_neurons), ("command_neurons", command_neurons),
                        ("motor_neurons", motor_neurons), ("sensory_fanout", sensory_fanout),
                        ("inter_fanout", inter_fanout), ("motor_fanin", motor_fanin)]:
        _check_positive(name, value)
    if motor_fanin > command_neurons:
        raise ValueError(f"motor_fanin={motor_fanin} is not valid; it must be <= command_neurons ({command_neurons})")
    if sensory_fanout > inter_neurons:
        raise ValueError(f"sensory_fanout={sensory_fanout} is not valid; it must be <= inter_neurons ({inter_neurons})")
    if inter_fanout > command_neurons:
        raise ValueError(f"inter_fanout={inter_fanout} is not valid; it must be <= command_neurons ({command_neurons})")
    units = inter_neurons + command_neurons + motor_neurons
    rng = np.random.RandomState(seed)
    motor = list(range(motor_neurons))
    command = list(range(motor_neurons, motor_neurons + command_neurons))
    inter = list(range(motor_neurons + command_neurons, units))
    sensory_ids = list(range(input_dim))
    adjacency = np.zeros((units, units), dtype=np.int32)
    sensory = np.zeros((input_dim, units), dtype=np.int32)

    def fan_out(srcs, dests, fanout, matrix, mean_fanin_cap):
        """Each source picks ``fanout`` targets; targets left unreached get a mean fan-in of sources."""
        unreached = list(dests)
        for src in srcs:
            for dest in rng.choice(dests, size=fanout, replace=False):
                if dest in unreached:
                    unreached.remove(dest)
                matrix[src, dest] = rng.choice([-1, 1])
        mean_fanin = int(np.clip(int(len(srcs) * fanout / len(dests)), 1, mean_fanin_cap))
        for dest in unreached:
            for src in rng.choice(srcs, size=mean_fanin, replace=False):
                matrix[src, dest] = rng.choice([-1, 1])

    fan_out(sensory_ids, inter, sensory_fanout, sensory, input_dim)
    fan_out(inter, command, inter_fanout, adjacency, command_neurons)
    for _ in range(recurrent_command_synapses):
        src = rng.choice(command)
        dest = rng.choice(command)
        adjacency[src, dest] = rng.choice([-1, 1])
    # command -> motor: each motor neuron draws its fan-in; unreached command neurons get a fan-out.
    unreached = list(command)
    for dest in motor:
        for src in rng.choice(command, size=motor_fanin, replace=False):
            if src in unreached:
                unreached.remove(src)
            adjacency[src, dest] = rng.choice([-1, 1])
    mean_fanout = int(np.clip(int(motor_neurons * motor_fanin / command_neurons), 1, motor_neurons))
    for src in unreached:
        for dest in rng.choice(motor, size=mean_fanout, replace=False):
            adjacency[src, dest] = rng.choice([-1, 1])
    cfg = {"type": "ncp", "inter_neurons": inter_neurons, "command_neurons": command_neurons,
           "motor_neurons": motor_neurons, "sensory_fanout": sensory_fanout, "inter_fanout": inter_fanout,
           "recurrent_command_synapses": recurrent_command_synapses, "motor_fanin": motor_fanin, "seed": seed}
    return Wiring(units, input_dim, motor_neurons, adjacency, sensory, layers=[inter, command, motor], config=cfg)


def auto_ncp_sizes(units: int, output_size: int, sparsity_level: float) -> dict[str, int]:
    """The NCP layer sizes and fan-outs AutoNCP derives from (units, outputs, sparsity)."""
    _check_positive("units", units)
    _check_positive("output_size", output_size)
    if output_size >= units - 2:
        raise ValueError(
            f"output_size={output_size} is not valid; AutoNCP needs output_size < units - 2 ({units - 2})"
        )
    if not 0.1 <= sparsity_level <= 1.0:
        raise ValueError(f"sparsity_level={sparsity_level!r} is not valid; it must be in [0.1, 1.0]")
    density = 1.0 - sparsity_level
    inter_and_command = units - output_size
    command = max(int(0.4 * inter_and_command), 1)
    inter = inter_and_command - command
    return {
        "inter_neurons": inter,
        "command_neurons": command,
        "motor_neurons": output_size,
        "sensory_fanout": max(int(inter * density), 1),
        "inter_fanout": max(int(command * density), 1),
        "recurrent_command_synapses": max(int(command * density * 2), 1),
        "motor_fanin": max(int(command * density), 1),
    }


@register_wiring("auto_ncp")
def auto_ncp(units: int, output_size: int, input_dim: int, sparsity_level: float = 0.5, seed: int = 22222) -> Wiring:
    """An NCP sized automatically from the total units and the number of outputs."""
    wiring = ncp(input_dim=input_dim, seed=seed, **auto_ncp_sizes(units, output_size, sparsity_level))
    wiring._config = {"type": "auto_ncp", "units": units, "output_size": output_size,
                      "sparsity_level": sparsity_level, "seed": seed}
    return wiring


@register_wiring("explicit")
def explicit(
    units: int, output_dim: int, adjacency: list, sensory_adjacency: list, input_dim: int,
    layers: list[list[int]] | None = None,
) -> Wiring:
    """A wiring given by its matrices (used for wirings imported from ncps that no seed reproduces)."""
    return Wiring(units, input_dim, output_dim, np.array(adjacency), np.array(sensory_adjacency), layers)
