"""What a run reports: TensorBoard scalars and images, its progress (a console bar and the
progress file the main job's sweep line reads), a closing summary.

Tags follow CleanRL (`charts/...`, `losses/...`) plus `memory/...`, `ctm/...`, `eval/...`.
`charts/steps_to_goal_over_bfs` is path efficiency: steps taken / BFS distance from the
spawn, over successful agent-episodes (1 = a shortest path).
"""
from __future__ import annotations

import sys
from collections import deque
from pathlib import Path

import numpy as np
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from experiments import pictures
from experiments.progress import write_run_progress


class RunLogger:
    def __init__(self, run_dir: Path, cfg, purge_step: int | None = None):
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.writer = SummaryWriter(str(run_dir), purge_step=purge_step)

    def scalars(self, values: dict[str, float], step: int) -> None:
        for tag, value in values.items():
            if value is not None and np.isfinite(value):
                self.writer.add_scalar(tag, value, step)

    def image(self, tag: str, image: np.ndarray, step: int) -> None:
        self.writer.add_image(tag, image, step, dataformats="HWC")

    def progress(self, total: int, initial: int = 0) -> RunProgress:
        """Progress in updates: a console bar if `log.progress`, and always the progress file."""
        bar = tqdm(total=total, initial=initial, desc="updates", unit="upd", file=sys.stdout,
                   disable=not self.cfg.log.progress, dynamic_ncols=True)
        return RunProgress(bar, self.run_dir, total, initial, self.cfg.steps_per_update)

    def hparams(self, final: dict[str, float]) -> None:
        cfg = self.cfg
        hp = {"seed": cfg.seed, "memory.mode": cfg.memory.mode, "memory.k": cfg.memory.k,
              "agent": cfg.agent["_target_"], "n_mazes": cfg.n_mazes, "total_steps": cfg.total_steps,
              "algo.learning_rate": cfg.algo.learning_rate, "algo.num_steps": cfg.algo.num_steps}
        hp.update({f"memory.bank.{k}": v for k, v in cfg.memory.bank.items() if isinstance(v, (int, float, str, bool))})
        hp.update({f"env.{k}": v for k, v in cfg.env.items() if isinstance(v, (int, float, str, bool))})
        metrics = {f"hparam/{k}": v for k, v in final.items()
                   if k.startswith(("eval/", "charts/success", "charts/episodic_return")) and np.isfinite(v)}
        self.writer.add_hparams(hp, metrics, run_name=".")

    def summary(self, final: dict[str, float]) -> None:
        cfg = self.cfg
        print(f"\nRun finished: {cfg.agent['_target_']} memory={cfg.memory.mode} seed={cfg.seed} "
              f"steps={int(final.get('global_step', 0)):,}")
        keys = ["charts/success_rate", "charts/episodic_return", "charts/steps_to_goal_over_bfs",
                "eval/success_rate", "eval/steps_over_bfs", "charts/SPS"]
        keys += sorted(k for k in final if k.startswith("eval/visit_") and k.endswith("success_rate"))
        for k in keys:
            if k in final:
                print(f"  {k:<36} {final[k]:10.3f}")
        print(f"  TensorBoard: tensorboard --logdir {self.cfg.run_dir}")

    def close(self) -> None:
        self.writer.close()


class RunProgress:
    """A run's progress bar that also keeps run_dir/progress.json (agent-steps done and the
    run's total) current at every update, for a watcher in another process."""

    def __init__(self, bar: tqdm, run_dir: Path, total: int, initial: int, steps_per_update: int):
        self.bar, self.run_dir, self.steps_per_update = bar, run_dir, steps_per_update
        self.total, self.done = total, initial
        self._write()

    def update(self, n: int = 1) -> None:
        self.bar.update(n)
        self.done += n
        self._write()

    def set_postfix(self, **values) -> None:
        self.bar.set_postfix(**values)

    def close(self) -> None:
        self.bar.close()

    def _write(self) -> None:
        write_run_progress(self.run_dir, self.done * self.steps_per_update,
                           self.total * self.steps_per_update)


