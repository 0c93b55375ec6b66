"""Closed-loop test conditions: what changes between the plant, its sensors and the loop's timing.

Each condition is a :class:`Condition`; :func:`conditions_for` lists a plant's (physics conditions come
from the plant's registry entry), :func:`select_conditions` parses ``--conditions``. ``TRAINING`` is the
sampling the imitation datasets use (irregular intervals: period jitter and dropped frames).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgelnn.control.plants import plant_spec
from edgelnn.errors import UnknownConditionError

DROP_PROB = 0.3  # dropped observations of the "drop" condition (the last action is held)
DELAY_STEPS = 1  # observation delay of the "delay" condition, in control periods


@dataclass(frozen=True)
class Condition:
    """How one closed-loop run differs from the nominal plant and loop.

    ``physics``: plant overrides (see :mod:`edgelnn.control.plants`); ``noise_std``: gaussian sensor noise
    on every observation; ``drop_prob``: probability that a control tick gets no observation (the policy is
    not called, the last action is held); ``delay_steps``: the observation is that many ticks old;
    ``period_scale``: the control period times this (the episode keeps its duration); ``jitter``: each
    period is multiplied by ``1 + U(-jitter, jitter)``.
    """

    name: str
    description: str
    physics: dict[str, float] = field(default_factory=dict)
    noise_std: float = 0.0
    drop_prob: float = 0.0
    delay_steps: int = 0
    period_scale: float = 1.0
    jitter: float = 0.0

    @property
    def group(self) -> str:
        """"nominal", "physics" or "sensing/timing": which rows count as out of distribution."""
        if self.name == "nominal":
            return "nominal"
        return "physics" if self.physics else "sensing/timing"


def conditions_for(plant: str) -> dict[str, Condition]:
    """Every condition of ``plant``, nominal first."""
    spec = plant_spec(plant)
    out = [Condition("nominal", "nominal physics, exact observations every control period")]
    for name, physics in spec.physics_ood.items():
        text = ", ".join(f"{k}={v}" for k, v in physics.items())
        out.append(Condition(f"physics-{name}", f"physics out of distribution: {text}", physics=dict(physics)))
    out += [
        Condition("noise", f"gaussian sensor noise, sigma={spec.noise_std} on every observation",
                  noise_std=spec.noise_std),
        Condition("drop", f"observations dropped with p={DROP_PROB}, last action held", drop_prob=DROP_PROB),
        Condition("delay", f"observations {DELAY_STEPS} control period old", delay_steps=DELAY_STEPS),
        Condition("rate-x2", "control rate doubled (period x0.5)", period_scale=0.5),
        Condition("rate-x0.67", "control rate x2/3 (period x1.5)", period_scale=1.5),
    ]
    return {c.name: c for c in out}


def select_conditions(plant: str, names: str | list[str] = "all") -> list[Condition]:
    """``"all"`` or comma-separated condition names of ``plant``; UnknownConditionError for others."""
    available = conditions_for(plant)
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if not names or names == ["all"]:
        return list(available.values())
    unknown = [n for n in names if n not in available]
    if unknown:
        raise UnknownConditionError(f"unknown condition(s) {', '.join(unknown)} for plant {plant}; "
                                    f"valid: all, {', '.join(available)}")
    return [available[n] for n in dict.fromkeys(names)]


def training_condition(jitter: float, drop_prob: float) -> Condition:
    """The sampling of an imitation dataset: nominal physics, jittered periods, dropped frames."""
    return Condition("training", f"period jitter +-{jitter:g}, frames dropped with p={drop_prob:g}",
                     jitter=jitter, drop_prob=drop_prob)
