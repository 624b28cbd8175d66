"""CTMAgent: gradients, certainty, adaptive ticks, carried state, neuron-level models."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from agents import CTMAgent
from agents.neurons import NeuronLevelModels, Synapses
from tests.agents.helpers import OBS_SHAPE, make_obs, make_recall


def small_ctm(**kw):
    args = dict(key_dim=16, value_dim=8, ticks=3, d_model=32, d_input=16, heads=2, n_synch_out=6,
                n_synch_action=6, head_hidden=16, seed=0)
    args.update(kw)
    return CTMAgent(OBS_SHAPE, 5, **args)


@pytest.mark.parametrize("horizon", ["window", "decayed"])
@pytest.mark.parametrize("synapse_depth", [1, 3])
@pytest.mark.parametrize("neuron_select", ["random", "first-last", "random-pairing"])
@pytest.mark.parametrize("obs_to_synapses", [False, True])
def test_policy_loss_reaches_every_parameter(horizon, synapse_depth, neuron_select, obs_to_synapses):
    agent = small_ctm(sync_horizon=horizon, synapse_depth=synapse_depth, neuron_select=neuron_select,
                      n_random_pairing_self=1, obs_to_synapses=obs_to_synapses)
    state = agent.initial_state(4, "cpu")
    out = agent(make_obs(4), state, make_recall(4, 3, 16, 8, p_valid=0.8))
    actions = torch.tensor([0, 1, 2, 3])
    loss = -(F.log_softmax(out.logits, -1)[torch.arange(4), actions] * torch.randn(4)).mean() + out.value.pow(2).mean()
    loss.backward()
    names = {n for n, _ in agent.named_parameters()}
    for required in ("start_pre_trace", "start_post_trace", "sync_out.decay", "sync_action.decay",
                     "attention.memory_type"):
        assert required in names
    missing = [n for n, p in agent.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing
    assert any(n.startswith("encoder.pool") for n in names) == obs_to_synapses


def test_direct_observation_path_changes_the_first_tick():
    """With obs_to_synapses the synapses see the window itself, not only what attention picked."""
    a, b = small_ctm(ticks=1, obs_to_synapses=True), small_ctm(ticks=1, obs_to_synapses=True)
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        b.encoder.pool[-1].weight.zero_()
        b.encoder.pool[-1].bias.zero_()
    obs, recall = make_obs(4), make_recall(4, 3, 16, 8)
    out_a = a(obs, a.initial_state(4), recall)
    out_b = b(obs, b.initial_state(4), recall)
    assert not torch.allclose(out_a.logits, out_b.logits)


def test_one_step_window_reads_only_the_current_post_activations():
    """sync_window=1: the heads read z_i z_j of this tick alone, and the decays are never read
    (which is why no shipped config uses it: test_contract checks every parameter is trained)."""
    agent = small_ctm(ticks=1, sync_window=1, sync_norm=False)
    state = agent.initial_state(4)
    with torch.no_grad():
        for step in range(3):
            out = agent(make_obs(4, seed=step), state)
            state = out.state
    z = out.state["post_trace"][:, :, -1]
    left, right = agent.sync_out.left, agent.sync_out.right
    torch.testing.assert_close(out.aux["synchronisation"], z[:, left] * z[:, right])


def test_certainty_in_unit_interval_per_tick():
    agent = small_ctm(ticks=4)
    out = agent(make_obs(9), agent.initial_state(9, "cpu"))
    c = out.aux["certainty_per_tick"]
    assert c.shape == (9, 4) and ((c >= 0) & (c <= 1)).all()
    assert out.aux["logits_per_tick"].shape == (9, 5, 4)
    torch.testing.assert_close(out.aux["logits_per_tick"][..., -1], out.logits)
    assert (out.aux["ticks_used"] == 4).all()


def test_adaptive_ticks_stop_rows_and_freeze_them():
    agent = small_ctm(ticks=5, adaptive_ticks=True, certainty_threshold=0.0)
    out = agent(make_obs(3), agent.initial_state(3, "cpu"))
    assert (out.aux["ticks_used"] == 1).all()
    assert out.aux["logits_per_tick"].shape == (3, 5, 5)
    # Threshold 0 stops after the first tick: the same as a 1-tick CTM with the same weights.
    one = small_ctm(ticks=1)
    ref = one(make_obs(3), one.initial_state(3, "cpu"))
    torch.testing.assert_close(out.logits, ref.logits)
    for key in ref.state:
        torch.testing.assert_close(out.state[key], ref.state[key])

    # Threshold 1 is never exceeded: every row thinks for all ticks.
    agent = small_ctm(ticks=4, adaptive_ticks=True, certainty_threshold=1.0)
    out = agent(make_obs(3), agent.initial_state(3, "cpu"))
    assert (out.aux["ticks_used"] == 4).all()


def test_adaptive_rows_stop_independently():
    agent = small_ctm(ticks=4, orthogonal_heads=False)   # torch's init: an actor that can be sharpened
    with torch.no_grad():   # sharpen the untrained policy so that certainty differs between rows
        agent.actor[-1].weight.mul_(20.0)
        full = agent(make_obs(6), agent.initial_state(6, "cpu")).aux["certainty_per_tick"]
    obs = make_obs(6)
    first = full[:, 0].sort().values
    threshold = float(first[2] + first[3]) / 2
    agent.adaptive_ticks, agent.certainty_threshold = True, threshold
    out = agent(obs, agent.initial_state(6, "cpu"))
    stopped = full[:, 0] >= threshold
    assert stopped.any() and (~stopped).any()
    assert (out.aux["ticks_used"][stopped] == 1).all()
    assert (out.aux["ticks_used"][~stopped] > 1).all()


@pytest.mark.parametrize("horizon", ["window", "decayed"])
def test_state_carries_over_between_steps(horizon):
    agent = small_ctm(sync_horizon=horizon)
    obs = make_obs(2)
    s0 = agent.initial_state(2, "cpu")
    with torch.no_grad():
        first = agent(obs, s0)
        second = agent(obs, first.state)
        again = agent(obs, agent.reset_state(first.state, torch.ones(2, dtype=torch.bool)))
    assert not torch.allclose(first.logits, second.logits)
    torch.testing.assert_close(again.logits, first.logits)


def test_memory_entries_change_the_policy():
    agent = small_ctm()
    obs = make_obs(4)
    state = agent.initial_state(4, "cpu")
    with torch.no_grad():
        a = agent(obs, state, make_recall(4, 3, 16, 8, seed=0, p_valid=1.0)).logits
        b = agent(obs, state, make_recall(4, 3, 16, 8, seed=1, p_valid=1.0)).logits
    assert not torch.allclose(a, b)


def test_nlms_equal_a_loop_over_private_neuron_models():
    g = torch.Generator().manual_seed(0)
    nlm = NeuronLevelModels(n_neurons=7, history=5, hidden=3, deep=True)
    with torch.no_grad():
        for b in nlm.biases:
            b.copy_(torch.randn(b.shape, generator=g))
    trace = torch.randn(4, 7, 5, generator=g)
    expected = torch.empty(4, 7)
    for d in range(7):
        h = trace[:, d]
        for w, b in zip(nlm.weights, nlm.biases):
            h = F.glu(h @ w[d] + b[d], dim=-1)
        expected[:, d] = h.squeeze(-1)
    torch.testing.assert_close(nlm(trace), expected)
    shallow = NeuronLevelModels(7, 5, deep=False)
    assert len(shallow.weights) == 1 and shallow(trace).shape == (4, 7)


def test_unet_synapses_shape_and_depth_one_is_linear_glu_norm_blocks():
    assert Synapses(24, 32, depth=4)(torch.randn(3, 24)).shape == (3, 32)
    x = torch.randn(3, 24)
    one = Synapses(24, 32, depth=1, blocks=1)
    torch.testing.assert_close(one(x), one.net[3](F.glu(one.net[1](x), dim=-1)))
    two = Synapses(24, 32, depth=1, blocks=2)   # the reference RL model's synapses
    first = two.net[3](F.glu(two.net[1](x), dim=-1))
    torch.testing.assert_close(two(x), two.net[6](F.glu(two.net[4](first), dim=-1)))


def test_nlm_temperature_divides_each_layer_before_its_glu():
    g = torch.Generator().manual_seed(0)
    hot = NeuronLevelModels(n_neurons=3, history=4, hidden=2, deep=True, temperature=1.0)
    plain = NeuronLevelModels(n_neurons=3, history=4, hidden=2, deep=True, temperature=None)
    plain.load_state_dict(hot.state_dict(), strict=False)
    trace = torch.randn(5, 3, 4, generator=g)
    torch.testing.assert_close(hot(trace), plain(trace))          # T starts at 1
    with torch.no_grad():
        hot.temperatures.copy_(torch.tensor([2.0, 0.5]))
        for w, b, t in zip(plain.weights, plain.biases, (2.0, 0.5)):
            w.div_(t)
            b.div_(t)
    torch.testing.assert_close(hot(trace), plain(trace))


def test_sync_norm_gives_unit_spread_at_initialisation():
    """The pairs' variance at initialisation is far below LayerNorm's usual eps (1e-5): with our
    eps every row is really normalised."""
    agent = small_ctm(ticks=1, sync_norm=True, d_model=64, n_synch_out=16, n_synch_action=16)
    state = agent.initial_state(8, "cpu")
    with torch.no_grad():
        out = agent(make_obs(8), state)
        raw = agent.sync_out.window(out.state["post_trace"])
    assert float(raw.var(-1).max()) < 1e-3
    std = out.aux["synchronisation"].std(-1, unbiased=False)
    torch.testing.assert_close(std, torch.ones(8), atol=1e-3, rtol=0)


def test_bad_options_name_the_value():
    with pytest.raises(ValueError, match="sync_horizon='forever'"):
        small_ctm(sync_horizon="forever")
    with pytest.raises(ValueError, match="ticks=0"):
        small_ctm(ticks=0)
    with pytest.raises(ValueError, match="heads=3"):
        small_ctm(heads=3)
    with pytest.raises(ValueError, match="key_source='both'"):
        small_ctm(key_source="both")
    with pytest.raises(ValueError, match="first-last"):
        small_ctm(neuron_select="first-last", n_synch_out=20, n_synch_action=20)
    with pytest.raises(ValueError, match=r"trunk_lr_scale=0.0 must be > 0"):
        small_ctm(trunk_lr_scale=0.0)
