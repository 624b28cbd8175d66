"""The shared observation encoder: any channel count, every uint8 value distinct."""
from __future__ import annotations

import pytest
import torch

from agents.encoders import ObservationEncoder


@pytest.mark.parametrize("obs_shape", [(6, 5, 5), (8, 7, 7), (1, 3, 3)])
def test_shapes(obs_shape):
    enc = ObservationEncoder(obs_shape, d_embed=32)
    obs = torch.randint(0, 256, (4, *obs_shape), dtype=torch.uint8)
    tokens, pooled = enc(obs)
    assert tokens.shape == (4, obs_shape[1] ** 2, 32) and pooled.shape == (4, 32)
    assert ObservationEncoder(obs_shape, 32, pool=False)(obs)[1] is None


def test_large_values_are_not_clipped():
    """Row/column planes go up to ~60 and more: neighbouring large values must differ."""
    enc = ObservationEncoder((8, 5, 5), 16)
    a = torch.zeros(1, 8, 5, 5, dtype=torch.uint8)
    for v in (59, 60, 254, 255):
        b, c = a.clone(), a.clone()
        b[0, 6], c[0, 6] = v, v - 1
        assert not torch.allclose(enc(b)[0], enc(c)[0])


def test_position_matters():
    enc = ObservationEncoder((6, 5, 5), 16)
    a = torch.zeros(1, 6, 5, 5, dtype=torch.uint8)
    b = a.clone()
    a[0, 1, 0, 2] = 1   # goal north
    b[0, 1, 4, 2] = 1   # goal south
    assert not torch.allclose(enc(a)[1], enc(b)[1])


def test_rejects_bad_input():
    enc = ObservationEncoder((6, 5, 5), 16)
    with pytest.raises(ValueError, match="uint8"):
        enc(torch.zeros(1, 6, 5, 5))
    with pytest.raises(ValueError, match=r"\(1, 5, 5, 5\)"):
        enc(torch.zeros(1, 5, 5, 5, dtype=torch.uint8))
    with pytest.raises(ValueError, match="odd V"):
        ObservationEncoder((6, 4, 4))


def test_token_mlp_zero_gives_embedding_tokens_and_a_positional_pool():
    enc = ObservationEncoder((6, 5, 5), 16, token_mlp=0)
    assert enc.mix is None
    obs = torch.randint(0, 3, (2, 6, 5, 5), dtype=torch.uint8)
    tokens, pooled = enc(obs)
    idx = obs.permute(0, 2, 3, 1).reshape(50, 6).long() + enc.channel_offset
    expected = enc.norm(enc.values(idx).view(2, 25, 16) + enc.position)
    torch.testing.assert_close(tokens, expected)
    assert pooled.shape == (2, 16)
    with pytest.raises(ValueError, match="token_mlp=-1"):
        ObservationEncoder((6, 5, 5), 16, token_mlp=-1)
