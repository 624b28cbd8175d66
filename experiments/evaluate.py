"""Evaluation on held-out layouts, with the "second visit" protocol.

Each of `eval.episodes` mazes draws a layout from a stream no training run uses
(`eval.layout_seed`) and replays it `eval.visits` episodes in a row, with a fresh
memory bank at the start (so anything retrieved was written during this evaluation).
Recurrent state is reset at every episode, so visit k differs from visit 1 only by
what the long-term memory holds: this is where memory should show its value. With
scope `layout` or `lifetime`, visit k >= 2 is also the "generations" protocol: a new
generation (same weights, cleared recurrent state) enters a maze whose memory the
previous generations filled.

Newcomer protocol (`eval.newcomer`): after the visits, each maze is played once more by a new
generation that wrote nothing: stores with a single reader (solo) are cleared for it, stores
shared by several agents (shared) are kept. So `solo` newcomers start from nothing and `shared`
newcomers inherit the group's store: culture, separated from one agent's repetition. Logged
under `newcomer/...`.

Random writers (`writers="random"`, the control `eval.random_writers` runs at the end of
training): the visits are played by a uniformly random policy, whose episodes fill the store
like anyone's, and only the newcomers are the trained agent. A reader that follows what entries
say gains what their honest labels hold (a random walk that reached the goal points to it: the
trail follower gains there too); one that copies blindly is misled. Other writers
(`writers=<an agent>`): the visits are played by another agent, a trained run's or a scripted
one, so the newcomers read a store that another group wrote on the same layout (`maze-eval
--writers RUN_DIR|explorer|trail_follower`).
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import torch

from experiments.build import build_collector, make_env
from experiments.memory_metrics import memory_scalars


def phase_names(ev) -> list[str]:
    """What each play of a held-out layout is logged as: visit_1 .. visit_K, then newcomer."""
    return [f"visit_{k}" for k in range(1, ev.visits + 1)] + ["newcomer"] * ev.newcomer


class RandomWriters:
    """`agent`, except that the rows marked in `writing` (R,) get uniform logits: they act at
    random (sampled, see `evaluate`). Everything else is the agent's."""

    def __init__(self, agent):
        self.agent, self.writing = agent, None

    def __getattr__(self, name):
        return getattr(self.agent, name)

    def __call__(self, obs, state, recall=None):
        out = self.agent(obs, state, recall)
        uniform = torch.zeros_like(out.logits)
        return dataclasses.replace(out, logits=torch.where(self.writing.unsqueeze(-1), uniform, out.logits))


class OtherWriters:
    """`agent`, except that the rows marked in `writing` (R,) act as `writer` does: another
    trained run's agent or a scripted one. Each keeps a recurrent state of its own (the state
    dict holds both, the writer's keys prefixed "writer/"), so the two need not share a layout."""

    PREFIX = "writer/"

    def __init__(self, agent, writer):
        self.agent, self.writer, self.writing = agent, writer, None

    def __getattr__(self, name):
        return getattr(self.agent, name)

    def split(self, state):
        own = {k: v for k, v in state.items() if not k.startswith(self.PREFIX)}
        return own, {k[len(self.PREFIX):]: v for k, v in state.items() if k.startswith(self.PREFIX)}

    def join(self, own, theirs):
        return {**own, **{self.PREFIX + k: v for k, v in theirs.items()}}

    def initial_state(self, batch, device):
        return self.join(self.agent.initial_state(batch, device), self.writer.initial_state(batch, device))

    def reset_state(self, state, starts):
        own, theirs = self.split(state)
        return self.join(self.agent.reset_state(own, starts), self.writer.reset_state(theirs, starts))

    def pick(self, mine, theirs):
        if mine is None or theirs is None:
            return mine
        return torch.where(self.writing.view(-1, *[1] * (mine.dim() - 1)), theirs, mine)

    def __call__(self, obs, state, recall=None):
        own_state, their_state = self.split(state)
        if not self.writing.any():          # after the visits only the newcomers play
            out = self.agent(obs, own_state, recall)
            return dataclasses.replace(out, state=self.join(out.state, their_state))
        if self.writing.all():              # before, only the writers (the newcomers start afresh)
            out = self.writer(obs, their_state, recall)
            return dataclasses.replace(out, state=self.join(own_state, out.state))
        own, other = self.agent(obs, own_state, recall), self.writer(obs, their_state, recall)
        write = own.write
        if write is not None and other.write is not None:
            write = dataclasses.replace(write, keys=self.pick(write.keys, other.write.keys),
                                        values=self.pick(write.values, other.write.values))
        return dataclasses.replace(own, logits=self.pick(own.logits, other.logits),
                                   value=self.pick(own.value, other.value),
                                   state=self.join(own.state, other.state),
                                   query=self.pick(own.query, other.query), write=write)


