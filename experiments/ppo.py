"""The PPO update for recurrent agents, top to bottom (after CleanRL's ppo_atari_lstm).

Minibatches hold whole sequences: a set of rows (maze, agent), all T steps, replayed
from the state stored at the start of the rollout and reset where episodes began, with
the memory entries each step actually retrieved. Steps where an agent was not alive
are masked out of every loss.
"""
from __future__ import annotations

import torch
from torch import nn

from experiments.config import PPOConfig
from experiments.rollout import Rollout


def advantages(r: Rollout, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE (T, R) and returns. An agent's episode ends at `ended`; steps where it was not
    alive get zero advantage. Time-limit truncation is terminal on purpose: the limit is part
    of the task (the goal reward falls to 0.1 at `max_steps` and nothing is paid after it), so
    the true return after truncation is 0, and a recurrent agent can tell how long it has been
    acting; bootstrapping there would credit value the task never pays (Pardo et al., 2018,
    "Time Limits in Reinforcement Learning")."""
    T = r.rewards.shape[0]
    adv = torch.zeros_like(r.rewards)
    last = torch.zeros_like(r.next_value)
    for t in reversed(range(T)):
        next_value = r.next_value if t == T - 1 else r.values[t + 1]
        continues = (~r.ended[t]).float()
        delta = r.rewards[t] + gamma * next_value * continues - r.values[t]
        last = (delta + gamma * lam * continues * last) * r.alive[t]
        adv[t] = last
    return adv, adv + r.values


def replay(agent: nn.Module, r: Rollout, rows: torch.Tensor):
    """Re-run the agent over the rollout for `rows`; returns logits (T, n, A), values (T, n), aux."""
    state = {k: v[rows] for k, v in r.init_state.items()}
    # The rows are gathered once for all steps: each step then reads a view, not a new copy.
    obs, starts = r.obs[:, rows], r.starts[:, rows]
    recalls = r.recall.map(lambda x: x[:, rows]) if r.recall is not None else None
    logits, values, aux = [], [], {}
    for t in range(obs.shape[0]):
        state = agent.reset_state(state, starts[t])
        recall = recalls.map(lambda x: x[t]) if recalls is not None else None
        out = agent(obs[t], state, recall)
        logits.append(out.logits)
        values.append(out.value)
        for name, value in out.aux.items():
            aux.setdefault(name, []).append(value)
        state = out.state
    return torch.stack(logits), torch.stack(values), aux


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


def update(agent: nn.Module, optimizer: torch.optim.Optimizer, r: Rollout, cfg: PPOConfig,
           generator: torch.Generator) -> dict[str, float]:
    """One PPO update over rollout `r`. Returns the losses and diagnostics to log."""
    adv, returns = advantages(r, cfg.gamma, cfg.gae_lambda)
    R = r.actions.shape[1]
    n_mb = min(cfg.num_minibatches, R)
    stats: dict[str, list[float]] = {}
    first_ratio = None
    for epoch in range(cfg.update_epochs):
        order = torch.randperm(R, generator=generator, device=generator.device).to(r.actions.device)
        for rows in order.chunk(n_mb):
            logits, new_values, aux = replay(agent, r, rows)
            mask = r.alive[:, rows].float()
            logp_all = torch.log_softmax(logits, -1)
            new_logp = logp_all.gather(-1, r.actions[:, rows].unsqueeze(-1)).squeeze(-1)
            entropy = -(logp_all.exp() * logp_all).sum(-1)
            log_ratio = new_logp - r.logprobs[:, rows]
            ratio = log_ratio.exp()
            with torch.no_grad():
                approx_kl = masked_mean((ratio - 1) - log_ratio, mask)
                clipfrac = masked_mean(((ratio - 1).abs() > cfg.clip_coef).float(), mask)
                if first_ratio is None:
                    first_ratio = (masked_mean(ratio, mask).item(), approx_kl.item())
            mb_adv = adv[:, rows]
            if cfg.norm_adv:
                m = mask.bool()
                mean, std = mb_adv[m].mean(), mb_adv[m].std() if m.sum() > 1 else torch.tensor(1.0)
                mb_adv = (mb_adv - mean) / (std + 1e-8)
            pg_loss = masked_mean(torch.max(-mb_adv * ratio,
                                            -mb_adv * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)), mask)
            mb_returns, old_values = returns[:, rows], r.values[:, rows]
            if cfg.clip_vloss:
                clipped = old_values + (new_values - old_values).clamp(-cfg.clip_coef, cfg.clip_coef)
                v_loss = 0.5 * masked_mean(torch.max((new_values - mb_returns) ** 2,
                                                     (clipped - mb_returns) ** 2), mask)
            else:
                v_loss = 0.5 * masked_mean((new_values - mb_returns) ** 2, mask)
            ent = masked_mean(entropy, mask)
            loss = pg_loss - cfg.ent_coef * ent + cfg.vf_coef * v_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = nn.utils.clip_grad_norm_(agent.parameters(), cfg.max_grad_norm)
            optimizer.step()
            for name, value in (("policy_loss", pg_loss), ("value_loss", v_loss), ("entropy", ent),
                                ("approx_kl", approx_kl), ("clipfrac", clipfrac), ("grad_norm", grad_norm.detach())):
                stats.setdefault(name, []).append(float(value.detach()) if torch.is_tensor(value) else float(value))
        if cfg.target_kl is not None and approx_kl > cfg.target_kl:
            break
    out = {name: sum(v) / len(v) for name, v in stats.items()}
    valid = r.alive.float()
    var_y = returns[r.alive].var() if r.alive.sum() > 1 else torch.tensor(0.0)
    out["explained_variance"] = float("nan") if var_y == 0 else \
        float(1 - (returns - r.values)[r.alive].var() / var_y)
    out["first_ratio"], out["first_approx_kl"] = first_ratio
    out["active_fraction"] = float(valid.mean())
    return out
