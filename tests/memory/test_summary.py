"""memory.summary: what a saved bank holds, counted against the writes that filled it."""
import torch

from memory import MemoryBank
from memory.outcome import OutcomeCodec
from memory.summary import main, summarise, text

CODEC = OutcomeCodec(n_actions=5, horizon=10)


def filled_bank() -> MemoryBank:
    """Two mazes x 2 agents, shared stores; maze 0 gets 3 entries (agent 0 twice, agent 1 once),
    maze 1 one entry, with known outcome labels."""
    bank = MemoryBank(mode="shared", scope="layout", n_mazes=2, n_agents=2, key_dim=8, value_dim=8, capacity=16)
    values = CODEC.encode(torch.tensor([1, 2, 3, 4]), torch.tensor([True, True, False, True]),
                          torch.tensor([4, 2, 0, 6]), torch.zeros(4), value_dim=8)
    keys = torch.nn.functional.normalize(torch.randn(4, 8, generator=torch.Generator().manual_seed(0)), dim=-1)
    bank.write_entries(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 1, 1]), keys, values,
                       torch.zeros(4, dtype=torch.long), torch.arange(4))
    return bank


def test_entries_are_counted_per_store_writer_and_outcome():
    bank = filled_bank()
    first, second = summarise(bank, CODEC)
    assert (first["maze"], first["size"], first["writers"]) == (0, 3, {0: 2, 1: 1})
    assert (second["maze"], second["size"], second["writers"]) == (1, 1, {1: 1})
    assert first["reached"] == 2 / 3 and first["steps_left"] == 3.0      # (4 + 2) / 2
    assert first["actions"] == {1: 1, 2: 1, 3: 1} and second["actions"] == {4: 1}
    assert first["age"][0] >= 0 and first["reads"] == 0


def test_a_saved_bank_is_summarised_from_its_file(tmp_path, capsys):
    bank = filled_bank()
    bank.save(tmp_path / "memory.bank")
    assert main([str(tmp_path / "memory.bank"), "--outcome", "5", "10", "--stores", "1"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == text(bank, summarise(bank, CODEC, [1]))
    assert "store    1 maze    1:     1/16 entries, writers {1: 1}" in out


def test_a_missing_store_or_file_is_named(tmp_path, capsys):
    bank = filled_bank()
    bank.save(tmp_path / "memory.bank")
    assert main([str(tmp_path / "memory.bank"), "--stores", "7"]) == 2
    assert "store 7 does not exist: the bank has stores 0..1" in capsys.readouterr().err
    assert main([str(tmp_path / "nothing.bank")]) == 2
