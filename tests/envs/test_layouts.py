"""Layout generators: connectivity, tree structure, braiding, determinism, placement."""
import numpy as np
import pytest

from envs.layouts import GENERATORS, PERFECT_GENERATORS, make_layout

SIZES = [(2, 2), (4, 4), (5, 8), (9, 9)]


def floor_components(walls: np.ndarray) -> int:
    """Connected components of floor squares, by union-find (independent of BFS)."""
    H, W = walls.shape
    parent = {}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r, c in np.argwhere(~walls):
        parent[(r, c)] = (r, c)
    for r, c in np.argwhere(~walls):
        for nr, nc in ((r + 1, c), (r, c + 1)):
            if nr < H and nc < W and not walls[nr, nc]:
                parent[find((r, c))] = find((nr, nc))
    return len({find(x) for x in parent})


def adjacencies(walls: np.ndarray) -> int:
    floor = ~walls
    return int((floor[1:, :] & floor[:-1, :]).sum() + (floor[:, 1:] & floor[:, :-1]).sum())


def dead_ends(walls: np.ndarray) -> int:
    floor = ~walls
    padded = np.pad(floor, 1)
    degree = padded[:-2, 1:-1].astype(int) + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
    return int((floor & (degree == 1)).sum())


@pytest.mark.parametrize("generator", sorted(GENERATORS))
@pytest.mark.parametrize("rows,cols", SIZES)
def test_every_floor_square_is_reachable(generator, rows, cols):
    for seed in range(5):
        layout = make_layout(generator, rows, cols, n_agents=1, seed=seed, n_landmarks=0)
        assert layout.walls.shape == (2 * rows + 1, 2 * cols + 1)
        assert layout.walls[0].all() and layout.walls[-1].all()
        assert layout.walls[:, 0].all() and layout.walls[:, -1].all()
        assert floor_components(layout.walls) == 1


@pytest.mark.parametrize("generator", PERFECT_GENERATORS)
@pytest.mark.parametrize("rows,cols", SIZES)
def test_perfect_mazes_are_trees(generator, rows, cols):
    for seed in range(5):
        walls = make_layout(generator, rows, cols, n_agents=1, seed=seed).walls
        n_floor = int((~walls).sum())
        assert n_floor == 2 * rows * cols - 1
        assert adjacencies(walls) == n_floor - 1


@pytest.mark.parametrize("generator", sorted(GENERATORS))
def test_full_braid_leaves_no_dead_ends(generator):
    for seed in range(5):
        walls = make_layout(generator, 6, 7, n_agents=1, seed=seed, braid_fraction=1.0).walls
        assert dead_ends(walls) == 0
        assert floor_components(walls) == 1


def test_partial_braid_opens_about_that_fraction():
    before = after = 0
    for seed in range(20):
        before += dead_ends(make_layout("prim", 8, 8, 1, seed).walls)
        after += dead_ends(make_layout("prim", 8, 8, 1, seed, braid_fraction=0.5).walls)
    assert 0.3 * before <= after <= 0.6 * before


@pytest.mark.parametrize("generator", sorted(GENERATORS))
def test_same_seed_same_layout(generator):
    a = make_layout(generator, 5, 6, n_agents=3, seed=7, braid_fraction=0.3, n_landmarks=4)
    b = make_layout(generator, 5, 6, n_agents=3, seed=7, braid_fraction=0.3, n_landmarks=4)
    c = make_layout(generator, 5, 6, n_agents=3, seed=8, braid_fraction=0.3, n_landmarks=4)
    for field in ("walls", "landmarks", "goal", "spawns", "distance"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    if generator != "open":
        assert not np.array_equal(a.walls, c.walls)


def test_generators_differ_in_character():
    """DFS makes long corridors (few dead ends), Prim many short ones."""
    dfs = sum(dead_ends(make_layout("dfs", 10, 10, 1, s).walls) for s in range(10))
    prim = sum(dead_ends(make_layout("prim", 10, 10, 1, s).walls) for s in range(10))
    assert prim > 1.5 * dfs


@pytest.mark.parametrize("spawn", ["near_start", "random"])
def test_placement_of_goal_spawns_and_landmarks(spawn):
    for seed in range(10):
        lay = make_layout("dfs", 5, 5, n_agents=4, seed=seed, n_landmarks=5, spawn=spawn)
        goal = tuple(lay.goal)
        assert not lay.walls[goal]
        spawns = {tuple(s) for s in lay.spawns}
        assert len(spawns) == 4 and goal not in spawns
        assert all(not lay.walls[s] for s in spawns)
        ids = lay.landmarks[lay.landmarks > 0]
        assert sorted(ids.tolist()) == [1, 2, 3, 4, 5]
        assert not lay.walls[lay.landmarks > 0].any() and lay.landmarks[goal] == 0
        # The far goal is at least as far as every spawn is from it (it ends a longest path).
        assert lay.distance.max() >= max(lay.distance[s] for s in spawns)


def test_far_goal_is_far():
    """The goal is the farthest square from the start, so spawns near the start face long paths."""
    ratios = []
    for seed in range(20):
        lay = make_layout("dfs", 6, 6, n_agents=1, seed=seed)
        ratios.append(lay.distance[tuple(lay.spawns[0])] / lay.distance.max())
    assert np.mean(ratios) > 0.6


def test_given_goal_is_used_and_checked():
    lay = make_layout("open", 3, 3, n_agents=2, seed=0, goal=(1, 1))
    assert tuple(lay.goal) == (1, 1) and lay.distance[1, 1] == 0
    with pytest.raises(ValueError, match="goal"):
        make_layout("open", 3, 3, n_agents=2, seed=0, goal=(0, 0))


@pytest.mark.parametrize("kwargs,match", [
    (dict(generator="spiral"), "unknown generator 'spiral'"),
    (dict(rows=1), "too small"),
    (dict(braid_fraction=1.5), r"braid=1.5 is outside \[0, 1\]"),
    (dict(braid_fraction=-0.1), "braid"),
    (dict(n_landmarks=40), "n_landmarks=40"),
    (dict(n_agents=50), "n_agents=50 does not fit"),
    (dict(spawn="corner"), "unknown spawn"),
])
def test_bad_layout_options_fail_clearly(kwargs, match):
    args = dict(generator="dfs", rows=3, cols=3, n_agents=2, seed=0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        make_layout(**args)
