"""The Collector's memory reads: one per agent-step, across rollout boundaries too."""
import pytest

from tests.experiments.helpers import build_collector


@pytest.mark.parametrize("content", [None, {"kind": "outcome"}])
def test_memory_reads_count_each_agent_step_once(tmp_path, content):
    """Two rollouts back to back: the bank counts one read per alive agent-step that searches,
    the bootstrap value's read at the first boundary included once, not again at the step it
    was made for. Outcome content reads at every alive step; the agent's own query from the
    previous step cannot be read at an episode's first step."""
    _, _, collector = build_collector(tmp_path, memory="shared", agent="lstm", content=content)
    rollouts = [collector.collect(6) for _ in range(2)]

    def searching(alive, starts):
        return alive if content else alive & ~starts

    expected = sum(int(searching(r.alive, r.starts).sum()) for r in rollouts)
    # The last bootstrap value read for a step not taken yet.
    expected += int(searching(collector.alive, collector.starts).sum())
    assert expected > 0
    assert collector.bank.stats()["reads"] == expected
