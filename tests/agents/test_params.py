"""Parameter counting and size matching."""
from __future__ import annotations

from torch import nn

from agents.params import count_parameters, main, matched_width
from tests.agents.helpers import build


def test_count_matches_numel_and_skips_buffers():
    layer = nn.Linear(3, 4)
    layer.register_buffer("fixed", layer.weight.detach().clone())
    assert count_parameters(layer) == 3 * 4 + 4
    agent = build("ctm")
    assert count_parameters(agent) == sum(p.numel() for p in agent.parameters())
    assert count_parameters(build("random")) == 0


def test_matched_lstm_width_is_the_smallest_that_reaches_the_target():
    target = count_parameters(build("ctm"))
    width = matched_width(target, lambda w: build("lstm", d_model=w))
    assert count_parameters(build("lstm", d_model=width)) >= target
    assert count_parameters(build("lstm", d_model=width - 1)) < target


def test_cli_prints_every_config(capsys):
    main(["--match", "ctm"])
    text = capsys.readouterr().out
    for name in ("ctm", "lstm", "gru", "feedforward", "random"):
        assert name in text
    assert "matching ctm" in text
