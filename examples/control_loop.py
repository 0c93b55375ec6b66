"""An exported policy controlling a gymnasium plant through the runtime API, one step per control period.

    python examples/control_loop.py EXPORT_DIR [ENV_ID] [STEPS]
(e.g. an export made by `edgelnn control --env pendulum --train`; ENV_ID defaults to Pendulum-v1)
"""

import sys
import time

import gymnasium as gym
import numpy as np

from edgelnn.runtime import load

export_dir = sys.argv[1]
env_id = sys.argv[2] if len(sys.argv) > 2 else "Pendulum-v1"
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 200

env = gym.make(env_id, render_mode=None)
policy = load(export_dir, backend="auto", precision="int8")  # checks the artifact's sha256
obs, _ = env.reset(seed=0)
policy.reset()
total, worst_us = 0.0, 0.0
for _ in range(steps):
    started = time.perf_counter()
    action = policy.step(np.asarray(obs, np.float32), dt=env.unwrapped.dt)  # dt: seconds since the last step
    worst_us = max(worst_us, (time.perf_counter() - started) * 1e6)
    action = np.clip(action, env.action_space.low, env.action_space.high)
    obs, reward, terminated, truncated, _ = env.step(action)
    total += float(reward)
    if terminated or truncated:
        break
print(f"return {total:.1f} over {steps} steps, slowest policy step {worst_us:.0f} us")
