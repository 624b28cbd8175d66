"""What the training benchmarks (learning.py, memory_learning.py) share: their command line
and how they summarise runs over seeds."""
from __future__ import annotations

import argparse
import os

from analysis.stats import finite, iqm
from experiments import machine


def parser_with_run_options(description: str) -> argparse.ArgumentParser:
    """A parser with --seeds, --set, --jobs, --threads, --portable, --out and --json."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", default="", metavar="OVERRIDES",
                        help="space-separated Hydra overrides applied to every run")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once (processes)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--portable", action="store_true",
                        help="train on the kernel paths every x86-64 CPU runs (" +
                             " ".join(f"{k}={v}" for k, v in machine.PORTABLE.items()) +
                             "): meant to give the same numbers on any such machine, somewhat slower")
    parser.add_argument("--out", default=None, help="folder for the run directories (default: a temporary one)")
    parser.add_argument("--json", default=None, help="also write every run's final metrics to this file")
    return parser


def parse(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    if args.jobs < 1 or args.threads < 1:
        parser.error(f"--jobs={args.jobs} and --threads={args.threads} must be >= 1")
    args.overrides = args.set.split()
    if args.portable:  # read by each run's process when it starts (runs are spawned)
        os.environ.update(machine.PORTABLE)
    return args


def machine_line(args: argparse.Namespace) -> str:
    """The machine and kernel paths the runs train on: what their exact numbers depend on."""
    paths = "portable kernel paths" if args.portable else "this CPU's own kernel paths"
    return f"machine: {machine.summary()}; {paths}"


def spread(values, centre: str = "iqm", digits: int = 2) -> str:
    """'centre [lowest-highest]' of the finite values (IQM or mean), '-' when there are none."""
    x = finite(values)
    if not x.size:
        return "-"
    middle = iqm(x) if centre == "iqm" else x.mean()
    return f"{middle:.{digits}f} [{x.min():.2f}-{x.max():.2f}]" if x.size > 1 else f"{x[0]:.{digits}f}"
