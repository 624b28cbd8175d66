"""The memory prior (agents/memory_prior.py): what it adds, that it trains, what it can learn."""
from __future__ import annotations

import pytest
import torch

from agents.memory_prior import MemoryPrior
from memory import Recall
from memory.outcome import OutcomeCodec
from tests.agents.helpers import build, make_obs, make_recall, untrained_parameters

LEARNED = ["lstm", "gru", "feedforward", "ctm_small"]


@pytest.mark.parametrize("name", LEARNED)
def test_the_prior_adds_to_an_otherwise_identical_agent(name):
    """Built last, the prior leaves every other weight as the agent without it has them; its
    outputs are the plain agent's plus what the prior reads from the entries."""
    plain, with_prior = build(name), build(name, memory_prior=True)
    theirs = {k: v for k, v in with_prior.state_dict().items() if not k.startswith("prior.")}
    assert theirs.keys() == plain.state_dict().keys()
    for key, value in plain.state_dict().items():
        assert torch.equal(value, theirs[key]), key
    obs, state = make_obs(5), plain.initial_state(5, "cpu")
    recall = make_recall(5, 4, plain.key_dim, plain.value_dim)
    with torch.no_grad():
        a, b = plain(obs, state, recall), with_prior(obs, state, recall)
        logits, value = with_prior.prior(recall, 5, a.logits)
    assert logits.abs().sum() > 0
    torch.testing.assert_close(b.logits, a.logits + logits)
    torch.testing.assert_close(b.value, a.value + value)
    if "logits_per_tick" in a.aux:   # the CTM: every tick's logits get it
        torch.testing.assert_close(b.aux["logits_per_tick"], a.aux["logits_per_tick"] + logits.unsqueeze(-1))


@pytest.mark.parametrize("name", LEARNED)
def test_nothing_retrieved_adds_nothing(name):
    plain, with_prior = build(name), build(name, memory_prior=True)
    obs, state = make_obs(3), plain.initial_state(3, "cpu")
    empty = make_recall(3, 4, plain.key_dim, plain.value_dim, p_valid=0.0)
    with torch.no_grad():
        for recall in (None, empty):
            a, b = plain(obs, state, recall), with_prior(obs, state, recall)
            assert torch.equal(a.logits, b.logits) and torch.equal(a.value, b.value)


@pytest.mark.parametrize("name", LEARNED)
def test_every_prior_parameter_is_trained(name):
    """The contract test's loss, with the prior on: a gradient reaches each of its parameters."""
    dead = untrained_parameters(build(name, memory_prior=True), batch=6, steps=3)
    assert not dead, f"no gradient reaches {dead}"


def test_no_memory_means_no_prior():
    assert build("lstm", memory=False, memory_prior=True).prior is None


def outcome_recalls(batch: int, k: int, seed: int, value_dim: int = 16) -> tuple[Recall, torch.Tensor]:
    """Outcome-labelled entries (memory/outcome.py) at random, and the trail follower's choice per
    row: the action of the entry, among those whose writer reached the goal, with fewest steps left."""
    g = torch.Generator().manual_seed(seed)
    codec = OutcomeCodec(5, 72)
    action = torch.randint(0, 5, (batch * k,), generator=g)
    reached = torch.rand(batch * k, generator=g) < 0.5
    steps = torch.randint(0, 40, (batch * k,), generator=g)
    values = codec.encode(action, reached, steps, torch.rand(batch * k, generator=g), value_dim).view(batch, k, -1)
    mask = torch.ones(batch, k, dtype=torch.bool)
    best = codec.remaining(values).argmin(-1)
    target = torch.where(reached.view(batch, k).any(-1), action.view(batch, k)[torch.arange(batch), best], -1)
    recall = Recall(torch.zeros(batch, k, 4), values, torch.ones(batch, k), mask,
                    torch.zeros(batch, k, dtype=torch.int64), torch.zeros(batch, k, dtype=torch.int64))
    return recall, target


def test_the_prior_can_learn_to_follow_the_best_trail():
    """Capacity: trained on the trail follower's choices alone, the prior picks the action of the
    reached entry with fewest steps left on entries it never saw, far above chance (0.2)."""
    torch.manual_seed(0)
    prior = MemoryPrior(16, 5, hidden=32)
    optimizer = torch.optim.Adam(prior.parameters(), lr=1e-2)
    for step in range(300):
        recall, target = outcome_recalls(256, 8, seed=step)
        keep = target >= 0
        logits, _ = prior(recall, 256, recall.values)
        loss = torch.nn.functional.cross_entropy(logits[keep], target[keep])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    recall, target = outcome_recalls(1024, 8, seed=10_000)
    keep = target >= 0
    with torch.no_grad():
        logits, _ = prior(recall, 1024, recall.values)
    accuracy = (logits[keep].argmax(-1) == target[keep]).float().mean()
    assert accuracy > 0.9, f"accuracy {accuracy:.2f}"


def test_bad_widths_fail_clearly():
    with pytest.raises(ValueError, match="prior_hidden=0"):
        MemoryPrior(8, 5, hidden=0)
