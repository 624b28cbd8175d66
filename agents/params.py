"""Parameter counts of agent configs, and an LSTM width matched to a CTM's size.

    python -m agents.params                      # every configs/agent/*.yaml
    python -m agents.params --match ctm          # also: LSTM d_model with the CTM's count
    python -m agents.params --obs-shape 8 5 5    # with extra observation channels
"""
from __future__ import annotations

import argparse
from pathlib import Path

from torch import nn

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs" / "agent"


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of scalar parameters (buffers such as fixed projections are not counted)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


# Not knobs: the runner passes the shapes, and the run's seed replaces any seed given.
NOT_KNOBS = ("obs_shape", "n_actions")
# An agent YAML starts from its class's constructor defaults with this defaults-list entry
# (`- /agent_defaults@_here_: CTMAgent`), so it lists only what it changes and every knob can
# still be overridden without a `+`; experiments/config.py registers one per agent class.
DEFAULTS_GROUP = "/agent_defaults@_here_"


def constructor_defaults(cls: type) -> dict:
    """Every keyword of `cls`'s constructor that has a default, with that default: the one
    place an agent's knob defaults live."""
    import inspect

    params = inspect.signature(cls).parameters.values()
    return {p.name: p.default for p in params
            if p.name not in NOT_KNOBS and p.default is not inspect.Parameter.empty}


def agent_classes() -> dict[str, type]:
    """The agent classes the package exports, by class name."""
    import agents

    return {name: obj for name in agents.__all__ if isinstance(obj := getattr(agents, name), type)
            and issubclass(obj, nn.Module) and "obs_shape" in _parameter_names(obj)}


def _parameter_names(cls: type) -> set[str]:
    import inspect

    return set(inspect.signature(cls).parameters)


def load_config(path: Path | str):
    """An agent YAML as Hydra composes it in the `agent` group: the entries of its `defaults`
    list in order (a sibling file, e.g. ctm_small.yaml starts from ctm.yaml, or a class's
    constructor defaults), then its own keys on top (`_self_` last, as our configs write it)."""
    from omegaconf import OmegaConf

    path = Path(path)
    cfg = OmegaConf.load(path)
    bases = []
    for entry in cfg.pop("defaults", []):
        if isinstance(entry, str) and entry != "_self_":
            bases.append(load_config(path.with_name(f"{entry}.yaml")))
        elif not isinstance(entry, str):
            (group, name), = entry.items()
            if group != DEFAULTS_GROUP:
                raise ValueError(f"{path}: defaults entry {group!r} is not understood here; "
                                 f"allowed: a sibling config name or {DEFAULTS_GROUP!r}")
            bases.append(OmegaConf.create(constructor_defaults(agent_classes()[name])))
    return OmegaConf.merge(*bases, cfg)


def build_from_config(path: Path | str, obs_shape: tuple[int, int, int], n_actions: int = 5, **overrides):
    """Instantiate the agent YAML at `path` the way the runner does."""
    import hydra.utils

    cfg = load_config(path)
    for key, value in overrides.items():
        cfg[key] = value
    return hydra.utils.instantiate(cfg, obs_shape=tuple(obs_shape), n_actions=n_actions)


def matched_width(target: int, build, low: int = 1, high: int = 4096) -> int:
    """Smallest width w in [low, high] with count(build(w)) >= target (counts grow with w)."""
    if count_parameters(build(high)) < target:
        raise ValueError(f"even width {high} has fewer than {target} parameters")
    while low < high:
        mid = (low + high) // 2
        if count_parameters(build(mid)) >= target:
            high = mid
        else:
            low = mid + 1
    return low


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--obs-shape", type=int, nargs=3, default=(6, 5, 5), metavar=("C", "V", "V"))
    parser.add_argument("--n-actions", type=int, default=5)
    parser.add_argument("--match", metavar="CONFIG", help="config name whose count the LSTM width should match")
    args = parser.parse_args(argv)
    obs_shape = tuple(args.obs_shape)
    print(f"{'config':<14}{'parameters':>12}  (obs_shape={obs_shape}, n_actions={args.n_actions})")
    for path in sorted(CONFIG_DIR.glob("*.yaml")):
        agent = build_from_config(path, obs_shape, args.n_actions)
        print(f"{path.stem:<14}{count_parameters(agent):>12,}")
    if args.match:
        target = count_parameters(build_from_config(CONFIG_DIR / f"{args.match}.yaml", obs_shape, args.n_actions))
        lstm = CONFIG_DIR / "lstm.yaml"
        width = matched_width(target, lambda w: build_from_config(lstm, obs_shape, args.n_actions, d_model=w))
        got = count_parameters(build_from_config(lstm, obs_shape, args.n_actions, d_model=width))
        print(f"lstm d_model={width} has {got:,} parameters, matching {args.match} ({target:,})")


if __name__ == "__main__":
    main()
