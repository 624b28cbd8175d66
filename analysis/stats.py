"""Aggregate statistics across seeds: IQM, stratified bootstrap intervals, probability of improvement.

The definitions follow Agarwal et al., "Deep RL at the Edge of the Statistical Precipice"
(NeurIPS 2021) and its rliable library, written here in plain numpy so the numbers are easy
to audit. Scores are arrays of shape `(n_runs,)` (one task) or `(n_runs, n_tasks)`; every
statistic below also accepts extra leading batch axes `(..., n_runs, n_tasks)` so that all
bootstrap replicates are computed in one vectorised call.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Statistic = Callable[..., np.ndarray]


def _as_runs_by_tasks(scores) -> np.ndarray:
    """`(n_runs,)` -> `(n_runs, 1)`; `(n_runs, n_tasks)` unchanged; finite values only."""
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"scores must have shape (n_runs,) or (n_runs, n_tasks) with n_runs, n_tasks >= 1, "
                         f"got shape {np.shape(scores)}")
    if not np.all(np.isfinite(x)):
        raise ValueError("scores contain NaN or infinite values; drop those runs before aggregating")
    return x


def _iqm_weights(n: int) -> np.ndarray:
    """Weights `(n,)` of the sorted values in the interquartile mean of n values.

    Each sorted value x_(i) stands for the quantile interval [(i-1)/n, i/n]; its weight is
    the length of that interval's overlap with [0.25, 0.75], divided by 0.5. The weights
    sum to 1. When n is a multiple of 4 this trims exactly n/4 values from each end, which
    is scipy.stats.trim_mean(x, 0.25) (what rliable computes); for other n a value that
    straddles a quartile counts in proportion, so the estimate stays the mean of exactly
    the middle half. (Discrete trimming would, e.g., trim nothing from 3 seeds and report
    the plain mean.)
    """
    edges = np.arange(n + 1) / n
    overlap = np.clip(np.minimum(edges[1:], 0.75) - np.maximum(edges[:-1], 0.25), 0.0, None)
    return overlap / 0.5


def iqm(scores, axis: int | None = None) -> np.ndarray:
    """Interquartile mean: the mean of the middle 50% of values, 25% trimmed from each end.

    Args:
        scores: array of finite values.
        axis: axis to reduce; None reduces over all values (rliable's aggregate IQM pools
            runs and tasks this way).
    Returns:
        The IQM, with `axis` removed (a float for axis=None). See `_iqm_weights` for how
        values that straddle a quartile are weighted.
    """
    x = np.asarray(scores, dtype=np.float64)
    if axis is None:
        x, axis = x.reshape(-1), 0
    if x.shape[axis] == 0:
        raise ValueError("iqm of an empty array")
    x = np.sort(np.moveaxis(x, axis, -1), axis=-1)
    return x @ _iqm_weights(x.shape[-1])


def aggregate_iqm(scores: np.ndarray) -> np.ndarray:
    """IQM over runs and tasks pooled: `(..., n_runs, n_tasks)` -> `(...)`."""
    return iqm(scores.reshape(*scores.shape[:-2], -1), axis=-1)


def aggregate_mean(scores: np.ndarray) -> np.ndarray:
    """Mean over runs and tasks: `(..., n_runs, n_tasks)` -> `(...)`."""
    return scores.mean(axis=(-2, -1))


def probability_of_improvement(x, y) -> np.ndarray:
    """P(X > Y) + 0.5 P(X = Y) for a random run X of algorithm x and Y of algorithm y.

    Per task, this is the Mann-Whitney U statistic divided by n_x * n_y: the fraction of all
    (run of x, run of y) pairs in which x scored higher, ties counting one half. The result
    is the average over tasks. Higher scores are taken to be better; negate both inputs for
    metrics where lower is better.

    Args:
        x: `(..., n_x, n_tasks)` or `(n_x,)`; y: `(..., n_y, n_tasks)` or `(n_y,)`, same tasks.
    Returns:
        A value in [0, 1], batch axes kept; 0.5 means neither is better.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 1:
        y = y[:, None]
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"x and y must have the same number of tasks, got {x.shape[-1]} and {y.shape[-1]}")
    xi = x[..., :, None, :]     # (..., n_x, 1, T)
    yj = y[..., None, :, :]     # (..., 1, n_y, T)
    wins = (xi > yj).mean(axis=(-3, -2)) + 0.5 * (xi == yj).mean(axis=(-3, -2))   # (..., T)
    return wins.mean(axis=-1)


def stratified_bootstrap(samples: list[np.ndarray], reps: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Bootstrap replicates of each sample, resampling runs with replacement within each task.

    Args:
        samples: arrays `(n_runs_i, n_tasks)`; each is resampled independently (e.g. the
            runs of two algorithms being compared).
        reps: number of replicates.
        rng: the generator all draws come from.
    Returns:
        Arrays `(reps, n_runs_i, n_tasks)`: for every task (stratum), n_runs_i run indices
        drawn uniformly with replacement from that task's runs.
    """
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    out = []
    for x in samples:
        n, t = x.shape
        idx = rng.integers(0, n, size=(reps, n, t))
        out.append(np.take_along_axis(x[None], idx, axis=1))
    return out


def finite(values) -> np.ndarray:
    """The finite values, as a flat float array (a run without a success has no path length)."""
    x = np.asarray(values, dtype=float).ravel()
    return x[np.isfinite(x)]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a bootstrap confidence interval [low, high]."""

    point: float
    low: float
    high: float


def interval_estimate(statistic: Statistic, *scores, reps: int = 2000, confidence: float = 0.95,
                      rng: np.random.Generator | None = None) -> Estimate:
    """Point estimate and percentile stratified-bootstrap confidence interval of a statistic.

    Args:
        statistic: maps arrays `(..., n_runs_i, n_tasks)`, one per input, to `(...)`; e.g.
            `aggregate_iqm`, `aggregate_mean`, `probability_of_improvement`.
        scores: one `(n_runs,)` or `(n_runs, n_tasks)` array per input of the statistic.
        reps: bootstrap replicates.
        confidence: coverage of the interval, e.g. 0.95 for the 2.5% and 97.5% percentiles
            of the replicates (the percentile method, rliable's default).
        rng: generator for the resampling; a fixed-seed one by default, for reproducible reports.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(0) if rng is None else rng
    samples = [_as_runs_by_tasks(s) for s in scores]
    point = float(statistic(*samples))
    replicates = np.asarray(statistic(*stratified_bootstrap(samples, reps, rng)), dtype=np.float64)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return Estimate(point, float(low), float(high))


def curve_iqm_band(curves, reps: int = 2000, confidence: float = 0.95,
                   rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IQM across runs at every point of a learning curve, with a pointwise bootstrap band.

    Args:
        curves: `(n_runs, n_points)`, the runs on a common step grid.
    Returns:
        `(iqm, low, high)`, each `(n_points,)`. Each replicate resamples whole runs (the same
        runs at every point), so a band is the interval of one resampled set of seeds.
    """
    c = np.asarray(curves, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] == 0:
        raise ValueError(f"curves must have shape (n_runs, n_points) with n_runs >= 1, got {c.shape}")
    rng = np.random.default_rng(0) if rng is None else rng
    idx = rng.integers(0, c.shape[0], size=(reps, c.shape[0]))
    replicates = iqm(c[idx], axis=1)                       # (reps, n_points)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail], axis=0)
    return iqm(c, axis=0), low, high
