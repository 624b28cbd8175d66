"""What a comparison holds, shared by `compare` (which computes it) and `report` (which renders it)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.runs import Run
from analysis.stats import Estimate


@dataclass
class Curve:
    """A group's learning curve on a common step grid: `steps (P,)`, IQM and band `(P,)`."""

    steps: np.ndarray
    iqm: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass
class GroupResult:
    name: str
    runs: list[Run]                 # runs of the group that logged the metric
    finals: np.ndarray              # (n_runs,) final score per run
    iqm: Estimate
    mean: float
    curve: Curve | None
    missing: int = 0                # runs of the group without the metric


@dataclass
class Improvement:
    """P(a > b): a random run of group a beats a random run of group b (ties count half)."""

    a: str
    b: str
    estimate: Estimate


@dataclass
class MetricResult:
    tag: str
    higher_is_better: bool
    groups: list[GroupResult]
    improvements: list[Improvement] = field(default_factory=list)


@dataclass
class Comparison:
    runs: list[Run]
    group_keys: list[str]
    groups: dict[str, list[Run]]
    metrics: list[MetricResult]
    final_fraction: float
    reps: int
    seed: int
    within: dict[str, list[str]]    # config keys that vary inside a group -> their values
    between: dict[str, list[str]]   # config keys that differ only from group to group
    last_steps: tuple[int, int]     # smallest and largest final step over runs