WRITERS = ("self", "random")


@torch.no_grad()
def evaluate(agent, cfg, make_bank, device, greedy: bool = True, seed: int = 0,
             watch: Callable | None = None, writers="self") -> dict[str, float]:
    """Returns flat metrics: success_rate, steps_over_bfs (over the visits), and per visit k
    (1-based) visit_k/success_rate, visit_k/episode_length, visit_k/steps_over_bfs; with
    `eval.newcomer` the same three under newcomer/; with a bank, its memory/* statistics.
    `watch(before, step, info, env)`, when given, sees every step: `before` the positions
    (B, N, 2) and alive mask (B, N) it started from, then the collector's step and the env's info.
    `writers`: who plays the visits, "self" (the agent), "random" (a random policy) or another
    agent (`OtherWriters`: a trained run's or a scripted one, keeping its own state); with any
    but "self" the newcomers are the only plays of the agent, and `eval.newcomer` must be on."""
    ev = cfg.eval
    others = not isinstance(writers, str)
    if not others and writers not in WRITERS:
        raise ValueError(f"writers={writers!r}; allowed: {WRITERS} or an agent")
    swapped = others or writers == "random"           # someone else plays the visits
    if swapped and not ev.newcomer:
        raise ValueError("writers other than 'self' need eval.newcomer=true: the newcomers are the agent's only plays")
    plays = ev.visits + ev.newcomer                      # episodes per held-out layout
    maze = cfg.maze.replace(layout_seed=ev.layout_seed, episodes_per_layout=plays)
    env = make_env(maze, ev.episodes, device)
    bank = make_bank(ev.episodes)
    actor = OtherWriters(agent, writers) if others else RandomWriters(agent) if writers == "random" else agent
    collector = build_collector(cfg, env, actor, bank, torch.Generator(device=device).manual_seed(seed))
    collector.start(seed)
    finished = torch.zeros(ev.episodes, dtype=torch.int64, device=device)
    per_visit = [{"success": [], "length": [], "efficiency": []} for _ in range(plays)]
    max_steps = plays * maze.horizon + 1
    for _ in range(max_steps):
        before = env.world.pos, collector.alive  # the world replaces these tensors, never mutates them
        how = greedy
        if swapped:               # a maze's visits are the writers', its newcomer play the agent's
            actor.writing = (finished < ev.visits).repeat_interleave(env.n_agents)
            if not others:
                how = ~actor.writing if greedy else False
        step, _, info = collector.step(greedy=how)
        if watch is not None:
            watch(before, step, info, env)
        reset = info["reset"]
        if reset.any():
            for b in torch.nonzero(reset & (finished < plays)).flatten().tolist():
                k = int(finished[b])
                success = info["episode_success"][b]
                per_visit[k]["success"].append(success.float())
                per_visit[k]["length"].append(info["episode_length"][b].float())
                eff = info["episode_length"][b][success].float() / info["episode_start_distance"][b][success].clamp(min=1)
                per_visit[k]["efficiency"].append(eff)
            finished += reset.long()
            if ev.newcomer and bank is not None:
                arrived = reset & (finished == ev.visits)
                if arrived.any():
                    bank.clear(bank.private_stores(arrived))
        if bool((finished >= plays).all()):
            break
    metrics: dict[str, float] = {}
    cat = lambda xs: torch.cat(xs) if xs else torch.empty(0)  # noqa: E731
    mean = lambda x: float(x.mean()) if x.numel() else float("nan")  # noqa: E731
    for name, v in zip(phase_names(ev), per_visit):
        metrics[f"{name}/success_rate"] = mean(cat(v["success"]))
        metrics[f"{name}/episode_length"] = mean(cat(v["length"]))
        metrics[f"{name}/steps_over_bfs"] = mean(cat(v["efficiency"]))
    visits = per_visit[:ev.visits]
    metrics["success_rate"] = mean(cat([x for v in visits for x in v["success"]]))
    metrics["steps_over_bfs"] = mean(cat([x for v in visits for x in v["efficiency"]]))
    if bank is not None:
        metrics.update(memory_scalars(bank.stats()))
    return metrics


def random_baseline(cfg, device="cpu", seed: int = 0) -> dict[str, float]:
    """The same evaluation protocol with `agents.RandomAgent`: the floor a trained agent must clear."""
    from agents import RandomAgent

    agent = RandomAgent(cfg.maze.obs_shape, 5).to(device)
    return evaluate(agent, cfg, lambda n_mazes: None, torch.device(device), greedy=False, seed=seed)
