"""Running counters of a bank's reads and writes, kept as device tensors (no sync per step)."""
from __future__ import annotations

import torch

COUNTERS = ("reads", "writes", "hits", "top1_sum", "age_sum", "retrieved", "foreign",
            "non_finite_dropped")
# Counters added after files were first saved; a file without one loads it as zero.
LATER_COUNTERS = ("non_finite_dropped",)
# The numbers of MemoryBank.stats() a training run logs, by these very names (the runner adds
# "memory/"), with writes_agent_<i> per agent index; size is the mean entries per store.
LOGGED = ("size", "reads", "writes", "hit_rate", "top1_similarity", "retrieved_age", "cultural_share")


def logged_scalars(stats: dict) -> dict[str, float]:
    """The LOGGED numbers of a bank's `stats()` and writes_agent_<i>, as floats."""
    out = {name: float(stats[name]) for name in LOGGED if name in stats}
    for i, n in enumerate(stats.get("writes_per_agent", [])):
        out[f"writes_agent_{i}"] = float(n)
    return out


class BankStats:
    """Cumulative since construction or the last `reset()`.

    reads      reader rows that searched (alive agents with a store)
    writes     entries written
    hits       reads that returned at least one entry
    top1_sum   sum over hits of the best score
    age_sum    sum over retrieved entries of (clock now - write clock)
    retrieved  retrieved entries
    foreign    retrieved entries written by another (maze, agent): the "cultural" share
    non_finite_dropped  rows left out of writes for NaN or inf (bank option non_finite="drop")
    writes_per_agent (N,) entries written by agent index i (summed over mazes)
    """

    def __init__(self, n_agents: int, device):
        self.n_agents, self.device = n_agents, device
        self.reset()

    def reset(self) -> None:
        for name in COUNTERS:
            setattr(self, name, torch.zeros((), dtype=torch.float64, device=self.device))
        self.writes_per_agent = torch.zeros(self.n_agents, dtype=torch.int64, device=self.device)

    def state(self) -> dict[str, torch.Tensor]:
        out = {f"stat_{name}": getattr(self, name) for name in COUNTERS}
        out["stat_writes_per_agent"] = self.writes_per_agent
        return out

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        for name in COUNTERS:
            key = f"stat_{name}"
            saved = torch.zeros(()) if name in LATER_COUNTERS and key not in state else state[key]
            setattr(self, name, saved.to(self.device, torch.float64).reshape(()))
        self.writes_per_agent = state["stat_writes_per_agent"].to(self.device, torch.int64)

    def summary(self) -> dict:
        """Plain Python numbers (one device sync): reads, writes, hit_rate, top1_similarity
        (mean best score of a hit), retrieved_age (mean age of retrieved entries, in write
        calls), cultural_share, writes_per_agent, non_finite_dropped."""
        v = {name: float(getattr(self, name)) for name in COUNTERS}
        return {
            "reads": int(v["reads"]),
            "writes": int(v["writes"]),
            "hit_rate": v["hits"] / v["reads"] if v["reads"] else 0.0,
            "top1_similarity": v["top1_sum"] / v["hits"] if v["hits"] else 0.0,
            "retrieved_age": v["age_sum"] / v["retrieved"] if v["retrieved"] else 0.0,
            "cultural_share": v["foreign"] / v["retrieved"] if v["retrieved"] else 0.0,
            "writes_per_agent": self.writes_per_agent.tolist(),
            "non_finite_dropped": int(v["non_finite_dropped"]),
        }
