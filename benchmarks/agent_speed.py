"""Forward+backward environment steps per second: CTM (T ticks) against a size-matched LSTM.

    python benchmarks/agent_speed.py                     # CPU, and CUDA when present
    python benchmarks/agent_speed.py --batch 256 --ticks 1 2 4 8 --compile

One "step" is one agent call on a batch of observations (with a memory read of k entries)
followed by backward of a policy-style loss. Everything is measured in the same run, and the
table prints ratios to the LSTM measured there; the target is ratio_to_T_lstm <= 1.5, i.e.
a CTM step with T ticks costs at most 1.5 x T LSTM steps. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from agents import CTMAgent, LSTMAgent
from agents.params import count_parameters, matched_width
from memory import Recall

OBS_SHAPE = (6, 5, 5)


def make_inputs(batch: int, k: int, key_dim: int, value_dim: int, device: str):
    g = torch.Generator().manual_seed(0)
    obs = torch.randint(0, 3, (batch, *OBS_SHAPE), generator=g).to(torch.uint8)
    mask = torch.rand(batch, k, generator=g) < 0.8
    recall = Recall(torch.randn(batch, k, key_dim, generator=g), torch.randn(batch, k, value_dim, generator=g),
                    torch.rand(batch, k, generator=g), mask, torch.zeros(batch, k, dtype=torch.long),
                    torch.zeros(batch, k, dtype=torch.long))
    return obs.to(device), recall.map(lambda t: t.to(device))


def stepper(agent, obs, recall, device: str, compile_: bool):
    """A function running one forward+backward step of `agent`, warmed up."""
    agent = agent.to(device)
    call = torch.compile(agent) if compile_ else agent
    state = agent.initial_state(obs.shape[0], device)

    def step():
        out = call(obs, state, recall)
        (out.logits.logsumexp(-1).mean() + out.value.pow(2).mean()).backward()
    for _ in range(3):
        step()
    return step


def ms_per_step(step, device: str, seconds: float) -> float:
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    n, start = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - start < seconds:
        step()
        n += 1
    sync()
    return (time.perf_counter() - start) / n * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--ticks", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--k", type=int, default=8, help="memory entries per read")
    parser.add_argument("--min-time", type=float, default=4.0, help="seconds measured per row")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved measuring rounds")
    parser.add_argument("--compile", action="store_true", help="torch.compile the agents (GPU)")
    parser.add_argument("--devices", nargs="+", default=None)
    args = parser.parse_args()
    devices = args.devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    key_dim = value_dim = 64
    ctm_kwargs = dict(key_dim=key_dim, value_dim=value_dim)
    target = count_parameters(CTMAgent(OBS_SHAPE, 5, **ctm_kwargs))
    width = matched_width(target, lambda w: LSTMAgent(OBS_SHAPE, 5, key_dim, value_dim, d_model=w))
    lstm = LSTMAgent(OBS_SHAPE, 5, key_dim, value_dim, d_model=width)
    print(f"CTM parameters {target:,}; LSTM d_model={width} parameters {count_parameters(lstm):,}; "
          f"batch {args.batch}, k={args.k}, torch threads {torch.get_num_threads()}")
    for device in devices:
        obs, recall = make_inputs(args.batch, args.k, key_dim, value_dim, device)
        steps = {"LSTM": stepper(lstm, obs, recall, device, args.compile)}
        for T in args.ticks:
            steps[T] = stepper(CTMAgent(OBS_SHAPE, 5, ticks=T, **ctm_kwargs), obs, recall, device, args.compile)
        # Interleaved rounds: a machine whose speed drifts slows both sides of each ratio alike.
        times = {name: [] for name in steps}
        for _ in range(args.rounds):
            for name, step in steps.items():
                times[name].append(ms_per_step(step, device, args.min_time / args.rounds))
        median = lambda xs: float(np.median(xs))
        lstm_ms = median(times["LSTM"])
        print(f"\n[{device}] LSTM: {lstm_ms:.2f} ms/step; medians over {args.rounds} interleaved rounds")
        print(f"{'agent':<10}{'T':>3}{'steps/s':>11}{'ms/step':>9}{'ms/tick':>9}{'x LSTM':>8}{'x T*LSTM':>10}")
        base = None
        for T in args.ticks:
            ms = median(times[T])
            ratio = median([c / l for c, l in zip(times[T], times["LSTM"])])
            # marginal cost of one more tick, the encoder and heads excluded
            per_tick = float("nan") if base is None else (ms - base[1]) / (T - base[0])
            base = base or (T, ms)
            print(f"{'CTM':<10}{T:>3}{1000 / ms:>11,.1f}{ms:>9.2f}{per_tick:>9.2f}{ratio:>8.2f}{ratio / T:>10.2f}")

if __name__ == "__main__":
    main()
