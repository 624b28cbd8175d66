"""Reference agents that use memory without learning: the floor and the ceiling for learned ones.

    ExplorerAgent       frontier exploration over a map of what it has seen this episode: the
                        episodic memory a recurrent agent could learn. It reads no long-term
                        memory.
    TrailFollowerAgent  the explorer, plus long-term memory: it reads outcome-labelled entries
                        (content kind `outcome`, memory/outcome.py) written at views identical
                        to its own and, among those whose writer reached the goal, takes the
                        action with the fewest steps left; otherwise it explores.

Both find their way by path integration: they know the action they chose and see whether the
square it leads to is a wall, so they know where they are relative to their spawn (this
assumes `agents_block: false`, the default, so a move into open floor always succeeds). Once
the goal has been seen, they take the shortest path to it over the squares they have seen. Ties between
equally good moves are broken by a hash of the seed, the step and the square (a forward pass
depends only on its arguments); the chosen action gets all the probability, so greedy and
sampled evaluation act the same.

Observation channels follow the env's order (envs/rules.py): wall, goal, agents, landmark,
outside, unseen, ... (tests check that the two agree).
"""
from __future__ import annotations

from collections import deque

import numpy as np
import torch

from agents.base import AgentBase, AgentOutput, State, WriteRequest
from agents.memory_io import MemoryIO
from memory.outcome import OutcomeCodec

WALL, GOAL, OUTSIDE, UNSEEN = 0, 1, 4, 5
# Actions 1..4 move north, east, south, west (0 stays), as in the env.
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
UNKNOWN, FLOOR_SEEN, WALL_SEEN, GOAL_SEEN = 0, 1, 2, 3   # what the map records per square
SURE = 1e9                                 # logit margin: the chosen action has probability 1


