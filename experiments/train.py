"""Train agents with PPO in the batched maze, memory in the loop, logging to TensorBoard.

    python -m experiments.train                                  # defaults in configs/train.yaml
    python -m experiments.train agent=lstm memory=solo seed=3
    python -m experiments.train -m +experiment=compare           # none/solo/shared x 3 seeds

Everything a run writes lands in its run directory: config.yaml (the resolved config
that ran), machine.json (the machine and kernel paths it ran on, experiments/machine.py),
TensorBoard event files, checkpoints/, images, results.json (final metrics).
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from experiments import checkpoint, machine, resume
from experiments.build import build_run, set_learning_rate
from experiments.config import ConfigError, TrainConfig, resolve_torch_threads
from experiments.evaluate import evaluate
from experiments.logbook import EpisodeLog, RunLogger
from experiments.memory_metrics import memory_scalars
from experiments.ppo import update
from fileio.atomic import atomic_write_text


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} is not allowed: no CUDA device is visible (use 'auto' or 'cpu')")
    return torch.device(name)


def train(cfg: TrainConfig) -> dict[str, float]:
    """Run (or resume) one training run; returns the final metrics (also in results.json)."""
    # 0 threads means automatic; the config written to run_dir records the number used.
    cfg = dataclasses.replace(cfg, torch_threads=resolve_torch_threads(cfg.torch_threads))
    torch.set_num_threads(cfg.torch_threads)
    device = resolve_device(cfg.device)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # Checked before any work: the checkpoint is whole and the config makes the same run.
    found = resume.find(run_dir, cfg, device) if cfg.resume else None
    finished = resume.finished_results(run_dir, found, cfg.num_updates) if found is not None else None
    if finished is not None:
        print(f"{run_dir} finished already (update {found.state['update']}); results.json kept")
        return finished
    # Resuming, the checkpoint's bank stands in for the fresh one before the collector holds it.
    load_bank = (lambda: resume.load_bank(found, device)) if found is not None else None
    run = build_run(cfg, device, load_bank)
    env, agent, bank, collector = run.env, run.agent, run.bank, run.collector
    optimizer, sampler, shuffler, scale = run.optimizer, run.sampler, run.shuffler, run.scale

    start_update, global_step = 0, 0
    if found is not None:
        start_update, global_step = resume.restore(found, agent, optimizer, sampler, shuffler, scale)
    write_config(run_dir, cfg)
    machine.record(run_dir, start_update, device)
    logger = RunLogger(run_dir, cfg, purge_step=global_step + 1 if found is not None else None)
    # The env restarts on resume (episodes in flight are not checkpointed), from a seed
    # that depends on where the run stands, so a resumed run is deterministic too.
    collector.start(env_seed(cfg.seed, start_update))

    num_updates, T = cfg.num_updates, cfg.algo.num_steps
    episodes = EpisodeLog(env, logger, cfg.log.episode_window)
    metrics: dict[str, float] = {}
    progress = logger.progress(total=num_updates, initial=start_update)
    for u in range(start_update, num_updates):
        if cfg.algo.anneal_lr:
            set_learning_rate(optimizer, cfg.algo.learning_rate * (1.0 - u / num_updates))
        t0 = time.perf_counter()
        rollout = collector.collect(T, on_step=episodes.on_step)
        t1 = time.perf_counter()
        losses = update(agent, optimizer, rollout, cfg.algo, shuffler)
        t2 = time.perf_counter()
        global_step += cfg.steps_per_update
        scalars = episodes.flush()
        scalars.update({f"losses/{k}": v for k, v in losses.items()})
        scalars["charts/learning_rate"] = optimizer.param_groups[0]["lr"]
        scalars["charts/SPS"] = cfg.steps_per_update / (t2 - t0)
        scalars["time/rollout_fraction"] = (t1 - t0) / (t2 - t0)
        for name, value in rollout.aux.items():
            if name in ("ticks_used", "certainty"):
                scalars[f"ctm/{name}"] = float(value[rollout.alive].float().mean())
        if bank is not None:
            scalars.update(memory_scalars(bank.stats()))
            bank.reset_stats()  # per-update rates, not totals since the start
        last = u + 1 == num_updates
        if cfg.eval.every and ((u + 1) % cfg.eval.every == 0) or last:
            for greedy in ([True, False] if cfg.eval.both else [cfg.eval.greedy]):
                tag = "eval" if greedy == cfg.eval.greedy else ("eval_greedy" if greedy else "eval_sampled")
                result = evaluate(agent, cfg, run.make_bank, device, greedy=greedy, seed=cfg.seed)
                scalars.update({f"{tag}/{k}": v for k, v in result.items()})
            if last and cfg.eval.random_writers:
                result = evaluate(agent, cfg, run.make_bank, device, greedy=cfg.eval.greedy, seed=cfg.seed,
                                  writers="random")
                scalars.update({f"eval_random_writers/{k}": v for k, v in result.items()})
        logger.scalars(scalars, global_step)
        if cfg.log.images_every and ((u + 1) % cfg.log.images_every == 0 or last):
            episodes.log_images(global_step)
        if cfg.log.video_every and ((u + 1) % cfg.log.video_every == 0 or last):
            episodes.log_video(global_step, run_dir)
        metrics.update(scalars)
        progress.update(1)
        progress.set_postfix(step=global_step, SPS=f"{scalars['charts/SPS']:.0f}",
                             success=f"{episodes.recent_success():.2f}")
        if (cfg.log.checkpoint_every and (u + 1) % cfg.log.checkpoint_every == 0) or last:
            state = {"agent": agent.state_dict(), "optimizer": optimizer.state_dict(),
                     "sampler": sampler.get_state(), "shuffler": shuffler.get_state(),
                     "reward_scale": scale.state_dict() if scale is not None else {},
                     "update": u + 1, "global_step": global_step,
                     "config": cfg.to_dict(), "device": device.type}  # what resume checks
            checkpoint.save(run_dir, u + 1, state, bank)
    progress.close()
    final = {k: v for k, v in metrics.items() if k.startswith(("eval", "charts/", "memory/", "ctm/"))}
    final["global_step"] = global_step
    logger.hparams(final)
    logger.close()
    atomic_write_text(run_dir / "results.json", json.dumps(final, indent=2, sort_keys=True))
    logger.summary(final)
    return final


def env_seed(seed: int, update: int) -> int:
    """The env's reset seed for a run of `seed` that starts (or resumes) before `update`."""
    return seed * 1_000_003 + update


def write_config(run_dir: Path, cfg: TrainConfig) -> None:
    from omegaconf import OmegaConf

    atomic_write_text(run_dir / "config.yaml", OmegaConf.to_yaml(OmegaConf.create(cfg.to_dict())))


def _hydra_entry():
    import hydra
    from omegaconf import DictConfig, OmegaConf

    config_dir = str(Path(__file__).resolve().parent.parent / "configs")

    @hydra.main(config_path=config_dir, config_name="train", version_base="1.3")
    def main(raw: DictConfig) -> float:
        cfg = TrainConfig.from_dict(OmegaConf.to_container(raw, resolve=True))
        final = train(cfg)
        return float(final.get("eval/success_rate", np.nan))

    return main


def main() -> None:
    """Console script `maze-train`: the Hydra app."""
    _hydra_entry()()


if __name__ == "__main__":
    main()
