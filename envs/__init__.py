"""Maze worlds: layouts, rules, the PettingZoo env, its Gymnasium view and the batched torch twin."""
from envs.batched import BatchedMazeEnv
from envs.config import MazeConfig
from envs.gym_env import MazeGymEnv
from envs.layouts import GENERATORS, Layout, make_layout, register_generator
from envs.maze_env import MazeEnv, env, parallel_env
from envs.registry import make, register, registered

__all__ = ["BatchedMazeEnv", "MazeConfig", "MazeEnv", "MazeGymEnv", "GENERATORS", "Layout",
           "make_layout", "register_generator", "make", "register", "registered", "env", "parallel_env"]
