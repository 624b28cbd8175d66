"""The CTM's two neuron-level blocks: synapses (mix neurons) and neuron-level models (per neuron).

Synapses:   [attention output (B, d_input), (pooled window,) post-activations z (B, D)] -> pre-activations a
NLMs:       pre-activation trace A (B, D, M) -> post-activations z (B, D), one private MLP per
            neuron, all D computed at once by one batched matmul (no loop over neurons).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Synapses(nn.Module):
    """Depth 1: `blocks` x (Linear -> GLU -> LayerNorm), the reference's 'linear' synapses (its RL
    model uses two blocks, noting that one did worse; its other models one).

    Depth > 1: a U-Net-style MLP whose widths go linearly from D down to `min_width` and back,
    with a LayerNorm'd skip connection at every level.
    """

    def __init__(self, in_dim: int, d_model: int, depth: int = 1, min_width: int = 16, dropout: float = 0.0,
                 blocks: int = 1):
        super().__init__()
        if depth < 1:
            raise ValueError(f"synapse_depth={depth} must be >= 1")
        if blocks < 1:
            raise ValueError(f"synapse_blocks={blocks} must be >= 1")
        self.depth = depth
        if depth == 1:
            layers: list[nn.Module] = [nn.Dropout(dropout)]
            for i in range(blocks):
                layers += [nn.Linear(in_dim if i == 0 else d_model, 2 * d_model), nn.GLU(), nn.LayerNorm(d_model)]
            self.net = nn.Sequential(*layers)
            return
        widths = [int(w) for w in torch.linspace(d_model, min(min_width, d_model), depth).round()]
        self.first = nn.Sequential(nn.Linear(in_dim, widths[0]), nn.LayerNorm(widths[0]), nn.SiLU())
        self.down = nn.ModuleList(
            nn.Sequential(nn.Dropout(dropout), nn.Linear(widths[i], widths[i + 1]), nn.LayerNorm(widths[i + 1]),
                          nn.SiLU()) for i in range(depth - 1))
        self.up = nn.ModuleList(
            nn.Sequential(nn.Dropout(dropout), nn.Linear(widths[i + 1], widths[i]), nn.LayerNorm(widths[i]),
                          nn.SiLU()) for i in range(depth - 1))
        self.skip_norm = nn.ModuleList(nn.LayerNorm(widths[i]) for i in range(depth - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.depth == 1:
            return self.net(x)
        levels = [self.first(x)]
        for down in self.down:
            levels.append(down(levels[-1]))
        out = levels[-1]
        for i in reversed(range(self.depth - 1)):
            out = self.skip_norm[i](self.up[i](out) + levels[i])
        return out


class NeuronLevelModels(nn.Module):
    """D private models over each neuron's last M pre-activations.

    deep=True:  M -> 2H (GLU) -> H -> 2 (GLU) -> 1   per neuron (the reference's deep NLM)
    deep=False: M -> 2 (GLU) -> 1                    per neuron
    Weights w (D, in, out) are indexed by neuron, so one batched matmul runs all neurons at once.
    temperature: each layer divides its output by a learned scalar, starting at this value,
    before the GLU, as the reference's NLM layers do (they start at 1); None: no temperature.
    """

    def __init__(self, n_neurons: int, history: int, hidden: int = 2, deep: bool = True,
                 temperature: float | None = 1.0):
        super().__init__()
        if history < 1 or (deep and hidden < 1):
            raise ValueError(f"memory_length={history} and nlm_hidden={hidden} must be >= 1")
        dims = [history, hidden, 1] if deep else [history, 1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for n_in, n_out in zip(dims[:-1], dims[1:]):
            bound = 1.0 / math.sqrt(n_in + 2 * n_out)
            self.weights.append(nn.Parameter(torch.empty(n_neurons, n_in, 2 * n_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.zeros(n_neurons, 2 * n_out)))
        if temperature is not None and temperature <= 0:
            raise ValueError(f"nlm_temperature={temperature} must be > 0 (or None for no temperature)")
        self.temperatures = (nn.Parameter(torch.full((len(self.weights),), float(temperature)))
                             if temperature is not None else None)

    def forward(self, trace: torch.Tensor) -> torch.Tensor:
        """trace (B, D, M) -> z (B, D)."""
        # Neuron-major (D, B, in) so each layer is one batched matmul over neurons, bias fused;
        # same result as einsum("bdi,dio->bdo"), which permutes on every layer.
        h = trace.transpose(0, 1)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b.unsqueeze(1), h, w)
            if self.temperatures is not None:
                h = h / self.temperatures[i]
            h = F.glu(h, dim=-1)
        return h.squeeze(-1).transpose(0, 1)
