"""CTMAgent: a Continuous Thought Machine (Darlow et al., 2025) acting in the maze.

Per environment step the CTM runs `ticks` internal ticks over the same observation:

    S_act = sync(action pairs)                      query-side synchronisation (B, P_act)
    o     = attend(S_act; obs tokens + memory)      cross-attention (B, d_input)
    a     = synapses([o, (pooled obs), z])          pre-activations (B, D)
    A     = [A[:, :, 1:], a]                        pre-activation trace (B, D, M)
    z     = NLM_d(A_d) for every neuron d           post-activations (B, D)
    S_out = sync(output pairs)                      output-side synchronisation (B, P_out)
    logits_t = actor(S_out); certainty_t = 1 - normalised entropy

The value comes from critic(S_out) after the last tick. The traces (and, for the `decayed`
horizon, the running synchronisation sums) carry over to the next environment step and are
reset to learned start traces where a new episode starts (`reset_state`).

Option names follow the reference code where one exists. Mapping to the paper:
d_model = D, memory_length = M, ticks = T, n_synch_out = D_out, n_synch_action = D_action,
nlm_hidden = the NLM's hidden width, neuron_select = the pair-selection strategy.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from agents.attention import ObsMemoryAttention
from agents.base import AgentBase, AgentOutput, State, WriteRequest, actor_critic, seeded_init
from agents.encoders import ObservationEncoder
from agents.losses import certainty
from agents.memory_io import MemoryIO
from agents.neurons import NeuronLevelModels, Synapses
from agents.synchronisation import Synchroniser, read_sync, select_pairs

HORIZONS = ("window", "decayed")
SYNC_NORM_EPS = 1e-12


class CTMAgent(AgentBase):
    """Continuous Thought Machine policy.

    Every knob, in one place (the defaults are the signature's; configs/agent/ctm.yaml starts
    from them and lists only what it changes). "Reference" is the reference
    RL model, models/ctm_rl.py of the CTM authors' code, whose option names these follow.

    key_dim, value_dim   widths of memory keys and values (0: no memory; query and write are None)
    ticks                internal ticks T per environment step (1-8; the reference RL runs use 1-5)
    d_model              neurons D
    d_input              width of observation tokens and of the attention output
    token_mlp            the shared encoder's per-token MLP width, as a multiple of d_input (0: none;
                         every agent has this knob). The LSTM learned far faster without it on the
                         main job's task, and it was most of the encoder's cost
    heads                attention heads over observation cells and memory entries (d_input must
                         be divisible by it)
    n_synch_out          neurons on the output side (pairs: n(n+1)/2 dense, n for random-pairing)
    n_synch_action       neurons on the query side
    neuron_select        "first-last" (dense pairs among the first neurons for the output side and
                         the last ones for the query side: the only choice the reference RL model
                         supports), "random" (dense pairs between two random subsets),
                         "random-pairing" (n random pairs)
    n_random_pairing_self  self-pairs (i, i) among random pairs
    synapse_depth        1 = `synapse_blocks` Linear-GLU-LayerNorm blocks; > 1 = U-Net MLP of that depth
    synapse_blocks       blocks of the depth-1 synapses (reference RL: 2, its code notes that one did
                         worse; its image models: 1)
    memory_length        M, pre-activations each neuron-level model sees
    deep_nlms, nlm_hidden  two-layer NLMs with this hidden width (reference RL: True, 2)
    nlm_temperature      initial learned temperature each NLM layer divides by (the reference's
                         `T`, which starts at 1); None: no temperature
    sync_horizon         "window": over the last `sync_window` post-activations, sliding across
                         environment steps (reference RL); "decayed": over the whole episode, kept
                         as running sums so that a tick costs O(pairs)
    sync_window          W for the window horizon; None ties it to memory_length (the reference).
                         W = 1 makes synchronisation the current tick's pair products alone: the
                         decays then get no gradient, so no shipped config uses it (a test checks
                         that every parameter of every shipped config is trained)
    decay_init           initial decay rate k of every pair (> 0; small = long memory). k is learned
                         as softplus(raw) >= 0, with a gradient everywhere, where the reference clamps
                         it to [0, 4]. The reference starts at k = 0, a uniform average over the
                         window: with one tick per step the heads then react to a new view by about
                         a fifth
    adaptive_ticks       a row stops ticking once its certainty exceeds `certainty_threshold`;
                         `aux["ticks_used"]` reports the ticks each row ran
    head_hidden          width of the actor and critic MLPs
    orthogonal_heads     the reference RL initialisation of actor and critic: orthogonal, last-layer
                         gain 0.01 for the actor and 1 for the critic (see agents.base.mlp)
    dropout              dropout rate inside the synapses
    key_source           memory keys and queries from "obs" or "sync" (see agents/memory_io.py)
    sync_norm            LayerNorm on both synchronisation vectors before they are read (an
                         addition to the reference, off by default as there; the shipped configs
                         turn it on: at the reference's initialisation the products of small
                         post-activations are ~1e-3 and barely vary with the observation, so the
                         policy starts blind and PPO learns slowly). Its eps (1e-12) is far below
                         the pairs' variance at initialisation (1e-7 to 1e-5 measured, below
                         LayerNorm's usual 1e-5), so each row really comes out with unit spread.
    obs_to_synapses      also feed the pooled observation vector straight into the synapses, next
                         to the attention output. The reference RL CTM has no attention: its
                         synapses read the backbone features directly. With attention alone the
                         observation reaches the policy only through the query-side
                         synchronisation, which PPO is slow to shape; the direct path restores
                         the reference's route while keeping attention for memory entries.
    memory_prior         add action logits and a value read straight from the retrieved entries
                         (agents/memory_prior.py) to every tick's outputs; `prior_hidden` is
                         its MLPs' hidden width. Off by default
    trunk_lr_scale       the learning rate of every parameter outside the heads (actor, critic, prior),
                         as a multiple of the heads' (PPO's optimizer reads it; `algo.trunk_lr_scale`
                         overrides it). ctm_small uses 0.25: its runs then recover from the
                         early loss of spread in what the heads read, which leaves some runs at
                         1 stuck (docs/learning.md)
    seed                 seeds weights, neuron pairs and the fixed memory projections
    """

    recurrent = True

    def __init__(self, obs_shape: tuple[int, int, int], n_actions: int, key_dim: int = 0, value_dim: int = 0,
                 ticks: int = 1, d_model: int = 128, d_input: int = 64, token_mlp: int = 0, heads: int = 4,
                 n_synch_out: int = 16, n_synch_action: int = 16, neuron_select: str = "first-last",
                 n_random_pairing_self: int = 0, synapse_depth: int = 1, synapse_blocks: int = 2,
                 memory_length: int = 5, deep_nlms: bool = True, nlm_hidden: int = 2,
                 nlm_temperature: float | None = 1.0, sync_horizon: str = "window", sync_window: int | None = None,
                 decay_init: float = 0.01, adaptive_ticks: bool = False, certainty_threshold: float = 0.8,
                 head_hidden: int = 64, orthogonal_heads: bool = True, dropout: float = 0.0,
                 key_source: str = "obs", sync_norm: bool = False, obs_to_synapses: bool = False,
                 memory_prior: bool = False, prior_hidden: int = 32, trunk_lr_scale: float = 1.0,
                 seed: int = 0):
        super().__init__(obs_shape, n_actions, key_dim, value_dim)
        if not 1 <= ticks <= 64:
            raise ValueError(f"ticks={ticks} must be in [1, 64] (1-8 is the useful range)")
        if sync_horizon not in HORIZONS:
            raise ValueError(f"sync_horizon={sync_horizon!r}; allowed: {HORIZONS}")
        sync_window = memory_length if sync_window is None else sync_window
        if sync_window < 1:
            raise ValueError(f"sync_window={sync_window} must be >= 1 (or None: memory_length)")
        if neuron_select == "first-last" and n_synch_out + n_synch_action > d_model:
            raise ValueError(f"first-last needs n_synch_out + n_synch_action <= d_model, got "
                             f"{n_synch_out} + {n_synch_action} > {d_model}")
        if not 0.0 <= certainty_threshold <= 1.0:
            raise ValueError(f"certainty_threshold={certainty_threshold} must be in [0, 1]")
        if not trunk_lr_scale > 0:
            raise ValueError(f"trunk_lr_scale={trunk_lr_scale} must be > 0")
        self.trunk_lr_scale = float(trunk_lr_scale)
        self.ticks = ticks
        self.d_model = d_model
        self.memory_length = memory_length
        self.sync_horizon = sync_horizon
        self.trace_window = sync_window if sync_horizon == "window" else 1
        self.adaptive_ticks = adaptive_ticks
        self.certainty_threshold = certainty_threshold

        g = torch.Generator().manual_seed(seed)
        pairs_out = select_pairs(neuron_select, d_model, n_synch_out, "out", g, n_random_pairing_self)
        pairs_act = select_pairs(neuron_select, d_model, n_synch_action, "action", g, n_random_pairing_self)
        with seeded_init(seed):
            self.encoder = ObservationEncoder(obs_shape, d_input, pool=obs_to_synapses, token_mlp=token_mlp)
            self.sync_out = Synchroniser(*pairs_out, decay_init=decay_init)
            self.sync_action = Synchroniser(*pairs_act, decay_init=decay_init)
            self.norm_out = nn.LayerNorm(self.sync_out.n_pairs, eps=SYNC_NORM_EPS) if sync_norm else nn.Identity()
            self.norm_act = nn.LayerNorm(self.sync_action.n_pairs, eps=SYNC_NORM_EPS) if sync_norm else nn.Identity()
            self.attention = ObsMemoryAttention(self.sync_action.n_pairs, d_input, heads,
                                                self.key_dim, self.value_dim)
            n_in = d_input * (2 if obs_to_synapses else 1) + d_model
            self.synapses = Synapses(n_in, d_model, synapse_depth, dropout=dropout, blocks=synapse_blocks)
            self.nlms = NeuronLevelModels(d_model, memory_length, nlm_hidden, deep_nlms, nlm_temperature)
            # Learned start traces, one per neuron (pre: length M; post: the sync window).
            self.start_pre_trace = nn.Parameter(self._uniform(d_model, memory_length))
            self.start_post_trace = nn.Parameter(self._uniform(d_model, self.trace_window))
            self.actor, self.critic = actor_critic(self.sync_out.n_pairs, head_hidden, n_actions, orthogonal_heads)
            self.prior = self._make_prior(memory_prior, prior_hidden)
        self.memory_io = (MemoryIO(obs_shape, self.sync_out.n_pairs, self.key_dim, self.value_dim,
                                   key_source, seed + 1000) if self.uses_memory else None)
        self._state_keys = set(self.initial_state(1))

    @staticmethod
    def _uniform(*shape: int) -> torch.Tensor:
        bound = math.sqrt(1.0 / sum(shape))
        return torch.empty(*shape).uniform_(-bound, bound)

    # -- state --------------------------------------------------------------------------------

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> State:
        """pre_trace (B, D, M), post_trace (B, D, W); with the decayed horizon also the running
        sums {out,act}_num, {out,act}_den (B, P_out / P_act), seeded with the last start post-activation."""
        pre = self.start_pre_trace.to(device).unsqueeze(0).expand(batch, -1, -1)
        post = self.start_post_trace.to(device).unsqueeze(0).expand(batch, -1, -1)
        state = {"pre_trace": pre, "post_trace": post}
        if self.sync_horizon == "decayed":
            z = post[:, :, -1]
            state["out_num"], state["out_den"] = self.sync_out.init_sums(z)
            state["act_num"], state["act_den"] = self.sync_action.init_sums(z)
        return state

    def _sync(self, side: Synchroniser, state: State, prefix: str) -> torch.Tensor:
        norm = self.norm_out if prefix == "out" else self.norm_act
        if self.sync_horizon == "window":
            return norm(side.window(state["post_trace"]))
        return norm(read_sync(state[f"{prefix}_num"], state[f"{prefix}_den"]))

    def _tick(self, state: State, ctx) -> State:
        """One internal tick: query -> attention -> synapses -> NLMs; returns the new state."""
        z = state["post_trace"][:, :, -1]
        tokens_ctx, pooled = ctx
        o = self.attention.attend(self._sync(self.sync_action, state, "act"), tokens_ctx)
        a = self.synapses(torch.cat([o, z] if pooled is None else [o, pooled, z], dim=-1))
        pre = torch.cat([state["pre_trace"][:, :, 1:], a.unsqueeze(-1)], dim=-1)
        z = self.nlms(pre)
        new = {"pre_trace": pre, "post_trace": torch.cat([state["post_trace"][:, :, 1:], z.unsqueeze(-1)], dim=-1)}
        if self.sync_horizon == "decayed":
            new["out_num"], new["out_den"] = self.sync_out.step(state["out_num"], state["out_den"], z)
            new["act_num"], new["act_den"] = self.sync_action.step(state["act_num"], state["act_den"], z)
        return new

    # -- forward ------------------------------------------------------------------------------

    def _forward(self, obs: torch.Tensor, state: State, recall) -> AgentOutput:
        B = obs.shape[0]
        if set(state) != self._state_keys:
            raise ValueError(f"state keys {sorted(state)} do not match {sorted(self._state_keys)}")
        tokens, pooled = self.encoder(obs)
        ctx = (self.attention.prepare(tokens, recall), pooled)
        # The prior depends on the entries alone: computed once, added to every tick's outputs.
        prior = self.prior(recall, B, tokens) if self.prior is not None else None
        thinking = torch.ones(B, dtype=torch.bool, device=obs.device)
        ticks_used = torch.zeros(B, dtype=torch.long, device=obs.device)
        logits_per_tick, certainty_per_tick = [], []
        sync_out = logits = None
        for _ in range(self.ticks):
            new = self._tick(state, ctx)
            new_sync = self._sync(self.sync_out, new, "out")
            new_logits = self.actor(new_sync) if prior is None else self.actor(new_sync) + prior[0]
            if self.adaptive_ticks and sync_out is not None:
                # Rows that already stopped keep their state and outputs: they do no more thinking.
                keep = lambda n, o: torch.where(thinking.view(B, *([1] * (n.dim() - 1))), n, o)
                new = {k: keep(v, state[k]) for k, v in new.items()}
                new_sync, new_logits = keep(new_sync, sync_out), keep(new_logits, logits)
            state, sync_out, logits = new, new_sync, new_logits
            ticks_used = ticks_used + thinking.long()
            cert = certainty(logits)
            logits_per_tick.append(logits)
            certainty_per_tick.append(cert)
            if self.adaptive_ticks:
                thinking = thinking & (cert < self.certainty_threshold)
                if not bool(thinking.any()):
                    break
        # Rows all stopped early: later ticks would have repeated the frozen outputs.
        missing = self.ticks - len(logits_per_tick)
        logits_per_tick += [logits] * missing
        certainty_per_tick += [certainty_per_tick[-1]] * missing
        value = self.critic(sync_out).squeeze(-1)
        if prior is not None:
            value = value + prior[1]
        aux = {
            "ticks_used": ticks_used,
            "certainty": certainty_per_tick[-1],
            "certainty_per_tick": torch.stack(certainty_per_tick, dim=-1),
            "logits_per_tick": torch.stack(logits_per_tick, dim=-1),
            "synchronisation": sync_out,
        }
        query = write = None
        if self.memory_io is not None:
            query = self.memory_io.key(obs, sync_out)
            write = WriteRequest(keys=query, values=self.memory_io.value(sync_out))
        return AgentOutput(logits=logits, value=value, state=state, query=query, write=write, aux=aux)
