"""Policies: the agent protocol, the Continuous Thought Machine, baselines, observation encoder.

Plug-in is by Hydra `_target_` (configs/agent/*.yaml), e.g. `_target_: agents.CTMAgent`.
"""
from agents.base import Agent, AgentBase, AgentOutput, WriteRequest
from agents.baselines import FeedForwardAgent, GRUAgent, LSTMAgent, RandomAgent
from agents.ctm import CTMAgent
from agents.encoders import ObservationEncoder
from agents.scripted import ExplorerAgent, TrailFollowerAgent
from agents.losses import certainty, tick_selection_loss

__all__ = [
    "Agent", "AgentBase", "AgentOutput", "WriteRequest", "ObservationEncoder",
    "CTMAgent", "LSTMAgent", "GRUAgent", "FeedForwardAgent", "RandomAgent",
    "ExplorerAgent", "TrailFollowerAgent",
    "certainty", "tick_selection_loss",
]
