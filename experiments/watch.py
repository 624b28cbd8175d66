"""Watching an evaluation: each maze's plays as a GIF and a filmstrip, and its store on its map.

`Recorder` is an `evaluate` watcher (it only reads). For the first `n_mazes` held-out mazes it
keeps, at every step, where each agent stood and what its read matched: the entries whose key
is the agent's own view (similarity >= `match`, as the trail follower counts it), of which it
shows the one that reached the goal soonest, else the closest. At the first step of every play
after the first it copies what the maze's stores hold from the plays before (the newcomers'
stores after the solo ones were cleared), and places each entry on the square where its writer
stood when it acted (an entry carries its writer, episode and step: memory/ring.py).

`save(folder)` writes per maze: `maze_BB.gif` (every play, one frame a step), `maze_BB_film.png`
(a row of frames per play) and `maze_BB_store.png` (a panel per later play: the entries it
starts from, each square's best one drawn as an arrow in its writer's colour, with its steps
left to the goal). In frames: the goal is green, each agent a disc in its colour with its trail
of this episode as small squares, and a square where its read matched an outlined arrow in the
writer's colour, pointing where that writer went. The caption says what each agent read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from envs.layouts import Layout
from envs.render import palette, render_rgb
from envs.rules import ACTION_DELTAS, ACTION_NAMES
from experiments.pictures import save_gif, save_png
from memory.outcome import OutcomeCodec

TILE = 24
CAPTION_LINE, CAPTION_WIDTH = 13, 330      # pixels: a line of text, the narrowest picture


@dataclass(frozen=True)
class Entry:
    """One memory entry as a picture shows it: where its writer stood, who wrote it and, for
    outcome entries, what it says (action -1 and steps_left -1 where not decoded or not reached)."""

    square: tuple[int, int]
    writer: int
    action: int = -1
    steps_left: int = -1
    score: float = float("nan")


@dataclass
class Play:
    """One play (a visit or the newcomers' episode) of one maze: per step the agents' squares
    (N, 2), who acted (N,) and what each read matched (None: nothing)."""

    name: str
    squares: list[np.ndarray] = field(default_factory=list)
    alive: list[np.ndarray] = field(default_factory=list)
    reads: list[list[Entry | None]] = field(default_factory=list)
    store: list[Entry] | None = None          # what the maze's stores held when it began


class Recorder:
    """See the module docstring. `phases`: the names of a maze's plays, in order
    (`evaluate.phase_names`); `codec`: decodes outcome entries (None: other content). Give it
    the evaluation's bank with `attach` as soon as it is made (without one, no store panels)."""

    def __init__(self, n_mazes: int, phases: list[str], codec: OutcomeCodec | None, match: float = 0.9999):
        if isinstance(n_mazes, bool) or not isinstance(n_mazes, int) or n_mazes < 1:
            raise ValueError(f"n_mazes={n_mazes!r} must be an int >= 1 (mazes to watch)")
        self.n_requested, self.phases, self.codec, self.match = n_mazes, phases, codec, match
        self.bank, self.start_clock = None, 0
        self.layouts: list[Layout] = []
        self.plays: list[list[Play]] = []
        self.where: list[dict[tuple[int, int, int], tuple[int, int]]] = []   # (episode, agent, step) -> square

    def attach(self, bank):
        """Watch `bank` (returned as is): entries it already holds (a starting bank's) were
        written before the recording, on squares it cannot know, and are not drawn."""
        self.bank, self.start_clock = bank, (bank.clock if bank is not None else 0)
        return bank

    def __call__(self, before, step, info, env) -> None:
        if not self.layouts:
            self.n = min(self.n_requested, env.n_mazes)
            self.layouts = [env.world.layouts[b] for b in range(self.n)]
            self.plays = [[Play(self.phases[0])] for _ in range(self.n)]
            self.where = [{} for _ in range(self.n)]
            self.done = [False] * self.n
        squares, alive = before[0][:self.n].cpu().numpy(), before[1][:self.n].cpu().numpy()
        recall, N = step["recall"], squares.shape[1]
        for b in range(self.n):
            if self.done[b]:
                continue                                 # this maze has played every play
            episode, play = len(self.plays[b]) - 1, self.plays[b][-1]   # a play is one episode
            t = len(play.squares)                                        # its step
            if episode > 0 and t == 0:      # a later play's first step: what the stores hold now
                play.store = self.store_entries(b, episode)
            play.squares.append(squares[b])
            play.alive.append(alive[b])
            play.reads.append([self.read(recall, b * N + i) if alive[b, i] and recall is not None else None
                               for i in range(N)])
            for i in np.flatnonzero(alive[b]):
                self.where[b][(episode, int(i), t)] = (int(squares[b, i, 0]), int(squares[b, i, 1]))
            if bool(info["reset"][b]):
                if episode + 1 < len(self.phases):
                    self.plays[b].append(Play(self.phases[episode + 1]))
                else:
                    self.done[b] = True

    def read(self, recall, row: int) -> Entry | None:
        """What the read of `row` matched: the entry that reached the goal soonest, else the closest."""
        matched = recall.mask[row] & (recall.scores[row] >= self.match)
        if not matched.any():
            return None
        slots = torch.nonzero(matched).flatten()
        choice = slots[recall.scores[row][slots].argmax()]
        action = steps = -1
        if self.codec is not None:
            labels = self.codec.decode(recall.values[row][slots])
            if labels.reached.any():
                soonest = labels.steps_left.masked_fill(~labels.reached, 10**9).argmin()
                choice = slots[soonest]
            label = self.codec.decode(recall.values[row][choice])
            action, steps = int(label.action), int(label.steps_left)
        return Entry(square=(-1, -1), writer=int(recall.writers[row][choice]), action=action, steps_left=steps,
                     score=float(recall.scores[row][choice]))

    def store_entries(self, b: int, episode: int) -> list[Entry]:
        """Entries of maze `b`'s stores written in its episodes before `episode`, placed."""
        if self.bank is None:
            return []
        ring, stores = self.bank.ring, self.bank.store_of[b]
        out = []
        for s in torch.unique(stores[stores >= 0]).tolist():
            used = (ring.entry_id[s] >= 0) & (ring.episode[s] < episode) & (ring.write_time[s] > self.start_clock)
            labels = self.codec.decode(ring.values[s][used]) if self.codec is not None else None
            for j, (writer, ep, t) in enumerate(zip(ring.writer[s][used].tolist(), ring.episode[s][used].tolist(),
                                                    ring.step[s][used].tolist())):
                square = self.where[b][(ep, writer, t)]
                action = steps = -1
                if labels is not None:
                    action, steps = int(labels.action[j]), int(labels.steps_left[j])
                out.append(Entry(square=square, writer=writer, action=action, steps_left=steps))
        return out

    def save(self, folder: Path, fps: int = 4) -> list[Path]:
        """Write each watched maze's GIF, filmstrip and store panels to `folder`; the paths."""
        written = []
        for b in range(len(self.layouts)):
            plays, layout = [p for p in self.plays[b] if p.squares], self.layouts[b]
            frames = [[frame(layout, play, t, b) for t in range(len(play.squares))] for play in plays]
            gif = folder / f"maze_{b:02d}.gif"
            save_gif([f for fs in frames for f in fs], gif, fps=fps)
            film = folder / f"maze_{b:02d}_film.png"
            save_png(play_strips(frames), film)
            written += [gif, film]
            later = [p for p in plays if p.store is not None]
            if later:
                store = folder / f"maze_{b:02d}_store.png"
                save_png(np.concatenate([store_panel(layout, p) for p in later], axis=1), store)
                written.append(store)
        return written


# ------------------------------------------------------------------------------- drawing
def centre(square) -> tuple[float, float]:
    """Pixel (x, y) of a square's centre."""
    return (square[1] + 0.5) * TILE, (square[0] + 0.5) * TILE


def arrow(draw: ImageDraw.ImageDraw, square, action: int, colour, outline=None) -> None:
    """An arrow from the square's centre in the action's direction (a dot for stay or unknown)."""
    x, y = centre(square)
    if action <= 0:
        r = TILE * 0.18
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour, outline=outline)
        return
    dy, dx = ACTION_DELTAS[action].tolist()
    length, half = TILE * 0.42, TILE * 0.2
    tip = (x + dx * length, y + dy * length)
    base = (x - dx * length * 0.6, y - dy * length * 0.6)
    head_base = (x + dx * length * 0.1, y + dy * length * 0.1)
    side = (-dy * half, dx * half)
    draw.line((base, head_base), fill=colour, width=max(2, TILE // 8))
    draw.polygon([tip, (head_base[0] + side[0], head_base[1] + side[1]),
                  (head_base[0] - side[0], head_base[1] - side[1])], fill=colour, outline=outline)


def describe(entry: Entry) -> str:
    if entry.action < 0:
        return f"agent {entry.writer}'s entry (similarity {entry.score:.2f})"
    went = f"agent {entry.writer} went {ACTION_NAMES[entry.action]}"
    return went + (f", goal {entry.steps_left} steps later" if entry.steps_left >= 0 else ", never reached the goal")


def with_caption(image: Image.Image, lines: list[tuple[str, tuple]]) -> np.ndarray:
    """The image over a white band with one line of text each (text, colour)."""
    width = max(image.width, CAPTION_WIDTH)
    out = Image.new("RGB", (width, image.height + CAPTION_LINE * len(lines) + 4), (255, 255, 255))
    out.paste(image, (0, 0))
    draw, font = ImageDraw.Draw(out), ImageFont.load_default()
    for k, (text, colour) in enumerate(lines):
        draw.text((3, image.height + 2 + k * CAPTION_LINE), text, fill=colour, font=font)
    return np.asarray(out)


def frame(layout: Layout, play: Play, t: int, maze: int) -> np.ndarray:
    """Step `t` of `play`: trails so far, matched reads so far, the agents, a caption."""
    N = len(play.squares[t])
    colours = [tuple(int(v) for v in c) for c in palette(N)]
    image = Image.fromarray(render_rgb(layout, np.zeros((0, 2), np.int64), np.zeros(0, bool), tile=TILE))
    draw = ImageDraw.Draw(image)
    lo, hi = TILE * 0.42, TILE * 0.58
    for s in range(t):
        for i in np.flatnonzero(play.alive[s]):
            x, y = centre(play.squares[s][i])
            draw.rectangle((x - TILE / 2 + lo, y - TILE / 2 + lo, x - TILE / 2 + hi, y - TILE / 2 + hi),
                           fill=colours[i])
    for s in range(t + 1):
        for i, entry in enumerate(play.reads[s]):
            if entry is not None:
                writer = colours[entry.writer % N]
                arrow(draw, play.squares[s][i], entry.action, writer, outline=(30, 30, 30))
    r = TILE * 0.3
    for i in np.flatnonzero(play.alive[t]):
        x, y = centre(play.squares[t][i])
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colours[i], outline=(30, 30, 30))
    lines = [(f"maze {maze}, {play.name.replace('_', ' ')}, step {t + 1}", (0, 0, 0))]
    for i in range(N):
        entry = play.reads[t][i]
        text = ("done" if not play.alive[t][i] else
                "read nothing at this view" if entry is None else "read: " + describe(entry))
        lines.append((f"agent {i}: {text}", colours[i]))
    return with_caption(image, lines)


def store_panel(layout: Layout, play: Play) -> np.ndarray:
    """The entries `play` started from, on the map: per square the best one (reached the goal
    soonest) as an arrow in its writer's colour with its steps left; grey dots where none reached."""
    best: dict[tuple[int, int], Entry] = {}
    for e in play.store:
        old = best.get(e.square)
        rank = lambda x: (x.steps_left < 0, x.steps_left)  # noqa: E731
        if old is None or rank(e) < rank(old):
            best[e.square] = e
    image = Image.fromarray(render_rgb(layout, np.zeros((0, 2), np.int64), np.zeros(0, bool), tile=TILE))
    draw, font = ImageDraw.Draw(image), ImageFont.load_default()
    n_agents = max([len(play.squares[0])] + [e.writer + 1 for e in play.store])
    colours = [tuple(int(v) for v in c) for c in palette(n_agents)]
    for square, e in best.items():
        if e.steps_left < 0 and e.action >= 0:
            arrow(draw, square, 0, (150, 150, 150))
            continue
        arrow(draw, square, e.action, colours[e.writer], outline=(30, 30, 30))
        if e.steps_left >= 0:
            draw.text((square[1] * TILE + 1, square[0] * TILE), str(e.steps_left), fill=(0, 0, 0), font=font)
    reached = sum(e.steps_left >= 0 for e in play.store)
    return with_caption(image, [(f"before {play.name.replace('_', ' ')}:", (0, 0, 0)),
                                (f"{len(play.store)} entries, {reached} reached", (0, 0, 0))])


def play_strips(plays: list[list[np.ndarray]], per_row: int = 10) -> np.ndarray:
    """A row of up to `per_row` evenly spaced frames per play, padded to one width."""
    rows = []
    for frames in plays:
        idx = np.linspace(0, len(frames) - 1, min(per_row, len(frames))).round().astype(int)
        rows.append(np.concatenate([frames[i] for i in idx], axis=1))
    width = max(r.shape[1] for r in rows)
    return np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255)
                           for r in rows], axis=0)
