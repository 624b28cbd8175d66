"""Exact kernels against a float64 brute force."""
import numpy as np
import pytest
import torch

from memory.search import batched_knn, faiss_knn, gpu_available
from tests.memory.reference import brute_force


@pytest.mark.parametrize("nq,nb,d,k", [(1, 50, 8, 5), (256, 3000, 64, 16), (7, 3, 16, 5), (30, 200, 33, 200)])
def test_faiss_knn_equals_brute_force(rng, nq, nb, d, k):
    xq = rng.standard_normal((nq, d)).astype(np.float32)
    xb = rng.standard_normal((nb, d)).astype(np.float32)
    D, I = faiss_knn(torch.from_numpy(xq), torch.from_numpy(xb), k)
    Dr, Ir = brute_force(xq, xb, k)
    assert D.shape == (nq, k) and I.dtype == torch.int64
    np.testing.assert_array_equal(I.numpy(), Ir)
    finite = np.isfinite(Dr)
    np.testing.assert_allclose(D.numpy()[finite], Dr[finite], rtol=1e-5, atol=1e-5)
    assert np.all(np.isneginf(D.numpy()[~finite]))


def test_batched_knn_equals_brute_force_per_store(rng):
    S, R, C, d, k = 5, 3, 40, 16, 8
    keys = rng.standard_normal((S, C, d)).astype(np.float32)
    q = rng.standard_normal((S, R, d)).astype(np.float32)
    sizes = np.array([0, 1, 7, 39, 40])
    D, I = batched_knn(torch.from_numpy(q), torch.from_numpy(keys), torch.from_numpy(sizes), k)
    for s in range(S):
        Dr, Ir = brute_force(q[s], keys[s, :sizes[s]], k)
        np.testing.assert_array_equal(I[s].numpy(), Ir)
        finite = np.isfinite(Dr)
        np.testing.assert_allclose(D[s].numpy()[finite], Dr[finite], rtol=1e-5, atol=1e-5)


def test_faiss_knn_accepts_non_contiguous_float64(rng):
    xb = torch.from_numpy(rng.standard_normal((16, 100))).T          # (100, 16) float64, strided
    xq = torch.from_numpy(rng.standard_normal((4, 16)))
    D, I = faiss_knn(xq, xb, 3)
    _, Ir = brute_force(xq.numpy(), xb.numpy(), 3)
    np.testing.assert_array_equal(I.numpy(), Ir)


@pytest.mark.gpu
@pytest.mark.skipif(not (torch.cuda.is_available() and gpu_available()), reason="needs a FAISS GPU")
def test_gpu_flat_matches_cpu(rng):
    xq = torch.from_numpy(rng.standard_normal((64, 32)).astype(np.float32))
    xb = torch.from_numpy(rng.standard_normal((5000, 32)).astype(np.float32))
    Dc, Ic = faiss_knn(xq, xb, 16)
    Dg, Ig = faiss_knn(xq.cuda(), xb.cuda(), 16)
    np.testing.assert_array_equal(Ig.cpu().numpy(), Ic.numpy())
    np.testing.assert_allclose(Dg.cpu().numpy(), Dc.numpy(), rtol=1e-4, atol=1e-4)
    Db, Ib = batched_knn(xq.cuda().view(1, 64, 32), xb.cuda().view(1, 5000, 32),
                         torch.tensor([5000], device="cuda"), 16)
    np.testing.assert_array_equal(Ib[0].cpu().numpy(), Ic.numpy())
