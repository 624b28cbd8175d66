"""Long-term memory: FAISS-backed stores, the bank that maps agents to stores, reads and writes."""
from memory.read_attention import ReadAttention
from memory.recall import Recall

__all__ = ["Recall", "ReadAttention"]
