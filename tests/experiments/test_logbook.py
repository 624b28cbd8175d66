"""charts/* come from a trailing window of finished agent-episodes, checked against a plain list."""
import numpy as np
import torch

from envs import BatchedMazeEnv, MazeConfig
from experiments.logbook import EpisodeLog


class NoLogger:
    def image(self, *args):
        pass


def test_charts_average_the_last_window_of_finished_episodes():
    env = BatchedMazeEnv(8, MazeConfig(n_agents=2, rows=2, cols=2, max_steps=6), device="cpu")
    env.reset(seed=0)
    log = EpisodeLog(env, NoLogger(), window=10)
    g = torch.Generator().manual_seed(0)
    successes, lengths = [], []
    flushed = []
    for step in range(40):
        _, _, _, _, info = env.step(torch.randint(0, 5, (8, 2), generator=g))
        log.on_step(info, type("Out", (), {"write": None})(), None)
        done = info["reset"]
        successes += info["episode_success"][done].flatten().float().tolist()
        lengths += info["episode_length"][done].flatten().float().tolist()
        if step % 7 == 6:
            flushed.append((log.flush(), list(successes), list(lengths)))
    assert len(successes) > 10
    for charts, succ, length in flushed:
        np.testing.assert_allclose(charts["charts/success_rate"], np.mean(succ[-10:]), rtol=1e-6)
        np.testing.assert_allclose(charts["charts/episodic_length"], np.mean(length[-10:]), rtol=1e-6)
    log.flush()
    assert log.flush() == {}   # nothing ended since the last flush: no point is logged
