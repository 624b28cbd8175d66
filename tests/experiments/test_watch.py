"""maze-eval --watch (experiments/watch.py): frames show where the agents were, stores are drawn
where their entries were written, and the files come out."""
import numpy as np
import pytest
import torch
from PIL import Image

from envs.render import palette
from experiments.build import bank_factory, content_for
from experiments.evaluate import evaluate, phase_names
from experiments.reevaluate import changed_config, load_agent, main, writer_agent
from experiments.watch import TILE, Recorder, frame
from memory.outcome import OutcomeCodec

GOAL = (60, 190, 80)   # envs/render.py's goal colour


@pytest.fixture(scope="module")
def watched(finished_run):
    """A recorder of both held-out mazes of the tiny run's evaluation with trail-follower
    writers; every view key each agent had, by maze and square {(maze, square): [key]}; and the
    key of every entry the mazes' stores held {(maze, episode, writer, step): key}."""
    run_dir, _ = finished_run
    saved, cfg = changed_config(run_dir, [])
    cpu = torch.device("cpu")
    agent = load_agent(run_dir, saved, cfg, cpu)[0]
    banks, make = [], bank_factory(cfg, agent, cfg.maze.n_agents, cpu)
    recorder = Recorder(2, phase_names(cfg.eval), OutcomeCodec(5, cfg.maze.horizon))
    keys = content_for(cfg, make(cfg.eval.episodes), agent, 5).keys      # the run's own view keys
    views: dict[tuple[int, tuple[int, int]], list[torch.Tensor]] = {}
    entries: dict[tuple[int, int, int, int], torch.Tensor] = {}

    def watch(before, step, info, env):
        recorder(before, step, info, env)
        pos, alive = before
        obs = step["obs"].view(*alive.shape, *step["obs"].shape[1:])
        for b, i in torch.nonzero(alive).tolist():
            square = tuple(pos[b, i].tolist())
            views.setdefault((b, square), []).append(keys.key(keys.view(obs[b, i]), torch.zeros(0, keys.n_view + 5)))
        ring = banks[0].ring
        for b in range(2):
            s = int(banks[0].store_of[b, 0])
            for slot in torch.nonzero(ring.entry_id[s] >= 0).flatten().tolist():
                meta = (b, *(int(getattr(ring, f)[s, slot]) for f in ("episode", "writer", "step")))
                entries[meta] = ring.keys[s, slot].clone()

    evaluate(agent, cfg, lambda n: banks.append(recorder.attach(make(n))) or banks[0], cpu, greedy=True, seed=cfg.seed,
             writers=writer_agent("trail_follower", cfg, agent, cpu), watch=watch)
    return recorder, views, entries


def test_every_play_of_each_watched_maze_is_recorded(watched):
    recorder, _, _ = watched
    assert len(recorder.plays) == 2
    for plays in recorder.plays:
        assert [p.name for p in plays] == ["visit_1", "visit_2", "newcomer"]
        assert all(len(p.squares) == len(p.alive) == len(p.reads) > 0 for p in plays)
        assert plays[0].store is None and all(p.store is not None for p in plays[1:])


def test_frames_show_the_agents_where_they_were_and_the_goal(watched):
    recorder, _, _ = watched
    for b, plays in enumerate(recorder.plays):
        layout = recorder.layouts[b]
        goal = tuple(int(v) * TILE + 1 for v in layout.goal)
        for play in plays:
            colours = palette(len(play.squares[0]))
            for t in range(len(play.squares)):
                image = frame(layout, play, t, b)
                assert tuple(image[goal]) == GOAL
                drawn = {}
                for i in np.flatnonzero(play.alive[t]):       # the last agent on a square is on top
                    drawn[tuple(play.squares[t][i])] = i
                for (r, c), i in drawn.items():
                    centre = (int((r + 0.5) * TILE), int((c + 0.5) * TILE))
                    assert tuple(image[centre]) == tuple(colours[i])


def test_store_entries_are_placed_where_their_writer_saw_their_key(watched):
    recorder, views, entries = watched
    assert entries, "the trail follower's visits fill the store"
    for (b, episode, writer, step), key in entries.items():
        square = recorder.where[b][(episode, writer, step)]
        seen = torch.stack(views[(b, square)])
        assert float((seen @ key).max()) > 0.9999       # the view there is the entry's key


def test_store_panels_hold_the_entries_of_the_plays_before(watched):
    recorder, _, entries = watched
    for b, plays in enumerate(recorder.plays):
        for k, play in enumerate(plays[1:], start=1):
            before = [m for m in entries if m[0] == b and m[1] < k]
            assert play.store and len(play.store) == len(before)
            assert {e.square for e in play.store} == {recorder.where[b][m[1:]] for m in before}
            assert all(0 <= e.writer < 4 and 0 <= e.action <= 4 for e in play.store)


def test_reads_name_an_entry_that_matched_the_view(watched):
    recorder, _, _ = watched
    reads = [e for plays in recorder.plays for p in plays for step in p.reads for e in step if e is not None]
    assert reads and all(e.score >= 0.9999 and 0 <= e.writer < 4 for e in reads)
    assert any(e.steps_left >= 0 for e in reads)     # the trail follower reaches the goal: labels say so


def test_maze_eval_watch_writes_a_gif_a_filmstrip_and_store_panels(finished_run, tmp_path):
    run_dir, _ = finished_run
    assert main([str(run_dir), "--watch", "1", "--out", str(tmp_path / "out")]) == 0
    folder = next((tmp_path / "out").glob("*/watch"))
    assert sorted(p.name for p in folder.iterdir()) == ["maze_00.gif", "maze_00_film.png", "maze_00_store.png"]
    gif = Image.open(folder / "maze_00.gif")
    assert gif.n_frames > 3


def test_bad_watch_counts_are_refused(finished_run, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(finished_run[0]), "--watch", "-1", "--out", str(tmp_path / "out")])
    assert "--watch -1" in capsys.readouterr().err
    with pytest.raises(ValueError, match="n_mazes=0"):
        Recorder(0, ["visit_1"], None)


def test_a_starting_banks_entries_are_not_drawn(finished_run, tmp_path):
    """Entries of a starting bank were written elsewhere: none is placed on this maze's squares,
    even where its (episode, writer, step) equals one of this evaluation's."""
    from experiments.reevaluate import reevaluate
    from memory import MemoryBank

    run_dir, _ = finished_run
    latest = run_dir / "checkpoints" / (run_dir / "checkpoints" / "latest").read_text().strip()
    saved = MemoryBank.load(latest / "memory.bank")
    saved.ring.episode[saved.ring.entry_id >= 0] = 0          # as if written in the first visit
    saved.save(tmp_path / "collide.bank")
    _, _, recorder = reevaluate(run_dir, ["eval.episodes=4"], watch=1, memory=tmp_path / "collide.bank")
    assert recorder.start_clock == saved.clock > 0
    visit_1_steps = [key for key in recorder.where[0] if key[0] == 0]
    # one entry per step an agent acted in visit 1 (hindsight writes them all), nothing more
    assert len(recorder.plays[0][1].store) == len(visit_1_steps) > 0
