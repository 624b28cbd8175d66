"""Rendering a comparison: console tables, report.md and PNG plots, each file written atomically."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from analysis.results import Comparison, MetricResult
from fileio.atomic import atomic_write_bytes

# Figures are built without pyplot, so no GUI backend or global figure state is involved.
COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


def fmt(value: float) -> str:
    if not np.isfinite(value):
        return "nan"
    return f"{value:.3f}" if abs(value) < 1000 else f"{value:.4g}"


def slug(tag: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", tag).strip("_")


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _direction(m: MetricResult) -> str:
    return "higher is better" if m.higher_is_better else "lower is better"


def _counts(g) -> str:
    return f"{len(g.runs)}" + (f" (+{g.missing} without)" if g.missing else "")


def warnings(c: Comparison) -> list[str]:
    """What could make the comparison mean something other than it seems."""
    out = []
    lo, hi = c.last_steps
    if lo != hi:
        out.append(f"runs end at different steps ({lo} to {hi}): final scores come from different budgets "
                   f"(an unfinished run?)")
    if c.within:
        out.append("runs inside a group differ in " + ", ".join(c.within) + ": the IQM pools them; "
                   "add those keys to --group-by to separate them")
    return out


def tables(c: Comparison) -> str:
    """One plain-text table per metric, then the probabilities of improvement."""
    lines = [f"{len(c.runs)} runs in {len(c.groups)} groups by {', '.join(c.group_keys)}; final score = mean "
             f"of the last {_percent(c.final_fraction)} of each run's points; IQM with 95% stratified bootstrap "
             f"CI ({c.reps} reps, seed {c.seed})."]
    lines += [f"warning: {w}" for w in warnings(c)]
    width = max([5] + [len(name) for name in c.groups])
    for m in c.metrics:
        counts = [_counts(g) for g in m.groups]
        n_width = max([4] + [len(n) for n in counts])
        lines += ["", f"{m.tag}  ({_direction(m)})",
                  f"  {'group':<{width}}  {'runs':>{n_width}}  {'IQM':>9}  {'95% CI':<21}  {'mean':>9}"]
        for g, n in zip(m.groups, counts):
            ci = f"[{fmt(g.iqm.low)}, {fmt(g.iqm.high)}]"
            lines.append(f"  {g.name:<{width}}  {n:>{n_width}}  {fmt(g.iqm.point):>9}  {ci:<21}  {fmt(g.mean):>9}")
        for imp in m.improvements:
            e = imp.estimate
            lines.append(f"  P({imp.a} beats {imp.b}) = {e.point:.2f}  95% CI [{e.low:.2f}, {e.high:.2f}]")
    return "\n".join(lines)


def markdown(c: Comparison, images: dict[str, tuple[str | None, str]], out: Path) -> str:
    keys = ", ".join(f"`{k}`" for k in c.group_keys)
    text = [
        "# Run comparison", "",
        f"{len(c.runs)} runs in {len(c.groups)} groups by {keys}: "
        + ", ".join(f"{name} ({len(runs)})" for name, runs in c.groups.items()) + ".", "",
        f"- **Final score** of a run: the mean of the last {_percent(c.final_fraction)} of its logged points of a metric.",
        "- **IQM**: interquartile mean of the runs' final scores (the mean of the middle 50%; a run that "
        "straddles a quartile counts in part).",
        f"- **95% CI**: percentile interval of a stratified bootstrap over runs ({c.reps} replicates, seed {c.seed}).",
        "- **P(A beats B)**: probability that a random run of A has a better final score than a random run of "
        "B, ties counting half (0.5: no difference), with its 95% bootstrap CI.",
        "- Curves: IQM across a group's runs at each step, with a pointwise 95% bootstrap band.",
    ]
    text += [""] + [f"**Warning**: {w}." for w in warnings(c)] if warnings(c) else []
    for m in c.metrics:
        text += ["", f"## {m.tag} ({_direction(m)})", "",
                 "| group | runs | IQM | 95% CI | mean |", "|---|---:|---:|---|---:|"]
        for g in m.groups:
            text.append(f"| {g.name} | {_counts(g)} | {fmt(g.iqm.point)} | "
                        f"[{fmt(g.iqm.low)}, {fmt(g.iqm.high)}] | {fmt(g.mean)} |")
        if m.improvements:
            text.append("")
            for imp in m.improvements:
                e = imp.estimate
                text.append(f"- P({imp.a} beats {imp.b}) = {e.point:.2f} (95% CI [{e.low:.2f}, {e.high:.2f}])")
        curve, final = images[m.tag]
        text.append("")
        if curve is not None:
            text.append(f"![{m.tag} learning curves]({curve})")
        text.append(f"![{m.tag} final scores]({final})")
    text += ["", "## Runs", "", "| run | group | seed | last step |", "|---|---|---:|---:|"]
    for name, runs in c.groups.items():
        for r in runs:
            last = max((int(s.steps[-1]) for s in r.scalars.values()), default=0)
            text.append(f"| {os.path.relpath(r.path, out)} | {name} | {r.config.get('seed', '')} | {last} |")
    text += ["", "## Config differences", ""]
    if not c.within and not c.between:
        text.append("The runs' configs differ only in the group keys and the seed.")
    if c.within:
        text += ["Runs **inside a group** differ in these keys (the IQM pools them; add them to `--group-by` "
                 "to separate them):", ""] + _key_list(c.within) + [""]
    if c.between:
        text += ["Besides the group keys, **the groups** differ in these keys (expected when they follow "
                 "from the group key; otherwise the comparison measures them too):", ""] + _key_list(c.between)
    return "\n".join(text) + "\n"


def _key_list(keys: dict[str, list[str]]) -> list[str]:
    return [f"- `{k}`: {', '.join(v[:6])}{' ...' if len(v) > 6 else ''}" for k, v in keys.items()]


def curve_figure(m: MetricResult, colors: dict[str, str]) -> Figure | None:
    groups = [g for g in m.groups if g.curve is not None]
    if not groups:
        return None
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for g in groups:
        cv = g.curve
        label = f"{g.name} (n={len(g.runs)})"
        if len(cv.steps) == 1:
            err = [[cv.iqm[0] - cv.low[0]], [cv.high[0] - cv.iqm[0]]]
            ax.errorbar(cv.steps, cv.iqm, yerr=err, fmt="o", capsize=4, color=colors[g.name], label=label)
        else:
            ax.plot(cv.steps, cv.iqm, color=colors[g.name], label=label)
            ax.fill_between(cv.steps, cv.low, cv.high, color=colors[g.name], alpha=0.2, linewidth=0)
    ax.set(xlabel="step", ylabel=f"IQM across runs ({_direction(m)})", title=m.tag)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def final_figure(m: MetricResult, colors: dict[str, str]) -> Figure:
    fig = Figure(figsize=(1.6 + 1.1 * len(m.groups), 4.0), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(m.groups))
    points = np.array([g.iqm.point for g in m.groups])
    err = np.array([[g.iqm.point - g.iqm.low for g in m.groups], [g.iqm.high - g.iqm.point for g in m.groups]])
    ax.bar(x, points, yerr=err, capsize=6, color=[colors[g.name] for g in m.groups], alpha=0.75,
           error_kw={"elinewidth": 1.2})
    for i, g in enumerate(m.groups):
        # Every run as a dot, spread sideways so equal scores stay visible.
        offsets = np.linspace(-0.2, 0.2, len(g.finals)) if len(g.finals) > 1 else np.zeros(1)
        ax.scatter(i + offsets, g.finals, s=14, color="black", zorder=3)
    ax.set_xticks(x, [f"{g.name}\n(n={len(g.runs)})" for g in m.groups])
    ax.set(ylabel=f"final score: IQM, 95% CI ({_direction(m)})", title=m.tag)
    ax.grid(axis="y", alpha=0.3)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    return buf.getvalue()


def write(c: Comparison, out: Path) -> Path:
    """Write report.md and the plots into `out` (created if needed); returns report.md's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    colors = {name: COLORS[i % len(COLORS)] for i, name in enumerate(c.groups)}
    images: dict[str, tuple[str | None, str]] = {}
    for m in c.metrics:
        curve_name = None
        fig = curve_figure(m, colors)
        if fig is not None:
            curve_name = f"{slug(m.tag)}_curve.png"
            atomic_write_bytes(out / curve_name, _png(fig))
        final_name = f"{slug(m.tag)}_final.png"
        atomic_write_bytes(out / final_name, _png(final_figure(m, colors)))
        images[m.tag] = (curve_name, final_name)
    path = out / "report.md"
    atomic_write_bytes(path, markdown(c, images, out).encode())
    return path
