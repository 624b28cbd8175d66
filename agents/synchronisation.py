"""Neuron synchronisation: the CTM's latent representation.

For a pair of neurons (i, j) with post-activation histories z_i(s), z_j(s), s = 1..t, and a
non-negative decay rate k_ij, the synchronisation after tick t is

    S_ij(t) = sum_s exp(-k_ij (t - s)) z_i(s) z_j(s)  /  sqrt( sum_s exp(-k_ij (t - s)) )

With k = 0 it is the plain inner product of the two histories divided by sqrt(t).
Two horizons:

- `decayed`: s runs over every tick since the episode started. It is kept as two running
  sums per pair, num <- r num + z_i z_j and den <- r den + 1 with r = exp(-k), so a tick
  costs O(pairs) however long the history is (the recursion of the CTM paper's appendix).
- `window`: s runs over the last W ticks only (the sliding post-activation trace of the
  reference RL variant), computed directly from that trace in O(pairs * W).

Pairs come from `select_pairs`; the action/query side and the output side each own one set.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

STRATEGIES = ("first-last", "random", "random-pairing")
SIDES = ("out", "action")


def sync_size(strategy: str, n_synch: int) -> int:
    """Number of pairs P: dense upper triangle n(n+1)/2, or n for random pairing."""
    if strategy not in STRATEGIES:
        raise ValueError(f"neuron_select={strategy!r}; allowed: {STRATEGIES}")
    return n_synch if strategy == "random-pairing" else n_synch * (n_synch + 1) // 2


def select_pairs(strategy: str, n_neurons: int, n_synch: int, side: str,
                 generator: torch.Generator, n_self: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Neuron index pairs (left (P,), right (P,)) int64 for one side.

    first-last      dense pairs (i <= j) among the first n_synch neurons (side "out") or the
                    last n_synch (side "action"), so the two sides never share neurons
    random          dense pairs (a <= b) between two random subsets of n_synch neurons each
    random-pairing  n_synch random pairs; the first `n_self` are self-pairs (i, i)
    """
    if side not in SIDES:
        raise ValueError(f"side={side!r}; allowed: {SIDES}")
    P = sync_size(strategy, n_synch)
    if n_synch < 1 or n_synch > n_neurons:
        raise ValueError(f"n_synch={n_synch} must be in [1, d_model={n_neurons}]")
    if strategy == "first-last":
        idx = torch.arange(n_synch) if side == "out" else torch.arange(n_neurons - n_synch, n_neurons)
        a, b = torch.triu_indices(n_synch, n_synch)
        return idx[a], idx[b]
    if strategy == "random":
        left = torch.randperm(n_neurons, generator=generator)[:n_synch]
        right = torch.randperm(n_neurons, generator=generator)[:n_synch]
        a, b = torch.triu_indices(n_synch, n_synch)
        return left[a], right[b]
    if not 0 <= n_self <= n_synch:
        raise ValueError(f"n_random_pairing_self={n_self} must be in [0, n_synch={n_synch}]")
    left = torch.randint(n_neurons, (P,), generator=generator)
    right = torch.randint(n_neurons, (P,), generator=generator)
    right[:n_self] = left[:n_self]
    return left, right


def decayed_step(num: torch.Tensor, den: torch.Tensor, products: torch.Tensor,
                 r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One tick of the running sums: num, den, products (B, P); r (P,) in (0, 1]."""
    return r * num + products, r * den + 1.0


def read_sync(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """S = num / sqrt(den), (B, P)."""
    return num / den.sqrt()


def window_weights(rate: torch.Tensor, W: int) -> torch.Tensor:
    """Decay weights (P, W) of a window, oldest first: exp(-rate * age)."""
    age = torch.arange(W - 1, -1, -1, device=rate.device, dtype=rate.dtype)
    return torch.exp(-rate.unsqueeze(-1) * age)


def window_sync(products: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
    """Synchronisation over a finite window. products (B, P, W), oldest first; rate (P,) -> (B, P)."""
    weight = window_weights(rate, products.shape[-1])
    return (products * weight).sum(-1) / weight.sum(-1).sqrt()


class Synchroniser(nn.Module):
    """One side's pairs and learnable decays.

    The decay rate is k = softplus(raw) >= 0: non-negative by construction, with a gradient
    everywhere, instead of clamping the parameter inside forward.
    """

    def __init__(self, left: torch.Tensor, right: torch.Tensor, decay_init: float = 0.01):
        super().__init__()
        if left.shape != right.shape or left.dim() != 1:
            raise ValueError(f"left {tuple(left.shape)} and right {tuple(right.shape)} must be equal 1-D")
        if decay_init <= 0:
            raise ValueError(f"decay_init={decay_init} must be > 0 (softplus cannot reach 0 exactly)")
        self.register_buffer("left", left.long())
        self.register_buffer("right", right.long())
        raw = torch.log(torch.expm1(torch.tensor(float(decay_init))))      # softplus^-1
        self.decay = nn.Parameter(raw.expand(left.shape[0]).clone())

    @property
    def n_pairs(self) -> int:
        return self.left.shape[0]

    def rate(self) -> torch.Tensor:
        """Decay rates k (P,) >= 0."""
        return F.softplus(self.decay)

    def products(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, D) -> z_i z_j (B, P); or a trace (B, D, W) -> (B, P, W)."""
        # index_select: its backward is an index_add, much cheaper on CPU than advanced indexing's.
        return z.index_select(1, self.left) * z.index_select(1, self.right)

    def init_sums(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Running sums holding one tick of history: z (B, D) -> num, den (B, P)."""
        p = self.products(z)
        return p, torch.ones_like(p)

    def step(self, num: torch.Tensor, den: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new post-activations z (B, D) to the running sums."""
        return decayed_step(num, den, self.products(z), torch.exp(-self.rate()))

    def window(self, trace: torch.Tensor) -> torch.Tensor:
        """Synchronisation over a post-activation trace (B, D, W), oldest first -> (B, P).

        The same value as `window_sync(self.products(trace), self.rate())`, computed with
        neurons on the last axis, where index_select copies contiguous rows: 1.6x faster
        forward and backward on the CPU at B=256, P=136, W=5."""
        t = trace.transpose(1, 2)                                            # (B, W, D)
        weight = window_weights(self.rate(), trace.shape[-1])                # (P, W)
        weighted = t.index_select(2, self.left) * weight.T
        return (weighted * t.index_select(2, self.right)).sum(1) / weight.sum(-1).sqrt()
