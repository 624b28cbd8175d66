"""The egocentric window against a square-by-square reference, everywhere on the grid."""
import numpy as np
import pytest
import torch

from envs import MazeConfig
from envs.layouts import make_layout
from envs.rules import ObservationTables, observe, pack_cells, sight_lines
from tests.envs.reference import visible, window


def windows_at_every_square(layout, view, see_through_walls, others, extra=False):
    """Place agent 0 on every floor square (others fixed) and observe in one batch."""
    floor = np.argwhere(~layout.walls)
    pad = view // 2
    B, N = len(floor), 1 + len(others)
    pos = np.zeros((B, N, 2), dtype=np.int64)
    pos[:, 0] = floor
    if others:
        pos[:, 1:] = np.array(others)
    code = torch.from_numpy(pack_cells(layout.walls, layout.landmarks, layout.goal, pad))
    code = code.unsqueeze(0).expand(B, -1, -1).contiguous()
    tables = ObservationTables.build(view, code.shape[-1], "cpu")
    alive = torch.ones(B, N, dtype=torch.bool)
    last = torch.full((B, N), 3)
    obs = observe(code, torch.from_numpy(pos), alive, last, tables, pad, see_through_walls, extra, extra)
    return pos, obs.numpy()


@pytest.mark.parametrize("view", [3, 5, 7])
@pytest.mark.parametrize("see_through_walls", [True, False])
@pytest.mark.parametrize("generator", ["dfs", "rooms", "open"])
def test_window_matches_reference_everywhere(view, see_through_walls, generator):
    layout = make_layout(generator, 4, 5, n_agents=2, seed=3, braid_fraction=0.4, n_landmarks=6)
    others = [tuple(layout.spawns[1]), tuple(layout.spawns[1])]  # two agents on one square
    pos, obs = windows_at_every_square(layout, view, see_through_walls, others)
    alive = np.ones(3, dtype=bool)
    for b in range(len(pos)):
        expected = window(layout, pos[b], alive, 0, view, see_through_walls)
        np.testing.assert_array_equal(obs[b, 0], expected, err_msg=f"agent at {tuple(pos[b, 0])}")


def test_optional_position_and_last_action_planes():
    layout = make_layout("dfs", 3, 3, n_agents=1, seed=0)
    pos, obs = windows_at_every_square(layout, 5, False, [], extra=True)
    assert obs.shape[2] == 9
    for b in range(len(pos)):
        expected = window(layout, pos[b], [True], 0, 5, False, last_action=3,
                          observe_position=True, observe_last_action=True)
        np.testing.assert_array_equal(obs[b, 0], expected)


def test_sight_lines_agree_with_sampled_segments():
    """The slab-test table equals the sampled reference on random wall patterns."""
    rng = np.random.default_rng(0)
    for view in (3, 5, 7, 9):
        between, valid = sight_lines(view)
        r = view // 2
        for _ in range(30):
            walls = rng.random((view, view)) < 0.35
            walls[r, r] = False
            for t in range(view * view):
                ty, tx = divmod(t, view)
                fast = not (walls.reshape(-1)[between[t]] & valid[t]).any()
                assert fast == visible(walls, (r, r), (ty, tx)), (view, ty, tx)


def test_window_is_north_up_and_centred():
    """A hand-made case: the goal two squares north and a wall to the east."""
    walls = np.ones((7, 7), dtype=bool)
    walls[1:6, 3] = False
    walls[3, 2] = False
    layout = make_layout("open", 3, 3, n_agents=1, seed=0)
    layout = type(layout)(walls=walls, landmarks=np.zeros_like(walls, np.uint8),
                          goal=np.array([1, 3]), spawns=np.array([[3, 3]]), distance=layout.distance)
    exp = window(layout, np.array([[3, 3]]), [True], 0, 5, True)
    assert exp[1, 0, 2] == 1            # goal: top row, centre column
    assert exp[0, 2, 3] == 1 and exp[0, 2, 1] == 0   # wall east, open west
    _, obs = windows_at_every_square(layout, 5, True, [])
    floor = [tuple(p) for p in np.argwhere(~walls)]
    np.testing.assert_array_equal(obs[floor.index((3, 3)), 0], exp)


def test_channel_count_matches_config():
    assert MazeConfig().obs_shape == (6, 5, 5)
    assert MazeConfig(observe_position=True, observe_last_action=True, view_size=7).obs_shape == (9, 7, 7)
