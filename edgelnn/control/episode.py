"""One closed-loop episode: a plant, an actor and a condition, with sample-and-hold timing.

At every control tick the loop may get an observation (it may be dropped, delayed or noisy); when it gets
one it calls the actor with the time elapsed since the actor's previous call as ``dt`` and holds the
action until the next call. Expert, zero-action, learner and exported-runtime episodes all run here with
the same random draws (reset seed, period jitter, drops, noise) for a given ``seed``, so their returns
compare like for like.

An actor whose action is not finite (NaN/Inf) ends its part of the episode: the episode is recorded as
failed and the actuator is held at zero until the episode's end.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from edgelnn.control.conditions import Condition
from edgelnn.control.plants import Plant


class Actor(Protocol):
    def reset(self) -> None: ...

    def act(self, obs: np.ndarray, dt: float, t: float) -> np.ndarray: ...


class ExpertActor:
    """An expert (or the zero policy) as an actor: it needs the time, not ``dt``."""

    def __init__(self, expert: Any) -> None:
        self.expert = expert

    def reset(self) -> None:
        pass

    def act(self, obs: np.ndarray, dt: float, t: float) -> np.ndarray:
        return self.expert(obs, t)


@dataclass
class Episode:
    """What one episode did. ``calls_*`` are per actor call; ``tick_*`` per control tick (true state)."""

    ret: float
    ticks: int
    terminated: bool
    failed: bool
    success: bool | None
    latencies_ns: np.ndarray
    calls_obs: np.ndarray
    calls_dt: np.ndarray
    calls_t: np.ndarray
    tick_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tick_obs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    tick_action: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


def episode_ticks(plant: Plant, condition: Condition, steps: int | None = None) -> int:
    """Control ticks of an episode: the plant's episode duration at the condition's period."""
    base = plant.spec.episode_steps if steps is None else steps
    return max(1, round(base / condition.period_scale))


def run_episode(plant: Plant, actor: Actor, condition: Condition, seed: int, steps: int | None = None,
                time_actor: bool = False) -> Episode:
    """Run one episode of ``actor`` on ``plant`` (already built with the condition's physics).

    ``seed`` fixes the reset state, the jitter, the drops and the noise; ``steps`` the nominal episode
    length (default: the plant's). ``time_actor`` records each call's latency (perf_counter_ns).
    """
    rng = np.random.default_rng([seed, 7919])
    ticks = episode_ticks(plant, condition, steps)
    period = plant.period * condition.period_scale
    obs = plant.reset(seed)
    noise_shape = obs.shape
    history: deque[np.ndarray] = deque([obs] * (condition.delay_steps + 1), maxlen=condition.delay_steps + 1)
    actor.reset()
    zero = np.zeros(plant.spec.act_size)
    action, failed, terminated, ret = zero, False, False, 0.0
    t, last_call = 0.0, None
    calls_obs, calls_dt, calls_t, latencies = [], [], [], []
    tick_t, tick_obs, tick_action = [], [], []
    for k in range(ticks):
        # Draw every random number each tick whatever happens, so all actors see the same draws.
        jitter = 1.0 + condition.jitter * rng.uniform(-1.0, 1.0)
        dropped = k > 0 and rng.random() < condition.drop_prob
        noise = condition.noise_std * rng.standard_normal(noise_shape)
        history.append(obs)
        if not dropped and not failed:
            seen = history[0] + noise
            dt = plant.period if last_call is None else t - last_call
            started = time.perf_counter_ns()
            out = np.asarray(actor.act(seen, dt, t), dtype=np.float64).reshape(-1)
            if time_actor:
                latencies.append(time.perf_counter_ns() - started)
            last_call = t
            calls_obs.append(seen)
            calls_dt.append(dt)
            calls_t.append(t)
            if out.shape != zero.shape or not np.isfinite(out).all():
                failed, action = True, zero  # stop the policy, hold the actuator at zero
            else:
                action = out
        tick_t.append(t)
        tick_obs.append(obs)
        tick_action.append(action)
        step_period = period * jitter
        obs, reward, terminated = plant.step(action, step_period)
        ret += reward
        t += step_period
        if terminated:
            break
    success = None
    if plant.spec.success is not None:
        window = tick_obs[int(len(tick_obs) * (1.0 - plant.spec.success_window)):] + [obs]
        success = not terminated and not failed and all(plant.spec.success(o) for o in window)
    return Episode(
        ret=ret, ticks=len(tick_t), terminated=terminated, failed=failed, success=success,
        latencies_ns=np.asarray(latencies, dtype=np.int64),
        calls_obs=np.asarray(calls_obs, dtype=np.float64).reshape(len(calls_obs), -1),
        calls_dt=np.asarray(calls_dt, dtype=np.float64), calls_t=np.asarray(calls_t, dtype=np.float64),
        tick_t=np.asarray(tick_t), tick_obs=np.asarray(tick_obs), tick_action=np.asarray(tick_action),
    )
