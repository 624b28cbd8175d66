"""A finished tiny run with outcome memory and newcomers, trained once for every test that
evaluates, watches or transplants a run."""
import pytest

from experiments.train import train
from tests.experiments.helpers import tiny_config


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """(run folder, its final metrics): shared memory, outcome entries, seed 3, one thread."""
    run_dir = tmp_path_factory.mktemp("runs") / "shared_seed3"
    content = {"kind": "outcome", "history": 0}
    cfg = tiny_config(run_dir, seed=3, torch_threads=1, eval={"newcomer": True},
                      memory={"content": content}, log={"images_every": 0, "checkpoint_every": 1, "progress": False})
    final = train(cfg)
    return run_dir, final
