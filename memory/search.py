"""Exact inner-product kNN kernels: FAISS brute force for one database, a batched kernel for many.

All kernels return `(D, I)` in FAISS style: scores sorted best first, ids into the database,
`-inf` scores and `-1` ids where fewer than k entries exist.

- `faiss_knn(xq (nq, d), xb (nb, d), k)`: FAISS exhaustive search. On a CUDA tensor and with
  `faiss.get_num_gpus() > 0` it runs `bfKnn` on the GPU in place (no host copy); otherwise on
  the CPU. Without a GPU FAISS's GPU entry points abort the process, so every GPU call is
  behind that guard.
- `batched_knn(q (S, R, d), keys (S, C, d), sizes (S,), k)`: S independent databases (the
  stores of a bank, each a prefix `[0, sizes[s])` of its ring buffer) searched in one batched
  matmul + top-k. FAISS has no call that searches many small databases at once, and one FAISS
  call per store costs 2-5x more than this at 256 stores of 1024 entries (see
  benchmarks/memory_speed.py), so the bank uses this kernel when it has more than one store.
Both give the same entries up to float32 rounding of near-ties; tests check both against a
float64 brute force.
"""
from __future__ import annotations

import faiss
import numpy as np
import torch

# FAISS switches from its SIMD loop to BLAS only at 20 queries by default (and the loop is far
# slower for a 256-query batch on the CPU builds we use); 20 gives identical results.
faiss.cvar.distance_compute_blas_threshold = 20

_GPU_RESOURCES = None


def gpu_available() -> bool:
    """True when the installed FAISS sees a CUDA device (the guard for every GPU call)."""
    return faiss.get_num_gpus() > 0


def _gpu_resources():
    global _GPU_RESOURCES
    if _GPU_RESOURCES is None:
        _GPU_RESOURCES = faiss.StandardGpuResources()
    return _GPU_RESOURCES


def _float_ptr(t: torch.Tensor):
    return faiss.cast_integer_to_float_ptr(t.untyped_storage().data_ptr() + t.storage_offset() * 4)


def _idx_ptr(t: torch.Tensor):
    return faiss.cast_integer_to_idx_t_ptr(t.untyped_storage().data_ptr() + t.storage_offset() * 8)


def _faiss_knn_gpu(xq: torch.Tensor, xb: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """bfKnn on CUDA tensors, on torch's current stream; caller guarantees a FAISS GPU."""
    res = _gpu_resources()
    D = torch.empty(xq.shape[0], k, device=xq.device, dtype=torch.float32)
    I = torch.empty(xq.shape[0], k, device=xq.device, dtype=torch.int64)
    args = faiss.GpuDistanceParams()
    args.metric = faiss.METRIC_INNER_PRODUCT
    args.k = k
    args.dims = xb.shape[1]
    args.vectors = _float_ptr(xb)
    args.vectorsRowMajor = True
    args.vectorType = faiss.DistanceDataType_F32
    args.numVectors = xb.shape[0]
    args.queries = _float_ptr(xq)
    args.queriesRowMajor = True
    args.queryType = faiss.DistanceDataType_F32
    args.numQueries = xq.shape[0]
    args.outDistances = _float_ptr(D)
    args.outIndices = _idx_ptr(I)
    args.outIndicesType = faiss.IndicesDataType_I64
    args.device = xq.device.index if xq.device.index is not None else torch.cuda.current_device()
    stream = torch.cuda.current_stream(xq.device)
    prior = res.getDefaultStream(args.device)
    res.setDefaultStream(args.device, faiss.cast_integer_to_cudastream_t(stream.cuda_stream))
    try:
        faiss.bfKnn(res, args)
    finally:
        res.setDefaultStream(args.device, prior)
    return D, I


def faiss_knn(xq: torch.Tensor, xb: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact maximum-inner-product search of xq (nq, d) in xb (nb, d).

    Returns D (nq, k) float32 scores, best first, and I (nq, k) int64 row ids into xb, on
    xq's device; missing neighbours (nb < k) are `-inf` / `-1`.
    """
    nq, nb = xq.shape[0], xb.shape[0]
    xq = xq.detach().to(torch.float32).contiguous()
    xb = xb.detach().to(device=xq.device, dtype=torch.float32).contiguous()
    if nq == 0 or nb == 0:
        return (torch.full((nq, k), float("-inf"), device=xq.device),
                torch.full((nq, k), -1, dtype=torch.int64, device=xq.device))
    kk = min(k, nb)
    if xq.is_cuda and gpu_available():
        D, I = _faiss_knn_gpu(xq, xb, kk)
    else:
        Dn, In = faiss.knn(xq.cpu().numpy(), xb.cpu().numpy(), kk, metric=faiss.METRIC_INNER_PRODUCT)
        D, I = torch.from_numpy(Dn).to(xq.device), torch.from_numpy(In).to(xq.device)
    if kk < k:
        D = torch.cat([D, D.new_full((nq, k - kk), float("-inf"))], dim=1)
        I = torch.cat([I, I.new_full((nq, k - kk), -1)], dim=1)
    return D, I


def batched_knn(q: torch.Tensor, keys: torch.Tensor, sizes: torch.Tensor, k: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact inner-product search of S databases at once.

    q (S, R, d) queries, keys (S, C, d) ring buffers whose valid rows are the prefix
    [0, sizes[s]). Returns D (S, R, k) float32 best first and I (S, R, k) int64 slots, with
    `-inf` / `-1` beyond a store's size.
    """
    S, R, _ = q.shape
    C = keys.shape[1]
    kk = min(k, C)
    scores = torch.bmm(q, keys.transpose(1, 2))                              # (S, R, C)
    empty = torch.arange(C, device=keys.device).view(1, 1, C) >= sizes.view(S, 1, 1)
    scores.masked_fill_(empty, float("-inf"))
    D, I = scores.topk(kk, dim=-1)                                           # sorted, best first
    I = I.masked_fill(D == float("-inf"), -1)
    if kk < k:
        D = torch.cat([D, D.new_full((S, R, k - kk), float("-inf"))], dim=-1)
        I = torch.cat([I, I.new_full((S, R, k - kk), -1)], dim=-1)
    return D, I


def as_numpy_f32(t: torch.Tensor) -> np.ndarray:
    """A contiguous float32 host array (what the FAISS CPU entry points require)."""
    return np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy())
