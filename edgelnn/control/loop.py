"""An exported policy in closed loop, through edgelnn.runtime, under every test condition.

Returns are normalised per condition against the expert and the zero-action policy run under the same
condition with the same random draws (reset states, jitter, drops, noise): ``(R - R_zero) / (R_expert -
R_zero)`` with the condition's mean expert and zero returns, so 1 is the expert and 0 doing nothing. Every
runtime ``step()`` call is timed (perf_counter_ns) and compared with the control period (deadline misses).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgelnn.control.conditions import Condition
from edgelnn.control.episode import Episode, ExpertActor, episode_ticks, run_episode
from edgelnn.errors import PolicyShapeError
from edgelnn.targets.bench_measure import percentiles_us


class RuntimePolicy:
    """A loaded export (edgelnn.runtime StreamingModel, or anything with ``reset``/``step``) as an actor."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def reset(self) -> None:
        self.model.reset()

    def act(self, obs: np.ndarray, dt: float, t: float) -> np.ndarray:
        return self.model.step(np.ascontiguousarray(obs, dtype=np.float32), float(dt))


def check_policy_fits(model: Any, plant: str, where: str = "the export") -> None:
    """PolicyShapeError naming both shapes when the policy's x/y sizes are not the plant's obs/action sizes."""
    from edgelnn.control.plants import plant_spec

    spec = plant_spec(plant)
    if (model.input_size, model.output_size) != (spec.obs_size, spec.act_size):
        raise PolicyShapeError(
            f"{where} does not fit plant {plant}: the policy takes x [{model.input_size}] and gives y "
            f"[{model.output_size}], the plant gives observations [{spec.obs_size}] and takes actions "
            f"[{spec.act_size}]")


def load_policy(export_dir: str | Path, plant: str, backend: str = "auto", precision: str = "int8") -> Any:
    """The exported policy of ``export_dir`` through edgelnn.runtime, checked to fit ``plant``."""
    from edgelnn.runtime import load

    model = load(export_dir, backend=backend, precision=precision)
    check_policy_fits(model, plant, f"export {export_dir}")
    return model


@dataclass
class ConditionResult:
    """One condition's numbers for one policy."""

    condition: str
    description: str
    group: str
    episodes: int
    returns: list[float]
    normalized: list[float]
    expert_return: float
    zero_return: float
    success_rate: float | None
    expert_success_rate: float | None
    failed: int
    period_s: float
    latency_us: dict[str, float]
    deadline_misses: int
    calls: int
    normalized_mean: float = 0.0
    normalized_std: float = 0.0
    normalized_worst: float = 0.0
    trajectory: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("trajectory")
        return out


_REFERENCE_CACHE: dict[tuple, tuple[list[Episode], list[Episode]]] = {}


def reference_episodes(plant_name: str, condition: Condition, seeds: list[int], steps: int | None):
    """Expert and zero-action episodes under ``condition`` for ``seeds`` (cached per process)."""
    from edgelnn.control.experts import ZeroPolicy, make_expert
    from edgelnn.control.plants import make_plant

    key = (plant_name, repr(condition), tuple(seeds), steps)
    if key not in _REFERENCE_CACHE:
        plant = make_plant(plant_name, condition.physics)
        try:
            expert = [run_episode(plant, ExpertActor(make_expert(plant_name)), condition, s, steps) for s in seeds]
            zero = [run_episode(plant, ExpertActor(ZeroPolicy(plant)), condition, s, steps) for s in seeds]
        finally:
            plant.close()
        _REFERENCE_CACHE[key] = (expert, zero)
    return _REFERENCE_CACHE[key]


def episode_seeds(seed: int, episodes: int) -> list[int]:
    rng = np.random.default_rng([seed, 424242])
    return [int(s) for s in rng.integers(0, 2**31 - 1, episodes)]


def _rate(values: list[bool | None]) -> float | None:
    return None if not values or values[0] is None else float(np.mean([bool(v) for v in values]))


def _trajectory(ep: Episode) -> dict[str, Any]:
    return {"t": ep.tick_t.tolist(), "obs": ep.tick_obs.tolist(), "action": ep.tick_action.tolist()}


def evaluate_condition(actor: Any, plant_name: str, condition: Condition, episodes: int = 20, seed: int = 0,
                       steps: int | None = None) -> ConditionResult:
    """Run ``actor`` for ``episodes`` episodes under ``condition``; normalise against expert and zero policy."""
    from edgelnn.control.plants import make_plant

    seeds = episode_seeds(seed, episodes)
    expert_eps, zero_eps = reference_episodes(plant_name, condition, seeds, steps)
    plant = make_plant(plant_name, condition.physics)
    try:
        eps = [run_episode(plant, actor, condition, s, steps, time_actor=True) for s in seeds]
        period = plant.period * condition.period_scale
    finally:
        plant.close()
    r_expert = float(np.mean([e.ret for e in expert_eps]))
    r_zero = float(np.mean([e.ret for e in zero_eps]))
    scale = r_expert - r_zero if abs(r_expert - r_zero) > 1e-9 else 1e-9
    normalized = [(e.ret - r_zero) / scale for e in eps]
    lat_ns = np.concatenate([e.latencies_ns for e in eps]) if eps else np.zeros(0, np.int64)
    lat = lat_ns / 1e3
    latency = percentiles_us(lat_ns) if lat.size else {}
    worst = int(np.argmin(normalized))
    return ConditionResult(
        condition=condition.name, description=condition.description, group=condition.group, episodes=episodes,
        returns=[e.ret for e in eps], normalized=normalized, expert_return=r_expert, zero_return=r_zero,
        success_rate=_rate([e.success for e in eps]), expert_success_rate=_rate([e.success for e in expert_eps]),
        failed=sum(e.failed for e in eps), period_s=period, latency_us=latency,
        deadline_misses=int(np.count_nonzero(lat > period * 1e6)), calls=int(lat.size),
        normalized_mean=float(np.mean(normalized)), normalized_std=float(np.std(normalized)),
        normalized_worst=float(np.min(normalized)),
        trajectory={"policy": _trajectory(eps[0]), "expert": _trajectory(expert_eps[0]),
                    "worst_policy": _trajectory(eps[worst]), "worst_expert": _trajectory(expert_eps[worst]),
                    "ticks": episode_ticks(plant, condition, steps)},
    )


def evaluate_policy(actor: Any, plant_name: str, conditions: list[Condition], episodes: int = 20, seed: int = 0,
                    steps: int | None = None) -> list[ConditionResult]:
    """:func:`evaluate_condition` for every condition, in order."""
    return [evaluate_condition(actor, plant_name, c, episodes, seed, steps) for c in conditions]
