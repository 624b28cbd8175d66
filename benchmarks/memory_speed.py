"""Memory speed, side by side in one run: the bank and a single large store vs torch matmul+top-k.

    python benchmarks/memory_speed.py [--device cpu|cuda] [--big-n 1000000] [--approx-n 1000000]

Tables (ratios are time / time of the torch matmul+top-k baseline measured in this run over
the same data; < 1 is faster than the baseline):
1. Bank, B=64 mazes x N=4 agents, k=16, Dk=Dv=64, capacity 4096 per store, solo and shared,
   stores full: reads/s and writes/s (one call = all 256 agents), flat index, both kernels.
2. One bank read + write for B*N=256 agents at capacity 1024, against one CTM forward step of
   the same batch (agents.CTMAgent, default config) when the agents package is importable.
3. One lifetime store of --big-n entries (d=128), 256 queries, k=16: flat FAISS, IVF, HNSW,
   torch matmul+top-k; build times and recall@16 of the approximate indexes against flat.
On CUDA, also the flat path against the bandwidth limit (bytes of keys read / copy bandwidth).
Prints only; never asserts times.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memory import MemoryBank  # noqa: E402
from memory.ring import RingStores  # noqa: E402
from memory.search import faiss_knn, gpu_available  # noqa: E402
from memory.stores import HNSWParams, IVFParams, make_index  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timeit(fn, device, repeat=10, min_time=0.5):
    """Median seconds per call after one warm-up."""
    fn()
    sync(device)
    times, start = [], time.perf_counter()
    while len(times) < repeat or (time.perf_counter() - start < min_time and len(times) < 200):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def paired(fn, base, device, repeat=7):
    """Median seconds of fn and of base, timed alternately so that load from elsewhere on
    the machine hits both alike."""
    fn(); base()
    a, b = [], []
    for _ in range(repeat):
        for f, out in ((fn, a), (base, b)):
            sync(device)
            t0 = time.perf_counter()
            f()
            sync(device)
            out.append(time.perf_counter() - t0)
    return float(np.median(a)), float(np.median(b))


def row(cells, widths):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def table(title, header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    print(f"\n{title}")
    print(row(header, widths))
    print(row(["-" * w for w in widths], widths))
    for r in rows:
        print(row(r, widths))


def unit_randn(g, *shape, device):
    return torch.nn.functional.normalize(torch.randn(*shape, generator=g), dim=-1).to(device)


def filled_bank(mode, B, N, C, Dk, Dv, device, kernel, g):
    bank = MemoryBank(mode=mode, scope="lifetime", n_mazes=B, n_agents=N, key_dim=Dk, value_dim=Dv,
                      capacity=C, device=device, kernel=kernel)
    # Fill directly: C writes per store through the public API would dominate the run.
    S = bank.n_stores
    bank.ring.keys.copy_(unit_randn(g, S, C, Dk, device=device))
    bank.ring.values.copy_(torch.randn(S, C, Dv, generator=g).to(device))
    bank.ring.sizes.fill_(C)
    bank.ring.entry_id.copy_(torch.arange(C, device=device).expand(S, C))
    for name in ("writer", "maze", "episode", "step", "write_time"):
        getattr(bank.ring, name).zero_()
    return bank


def bench_bank(device, B, N, C, Dk, Dv, k, g):
    rows = []
    q = unit_randn(g, B, N, Dk, device=device)
    keys, values = unit_randn(g, B, N, Dk, device=device), torch.randn(B, N, Dv, generator=g).to(device)
    meta = {"episode": 0, "step": 0}
    for mode in ("solo", "shared"):
        base_bank = filled_bank(mode, B, N, C, Dk, Dv, device, "batched", g)
        S, R = base_bank.n_stores, B * N // base_bank.n_stores
        Kt = base_bank.ring.keys
        Qt = q.view(S, R, Dk)
        t_torch = timeit(lambda: torch.bmm(Qt, Kt.transpose(1, 2)).topk(k, dim=-1), device)
        rows.append([mode, "torch bmm+topk (baseline)", f"{1 / t_torch:,.0f}", "", f"{t_torch * 1e3:.2f}", "1.00"])
        del base_bank
        for kernel in ("batched", "faiss"):
            bank = filled_bank(mode, B, N, C, Dk, Dv, device, kernel, g)
            t_read, t_base = paired(lambda: bank.read(q, k),
                                    lambda: torch.bmm(Qt, Kt.transpose(1, 2)).topk(k, dim=-1), device)
            t_write = timeit(lambda: bank.write(keys, values, meta), device)
            rows.append([mode, f"bank flat/{kernel}", f"{1 / t_read:,.0f}", f"{1 / t_write:,.0f}",
                         f"{t_read * 1e3:.2f}", f"{t_read / t_base:.2f}"])
            del bank
    table(f"1. Bank, B={B} x N={N}, k={k}, Dk={Dk}, capacity {C} per store, full ({device})",
          ["mode", "path", "reads/s", "writes/s", "read ms", "read / torch (paired)"], rows)


def bench_step(device, B, N, C, Dk, Dv, k, g):
    rows = []
    q = unit_randn(g, B, N, Dk, device=device)
    keys, values = unit_randn(g, B, N, Dk, device=device), torch.randn(B, N, Dv, generator=g).to(device)
    meta = {"episode": 0, "step": 0}
    recall = None
    for mode in ("solo", "shared"):
        bank = filled_bank(mode, B, N, C, Dk, Dv, device, "auto", g)

        def step():
            r = bank.read(q, k)
            bank.write(keys, values, meta)
            return r
        recall = step()
        rows.append([f"bank read+write ({mode})", f"{timeit(step, device) * 1e3:.2f}"])
    try:
        from agents import CTMAgent
        obs_shape = (6, 5, 5)
        agent = CTMAgent(obs_shape, 5, key_dim=Dk, value_dim=Dv).to(device).eval()
        state = agent.initial_state(B * N, device)
        obs = torch.randint(0, 2, (B * N, *obs_shape), generator=g, dtype=torch.uint8).to(device)
        flat = recall.flatten()
        with torch.no_grad():
            t_ctm = timeit(lambda: agent(obs, state, flat), device)
        rows.append(["CTM forward step (no grad, default config)", f"{t_ctm * 1e3:.2f}"])
    except Exception as e:  # the benchmark still reports the bank when agents cannot be built
        rows.append([f"CTM forward step: unavailable ({type(e).__name__}: {e})"[:90], ""])
    table(f"2. One step for B*N={B * N} agents, capacity {C} per store, k={k} ({device})",
          ["what", "ms"], rows)


def bench_big(device, n, approx_n, d, nq, k, g):
    xb = unit_randn(g, n, d, device=device)
    xq = unit_randn(g, nq, d, device=device)
    rows = []
    t_torch = timeit(lambda: (xq @ xb.T).topk(k, dim=-1), device, repeat=3, min_time=0)
    rows.append(["torch matmul+topk (baseline)", n, "", f"{t_torch * 1e3:.1f}", "1.00", ""])
    t_flat, t_torch = paired(lambda: faiss_knn(xq, xb, k), lambda: (xq @ xb.T).topk(k, dim=-1), device, repeat=3)
    rows[0][3] = f"{t_torch * 1e3:.1f}"
    where = "GPU" if xq.is_cuda and gpu_available() else "CPU"
    rows.append([f"flat FAISS ({where})", n, "", f"{t_flat * 1e3:.1f}", f"{t_flat / t_torch:.2f}", "1.000"])
    if device.type == "cuda":
        copy = torch.empty_like(xb)
        t_copy = timeit(lambda: copy.copy_(xb), device, repeat=5)
        bw = 2 * xb.numel() * 4 / t_copy                         # read + write bytes per second
        floor = xb.numel() * 4 / bw
        rows.append(["bandwidth floor (keys read once)", n, "", f"{floor * 1e3:.2f}",
                     f"{floor / t_torch:.2f}", f"flat at {floor / t_flat:.0%}"])
    xa, xqa = xb[:approx_n].cpu(), xq.cpu()
    _, exact = faiss_knn(xqa, xa, k)
    for name, params in (("ivf", IVFParams(nlist=int(4 * approx_n ** 0.5), nprobe=16,
                                           train_size=min(approx_n, 64 * int(4 * approx_n ** 0.5)))),
                         ("hnsw", HNSWParams(M=32, ef_construction=80, ef_search=128))):
        ring = RingStores(1, approx_n, d, 1, "fifo", torch.device("cpu"))
        backend = make_index(name, ring, ivf=params if name == "ivf" else None,
                             hnsw=params if name == "hnsw" else None)
        t0 = time.perf_counter()
        _fill(ring, backend, xa, params)
        build = time.perf_counter() - t0
        active = torch.ones(1, nq, dtype=torch.bool)
        t = timeit(lambda: backend.search(xqa.view(1, nq, d), active, k), torch.device("cpu"), repeat=5)
        _, I = backend.search(xqa.view(1, nq, d), active, k)
        rec = np.mean([len(set(a) & set(b)) / k for a, b in zip(I[0].tolist(), exact.tolist())])
        label = f"{name} ({', '.join(f'{f}={getattr(params, f)}' for f in params.__dataclass_fields__)})"
        rows.append([label, approx_n, f"{build:.1f}", f"{t * 1e3:.1f}", f"{t / t_torch:.2f}", f"{rec:.3f}"])
    table(f"3. One lifetime store, d={d}, {nq} queries, k={k} ({device}); ratios vs torch at n={n}",
          ["path", "entries", "build s", "search ms", "/ torch", "recall@k"], rows)


def _fill(ring, backend, xa, params):
    """Write xa into a single-store ring in one batch, then let the index follow it. For IVF
    the store trains on its first train_size entries (a subsample) and indexes the rest."""
    n = xa.shape[0]
    store = torch.zeros(n, dtype=torch.int64)
    meta = {f: torch.zeros(n, dtype=torch.int64) for f in ("writer", "maze", "episode", "step")}
    if isinstance(params, IVFParams) and params.train_size < n:
        m = params.train_size
        s, slot, old = ring.write(store[:m], xa[:m], torch.zeros(m, 1), {f: v[:m] for f, v in meta.items()}, 1)
        backend.added(s, slot, old)
        s, slot, old = ring.write(store[m:], xa[m:], torch.zeros(n - m, 1), {f: v[m:] for f, v in meta.items()}, 1)
    else:
        s, slot, old = ring.write(store, xa, torch.zeros(n, 1), meta, 1)
    backend.added(s, slot, old)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--big-n", type=int, default=1_000_000)
    p.add_argument("--approx-n", type=int, default=1_000_000)
    p.add_argument("--skip-big", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    device = torch.device(a.device)
    g = torch.Generator().manual_seed(a.seed)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, faiss GPUs {int(gpu_available())}")
    bench_bank(device, 64, 4, 4096, 64, 64, 16, g)
    bench_step(device, 64, 4, 1024, 64, 64, 16, g)
    if not a.skip_big:
        bench_big(device, a.big_n, min(a.approx_n, a.big_n), 128, 256, 16, g)


if __name__ == "__main__":
    main()
