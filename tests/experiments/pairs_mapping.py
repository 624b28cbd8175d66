"""A sharing pattern registered outside the project's code, as a user's module would:
agents 0-1 of a maze share a store, 2-3 share another, ... Named in `memory.plugins`."""
from memory import register_mapping, team_map


@register_mapping("pairs")
def pairs(n_mazes, n_agents):
    return team_map(n_mazes, n_agents, team_size=2)
