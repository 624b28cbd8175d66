"""ReadAttention: gradients reach the query and value projections; empty recalls give zeros."""
import torch

from memory import ReadAttention, Recall
from tests.memory.conftest import make_bank, random_rows


def recall_from_bank(rng):
    bank = make_bank(mode="shared", n_mazes=2, n_agents=2, capacity=10)
    bank.write(*random_rows(rng, 2, 2, 8, 4), {"episode": 0, "step": 0},
               mask=torch.tensor([[True, True], [False, False]]))
    return bank.read(random_rows(rng, 2, 2, 8, 4)[0], 3).flatten()      # maze 1 is empty


def test_gradients_reach_query_and_value_projection(rng):
    torch.manual_seed(0)
    att = ReadAttention(query_dim=6, key_dim=8, value_dim=4, out_dim=8, n_heads=2, gate=True)
    recall = recall_from_bank(rng)
    query = torch.randn(4, 6, requires_grad=True)
    out = att(query, recall)
    assert out.shape == (4, 8) and torch.isfinite(out).all()
    assert (out[2:] == 0).all()                         # no valid entry: zeros, not NaN
    out.sum().backward()
    assert query.grad[:2].abs().sum() > 0
    assert att.v_proj.weight.grad.abs().sum() > 0 and att.gate.weight.grad.abs().sum() > 0


def test_masked_entries_do_not_change_the_output(rng):
    torch.manual_seed(0)
    att = ReadAttention(6, 8, 4, 8)
    recall = recall_from_bank(rng)
    query = torch.randn(4, 6)
    noisy = Recall(keys=recall.keys + 5 * (~recall.mask).unsqueeze(-1), values=recall.values,
                   scores=recall.scores, mask=recall.mask, ids=recall.ids, writers=recall.writers)
    assert torch.allclose(att(query, recall), att(query, noisy), atol=1e-6)