class ExplorerAgent(AgentBase):
    """Frontier exploration with a map of this episode: every square it has seen is recorded as
    floor or wall; it walks to the nearest seen floor square with an unseen neighbour.

    extent: side of the square of relative positions the agent maps, centred on its spawn
        and wrapping around at the edges: at least twice the maze's grid side (the default
        fits grids up to 32 squares, 15 x 15 cells), or squares far apart share a record.
    """

    def __init__(self, obs_shape: tuple[int, int, int], n_actions: int, key_dim: int = 0,
                 value_dim: int = 0, extent: int = 64, seed: int = 0):
        super().__init__(obs_shape, n_actions, key_dim, value_dim)
        if n_actions != 5:
            raise ValueError(f"n_actions={n_actions}: the scripted agents play the maze's 5 actions")
        if obs_shape[0] < 6:
            raise ValueError(f"obs_shape={obs_shape}: the scripted agents need the maze's 6 base channels")
        if extent < 3:
            raise ValueError(f"extent={extent} must be >= 3")
        self.extent, self.seed = int(extent), int(seed)
        V = obs_shape[-1]
        self._offsets = np.arange(V) - V // 2
        # With content `representation` the bank stores what agents ask for: here a view key
        # and a zero value, so the plumbing works and nothing false is remembered.
        self.memory_io = (MemoryIO(obs_shape, 1, self.key_dim, self.value_dim, "obs", seed + 1000)
                          if self.uses_memory else None)

    def initial_state(self, batch: int, device: torch.device | str = "cpu") -> State:
        """pos (B, 2): tracked position; seen, visits (B, E, E): the map and visit counts;
        steps (B,): steps taken. Small integers, stored as float32 like every agent's state."""
        E = self.extent
        return {"pos": torch.full((batch, 2), float(E // 2), device=device),
                "seen": torch.full((batch, E, E), float(UNKNOWN), device=device),
                "visits": torch.zeros(batch, E, E, device=device),
                "steps": torch.zeros(batch, device=device)}

    def _forward(self, obs: torch.Tensor, state: State, recall) -> AgentOutput:
        B, dev = obs.shape[0], obs.device
        view = obs.cpu().numpy()
        arrays = {name: t.cpu().numpy().astype(np.int64) for name, t in state.items()}
        hints = self._hints(recall, B)
        actions = np.zeros(B, dtype=np.int64)
        for r in range(B):
            actions[r] = self._act(view[r], arrays["pos"][r], arrays["seen"][r], arrays["visits"][r],
                                   int(arrays["steps"][r]), hints[r])
        arrays["steps"] += 1
        logits = torch.full((B, self.n_actions), -SURE)
        logits[torch.arange(B), torch.from_numpy(actions)] = 0.0
        new_state = {name: torch.from_numpy(a.astype(np.float32)).to(dev) for name, a in arrays.items()}
        query = write = None
        if self.memory_io is not None:
            query = self.memory_io.key(obs, None)
            write = WriteRequest(keys=query, values=torch.zeros(B, self.value_dim, device=dev))
        return AgentOutput(logits=logits.to(dev), value=torch.zeros(B, device=dev), state=new_state,
                           query=query, write=write)

    def _hints(self, recall, batch: int) -> list[int | None]:
        """An action suggested by long-term memory, per row (None: no suggestion)."""
        return [None] * batch

    def _act(self, view: np.ndarray, pos: np.ndarray, seen: np.ndarray, visits: np.ndarray,
             steps: int, hint: int | None) -> int:
        """Choose one action for one row; update its position, map and visits in place."""
        E, c = self.extent, view.shape[-1] // 2
        y, x = int(pos[0]), int(pos[1])
        tie = self._tie_break(steps, y, x)
        blocked = (view[WALL] | view[OUTSIDE]).astype(bool)
        visible = ~view[UNSEEN].astype(bool)
        rows, cols = (y + self._offsets) % E, (x + self._offsets) % E
        patch = seen[np.ix_(rows, cols)]
        square = np.where(blocked, WALL_SEEN, np.where(view[GOAL] > 0, GOAL_SEEN, FLOOR_SEEN))
        seen[np.ix_(rows, cols)] = np.where(visible, square, patch)
        visits[y, x] += 1
        open_moves = [a for a in range(1, 5) if not blocked[c + MOVES[a - 1][0], c + MOVES[a - 1][1]]]
        # Once the goal has been seen, the map leads there (a known goal is the best hint).
        action = self._path_to(seen, y, x, True, tie) if (seen == GOAL_SEEN).any() else None
        if action is None and hint in open_moves:
            dy, dx = MOVES[hint - 1]
            # A suggestion that leads back to a square visited twice is a loop (aliased views).
            if visits[(y + dy) % E, (x + dx) % E] < 2:
                action = hint
        if action is None:
            action = self._path_to(seen, y, x, False, tie)
        if action is None:      # nothing left to explore from here; wander
            action = open_moves[tie % len(open_moves)] if open_moves else 0
        if action:
            dy, dx = MOVES[action - 1]
            if not blocked[c + dy, c + dx]:
                pos[:] = ((y + dy) % E, (x + dx) % E)
        return action

    def _tie_break(self, steps: int, y: int, x: int) -> int:
        """A pseudo-random number from the seed, the step and the square: the same inputs give
        the same choice, so a forward pass depends only on its arguments."""
        h = (self.seed * 1_000_003 + steps * 7_919 + y * 131 + x * 17) & 0xFFFFFFFF
        return ((h * 2_654_435_761) & 0xFFFFFFFF) >> 8

    def _path_to(self, seen: np.ndarray, y: int, x: int, goal: bool, tie: int) -> int | None:
        """First action of a shortest path over seen floor to the goal (`goal`) or else to the
        nearest seen floor square with an unseen neighbour (ties broken by `tie`)."""
        E = self.extent
        order = [1 + (tie + i) % 4 for i in range(4)]
        if tie & 4:
            order.reverse()
        first = {(y, x): 0}
        queue = deque([(y, x)])
        while queue:
            cy, cx = queue.popleft()
            if (cy, cx) != (y, x):
                if goal and seen[cy, cx] == GOAL_SEEN:
                    return first[(cy, cx)]
                if not goal and any(seen[(cy + dy) % E, (cx + dx) % E] == UNKNOWN for dy, dx in MOVES):
                    return first[(cy, cx)]
            for a in order:
                dy, dx = MOVES[a - 1]
                nxt = ((cy + dy) % E, (cx + dx) % E)
                if nxt not in first and seen[nxt] in (FLOOR_SEEN, GOAL_SEEN):
                    first[nxt] = first[(cy, cx)] or int(a)
                    queue.append(nxt)
        return None


class TrailFollowerAgent(ExplorerAgent):
    """The explorer guided by outcome-labelled long-term memory (see the module docstring).

    match: the lowest key similarity that counts as "the same view" (keys of identical
        inputs score 1; content history > 0 makes aliased views less alike).
    """

    def __init__(self, obs_shape: tuple[int, int, int], n_actions: int, key_dim: int = 64,
                 value_dim: int = 8, extent: int = 64, match: float = 0.9999, seed: int = 0):
        super().__init__(obs_shape, n_actions, key_dim, value_dim, extent, seed)
        self.codec = OutcomeCodec(n_actions, horizon=1)
        if self.uses_memory and value_dim < self.codec.width:
            raise ValueError(f"value_dim={value_dim} cannot hold outcome labels (>= {self.codec.width})")
        if not -1.0 <= match <= 1.0:
            raise ValueError(f"match={match} must be a similarity in [-1, 1]")
        self.match = float(match)

    def _hints(self, recall, batch: int) -> list[int | None]:
        if recall is None:
            return [None] * batch
        remaining = self.codec.remaining(recall.values)                      # (B, k), inf: not reached
        usable = recall.mask & (recall.scores >= self.match) & torch.isfinite(remaining)
        best = remaining.masked_fill(~usable, float("inf")).argmin(-1)       # (B,)
        action = self.codec.decode(recall.values).action.gather(1, best.unsqueeze(1)).squeeze(1)
        found = usable.any(-1)
        return [int(a) if f and int(a) > 0 else None for a, f in zip(action.tolist(), found.tolist())]
