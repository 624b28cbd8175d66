"""What a memory bank holds: entries per store and per writer, their age, and what outcome
entries say.

    python -m memory.summary BANK [--outcome N_ACTIONS HORIZON] [--stores 0 1 ...]

BANK is a file `MemoryBank.save` wrote, such as a run's `checkpoints/<update>/memory.bank`.
Per store (or the `--stores` chosen): its maze, entries and capacity, entries per writer (the
agent index that wrote them), the age of its entries in write calls (the bank's clock minus
when each was written) and how often they were read. With `--outcome`, entries are decoded as
outcome labels (memory/outcome.py) for `N_ACTIONS` actions and episodes of `HORIZON` steps:
the share that reached the goal, their steps left to it, and the actions taken.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch

from memory.bank import MemoryBank
from memory.outcome import OutcomeCodec


def summarise(bank: MemoryBank, codec: OutcomeCodec | None = None, stores: Sequence[int] | None = None) -> list[dict]:
    """One dict per store (all, or `stores`): store, maze, size, capacity, writers {agent:
    entries}, age (min, mean, max), reads; with `codec` also reached (share), steps_left
    (mean over reached entries) and actions {action: entries}."""
    ring, n = bank.ring, bank.n_stores
    chosen = range(n) if stores is None else stores
    for s in chosen:
        if not 0 <= s < n:
            raise ValueError(f"store {s} does not exist: the bank has stores 0..{n - 1}")
    out = []
    for s in chosen:
        used = ring.entry_id[s] >= 0
        writers, ages = ring.writer[s][used], (bank.clock - ring.write_time[s][used]).double()
        row = {"store": s, "maze": int(ring.maze[s][used][0]) if used.any() else -1, "size": int(used.sum()),
               "capacity": ring.capacity,
               "writers": {int(w): int(c) for w, c in zip(*torch.unique(writers, return_counts=True))},
               "age": (int(ages.min()), float(ages.mean()), int(ages.max())) if used.any() else None,
               "reads": int(ring.read_count[s][used].sum())}
        if codec is not None:
            labels = codec.decode(ring.values[s][used])
            reached = labels.reached
            row["reached"] = float(reached.double().mean()) if used.any() else float("nan")
            row["steps_left"] = float(labels.steps_left[reached].double().mean()) if reached.any() else float("nan")
            row["actions"] = {int(a): int(c) for a, c in zip(*torch.unique(labels.action, return_counts=True))}
        out.append(row)
    return out


def text(bank: MemoryBank, rows: list[dict]) -> str:
    """The summary as lines: the bank, then one line per store."""
    lines = [repr(bank), f"clock {bank.clock} (write calls); {sum(r['size'] for r in rows)} entries in the stores shown"]
    for r in rows:
        age = "-" if r["age"] is None else f"{r['age'][0]}/{r['age'][1]:.1f}/{r['age'][2]}"
        line = (f"store {r['store']:>4} maze {r['maze']:>4}: {r['size']:>5}/{r['capacity']} entries, writers "
                f"{r['writers'] or '-'}, age min/mean/max {age}, reads {r['reads']}")
        if "reached" in r:
            line += (f"; reached the goal {r['reached']:.2f}, steps left {r['steps_left']:.1f}, "
                     f"actions {r['actions'] or '-'}")
        lines.append(line)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memory.summary", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bank", help="a file MemoryBank.save wrote")
    parser.add_argument("--outcome", nargs=2, type=int, metavar=("N_ACTIONS", "HORIZON"),
                        help="decode entries as outcome labels")
    parser.add_argument("--stores", nargs="+", type=int, default=None, help="only these stores")
    args = parser.parse_args(argv)
    try:
        bank = MemoryBank.load(args.bank)
        codec = OutcomeCodec(*args.outcome) if args.outcome else None
        rows = summarise(bank, codec, args.stores)
    except (OSError, ValueError, KeyError) as err:
        print(f"memory.summary: error: {err}", file=sys.stderr)
        return 2
    print(text(bank, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
