"""Evaluation's bookkeeping per visit, checked against numbers worked out by hand.

The maze: the `open` generator on 2 x 2 cells is a 3 x 3 room of floor inside the border
walls, squares (1..3, 1..3). The goal is fixed at (1, 1) and 8 agents take the other 8
squares, whatever the seed, so every held-out layout has agents at these BFS distances:

    (1,2) (2,1): 1    (1,3) (2,2) (3,1): 2    (2,3) (3,2): 3    (3,3): 4

A scripted agent counts the episodes it starts and plays each visit differently, so every
episode's outcome is known in advance.
"""
import math

import pytest
import torch

from agents.base import AgentBase, AgentOutput
from experiments.evaluate import evaluate, phase_names
from tests.experiments.helpers import tiny_config

DISTANCES = [1, 1, 2, 2, 2, 3, 3, 4]
MAX_STEPS = 10
STAY, NORTH, WEST = 0, 1, 4


class VisitScript(AgentBase):
    """Visit 1: stays put (every agent times out). Visit 2 and the newcomer: walks straight to
    the goal, north then west (the shortest path in an open room). Visit 3: waits one step,
    then walks. Reads its square from the observed position planes."""

    def initial_state(self, batch, device="cpu"):
        return {"visit": torch.full((batch,), -1.0, device=device), "t": torch.zeros(batch, device=device)}

    def reset_state(self, state, starts):
        # Counts episodes instead of forgetting them: the only way to know which visit it is.
        return {"visit": state["visit"] + starts.float(), "t": torch.where(starts, 0.0, state["t"])}

    def _forward(self, obs, state, recall):
        centre = obs.shape[-1] // 2
        row, col = obs[:, 6, centre, centre].long(), obs[:, 7, centre, centre].long()
        walk = torch.where(row > 1, NORTH, torch.where(col > 1, WEST, STAY))
        visit, t = state["visit"], state["t"]
        waits = (visit == 0) | ((visit == 2) & (t == 0))
        action = torch.where(waits, STAY, walk)
        logits = torch.nn.functional.one_hot(action, self.n_actions).float() * 100.0
        return AgentOutput(logits=logits, value=torch.zeros(obs.shape[0]),
                           state={"visit": visit, "t": t + 1})


def mean(xs):
    return sum(xs) / len(xs)


def test_each_visit_is_booked_under_its_own_name(tmp_path):
    cfg = tiny_config(tmp_path, memory_preset="none",
                      env=dict(generator="open", rows=2, cols=2, n_agents=8, goal=[1, 1],
                               observe_position=True, max_steps=MAX_STEPS),
                      eval=dict(episodes=3, visits=3, newcomer=True))
    agent = VisitScript(cfg.maze.obs_shape, 5)
    metrics = evaluate(agent, cfg, lambda n_mazes: None, torch.device("cpu"), greedy=True, seed=0)

    walked = [float(d) for d in DISTANCES]
    waited = [d + 1.0 for d in DISTANCES]
    expected = {
        "visit_1": (0.0, float(MAX_STEPS), math.nan),                   # all time out
        "visit_2": (1.0, mean(walked), 1.0),                            # 18 / 8 = 2.25 steps
        "visit_3": (1.0, mean(waited), mean([w / d for w, d in zip(waited, DISTANCES)])),
        "newcomer": (1.0, mean(walked), 1.0),
    }
    assert phase_names(cfg.eval) == list(expected)
    for phase, (success, length, over_bfs) in expected.items():
        assert metrics[f"{phase}/success_rate"] == pytest.approx(success), phase
        assert metrics[f"{phase}/episode_length"] == pytest.approx(length), phase
        assert metrics[f"{phase}/steps_over_bfs"] == pytest.approx(over_bfs, nan_ok=True), phase
    # Over the visits only (the newcomer play is not one of them).
    assert metrics["success_rate"] == pytest.approx(2 / 3)
    ratios = [1.0] * len(DISTANCES) + [w / d for w, d in zip(waited, DISTANCES)]
    assert metrics["steps_over_bfs"] == pytest.approx(mean(ratios))


def test_random_writers_play_the_visits_and_the_agent_the_newcomers(tmp_path):
    """The script would fail every first visit and succeed in every second one; played by a
    random policy, the visits do neither. The newcomer play is the script's own (it walks)."""
    cfg = tiny_config(tmp_path, memory_preset="none",
                      env=dict(generator="open", rows=2, cols=2, n_agents=8, goal=[1, 1],
                               observe_position=True, max_steps=MAX_STEPS),
                      eval=dict(episodes=3, visits=3, newcomer=True))
    agent = VisitScript(cfg.maze.obs_shape, 5)
    metrics = evaluate(agent, cfg, lambda n_mazes: None, torch.device("cpu"), greedy=True, seed=0,
                       writers="random")
    assert 0.0 < metrics["visit_1/success_rate"] < 1.0
    assert 0.0 < metrics["visit_2/success_rate"] < 1.0
    assert metrics["newcomer/success_rate"] == 1.0
    assert metrics["newcomer/episode_length"] == pytest.approx(mean([float(d) for d in DISTANCES]))


def test_random_writers_need_newcomers(tmp_path):
    from experiments.config import ConfigError

    with pytest.raises(ConfigError, match="eval.random_writers=True is not allowed"):
        tiny_config(tmp_path, eval=dict(random_writers=True))
    cfg = tiny_config(tmp_path, memory_preset="none")
    with pytest.raises(ValueError, match="writers other than 'self' need eval.newcomer=true"):
        evaluate(VisitScript(cfg.maze.obs_shape, 5), cfg, lambda n: None, torch.device("cpu"), writers="random")
    with pytest.raises(ValueError, match="writers='everyone'; allowed"):
        evaluate(VisitScript(cfg.maze.obs_shape, 5), cfg, lambda n: None, torch.device("cpu"), writers="everyone")