class EpisodeLog:
    """Collects finished agent-episodes and maze-0 pictures from the per-step info.

    `charts/*` are means over the last `window` finished agent-episodes (a trailing window, as
    SB3's ep_info_buffer), so a curve stays readable when few episodes end per update; a point
    is logged only when at least one episode ended since the last one.
    """

    def __init__(self, env, logger: RunLogger, window: int = 256):
        if window < 1:
            raise ValueError(f"log.episode_window={window} must be >= 1")
        self.env, self.logger = env, logger
        self.returns, self.lengths, self.success = deque(maxlen=window), deque(maxlen=window), deque(maxlen=window)
        self.efficiency = deque(maxlen=window)   # successful episodes only
        self.new_episodes = 0
        H, W = env.config.grid_shape
        self.visits = np.zeros((H, W), dtype=np.int64)
        self.path: list[np.ndarray] = []
        self.path_alive: list[np.ndarray] = []
        self.writes: list[np.ndarray] = []

    def on_step(self, info: dict, out, actions) -> None:
        reset = info["reset"]
        if bool(reset.any()):
            success = info["episode_success"][reset]
            self.returns.extend(info["episode_return"][reset].flatten().tolist())
            self.lengths.extend(info["episode_length"][reset].flatten().float().tolist())
            self.success.extend(success.flatten().float().tolist())
            eff = (info["episode_length"][reset][success].float()
                   / info["episode_start_distance"][reset][success].clamp(min=1))
            self.efficiency.extend(eff.tolist())
            self.new_episodes += int(success.numel())
        # Maze 0's current episode, for the pictures.
        pos, alive = info["position"][0].cpu().numpy(), info["alive"][0].cpu().numpy()
        if bool(info["layout_changed"][0]):
            self.visits[:] = 0
            self.writes = []
        if bool(reset[0]):
            self.path, self.path_alive = [], []
        self.path.append(pos)
        self.path_alive.append(alive)
        np.add.at(self.visits, (pos[alive, 0], pos[alive, 1]), 1)
        if out.write is not None:
            self.writes.append(pos[alive])

    def flush(self) -> dict[str, float]:
        """The trailing-window means, or {} when no episode ended since the last flush."""
        if not self.new_episodes:
            return {}
        self.new_episodes = 0
        out = {"charts/episodic_return": float(np.mean(self.returns)),
               "charts/episodic_length": float(np.mean(self.lengths)),
               "charts/success_rate": float(np.mean(self.success))}
        if self.efficiency:
            out["charts/steps_to_goal_over_bfs"] = float(np.mean(self.efficiency))
        return out

    def recent_success(self) -> float:
        return float(np.mean(self.success)) if self.success else float("nan")

    def log_video(self, step: int, run_dir: Path) -> None:
        """Maze 0's current episode as a GIF in run_dir/videos/ and a filmstrip image."""
        layout = self.env.world.layouts[0]
        if layout is None or not self.path:
            return
        frames = pictures.episode_frames(layout, np.stack(self.path), np.stack(self.path_alive))
        pictures.save_gif(frames, run_dir / "videos" / f"step_{step:09d}.gif")
        self.logger.image("maze/episode_filmstrip", pictures.filmstrip(frames), step)

    def log_images(self, step: int) -> None:
        layout = self.env.world.layouts[0]
        if layout is None or not self.path:
            return
        self.logger.image("maze/trajectories", pictures.trajectories(
            layout, np.stack(self.path), np.stack(self.path_alive)), step)
        self.logger.image("maze/visitation", pictures.heat_map(layout, self.visits), step)
        if self.writes:
            squares = np.unique(np.concatenate(self.writes), axis=0)
            self.logger.image("memory/write_locations", pictures.marks(layout, squares), step)
