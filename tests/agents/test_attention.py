"""Absorbed-projection attention equals attention that projects every token explicitly."""
import pytest
import torch

from agents.attention import ObsMemoryAttention
from tests.agents.helpers import make_recall


def explicit_attention(att: ObsMemoryAttention, query, tokens, mask):
    """Textbook multi-head attention: project all tokens to keys and values (with biases)."""
    B, N, d = tokens.shape
    H = att.heads
    k, v = att.kv_proj(tokens).chunk(2, dim=-1)
    split = lambda t: t.view(B, N, H, d // H).transpose(1, 2)                     # (B, H, N, dh)
    q = att.q_proj(query).view(B, H, 1, d // H)
    logits = (q @ split(k).transpose(-1, -2)) / (d // H) ** 0.5
    if mask is not None:
        logits = logits.masked_fill(~mask[:, None, None, :], float("-inf"))
    out = torch.softmax(logits, dim=-1) @ split(v)
    return att.out_proj(out.reshape(B, d))


@pytest.mark.parametrize("heads", [1, 4])
@pytest.mark.parametrize("with_memory", [False, True])
def test_absorbed_projections_equal_explicit_attention(heads, with_memory):
    torch.manual_seed(0)
    B, N, d = 7, 25, 16
    att = ObsMemoryAttention(query_dim=10, d=d, heads=heads, key_dim=6, value_dim=5)
    with torch.no_grad():  # non-zero biases, so the claim about them is tested too
        att.kv_proj.bias.normal_()
    tokens, query = torch.randn(B, N, d), torch.randn(B, 10)
    recall = make_recall(B, 4, 6, 5, p_valid=0.5) if with_memory else None
    ctx = att.prepare(tokens, recall)
    assert ctx.tokens.shape[1] == N + (4 if with_memory else 0)
    got = att.attend(query, ctx)
    want = explicit_attention(att, query, ctx.tokens, ctx.mask)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    # and the gradients agree too
    g_got = torch.autograd.grad(got.square().sum(), [att.q_proj.weight, att.kv_proj.weight])
    g_want = torch.autograd.grad(explicit_attention(att, query, ctx.tokens, ctx.mask).square().sum(),
                                 [att.q_proj.weight, att.kv_proj.weight])
    for a, b in zip(g_got, g_want):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
