import numpy as np
import pytest
import torch

from colorlib.encode import (
    annealed_mean,
    decode_mean,
    decode_mode,
    nearest_bins,
    onehot_encode,
    soft_encode,
    soft_encode_sparse,
)
from colorlib.quantize import gamut_bins

BINS = gamut_bins()


def _ab(n=3, h=20, w=24, scale=45.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 2, h, w, generator=g) * scale).to(dtype)


def test_soft_targets_sum_to_one_and_match_kdtree():
    ab = _ab()
    fast = soft_encode(ab, BINS)
    ref = soft_encode(ab, BINS, method="kdtree")
    assert fast.shape == (3, 313, 20, 24)
    assert torch.allclose(fast.sum(1), torch.ones(3, 20, 24, dtype=torch.float64), atol=1e-12)
    assert (fast - ref).abs().max() <= 1e-5
    assert ((fast > 0).sum(1) == 5).all()


def test_float32_close_to_reference():
    ab = _ab(dtype=torch.float32)
    assert (soft_encode(ab, BINS) - soft_encode(ab, BINS, method="kdtree")).abs().max() <= 1e-4


def test_far_outside_the_gamut_falls_back_exactly():
    ab = torch.tensor([[[[127.0, -128.0, 0.0, 300.0]], [[127.0, -128.0, 0.0, -300.0]]]], dtype=torch.float64)
    assert (soft_encode(ab, BINS) - soft_encode(ab, BINS, method="kdtree")).abs().max() <= 1e-9


def test_onehot_is_the_nearest_bin():
    ab = _ab()
    oh = onehot_encode(ab, BINS)
    d = ((ab.permute(0, 2, 3, 1)[..., None, :] - torch.tensor(BINS)) ** 2).sum(-1)
    assert torch.equal(oh.argmax(1), d.argmin(-1))
    assert torch.equal(oh.sum(1), torch.ones_like(oh.sum(1)))


def test_sparse_matches_dense():
    ab = _ab(1, 6, 6)
    idx, w = soft_encode_sparse(ab, BINS)
    dense = soft_encode(ab, BINS)
    assert torch.allclose(torch.gather(dense, 1, idx), w)


def test_sigma_controls_spread():
    ab = torch.tensor([[[[23.0]], [[-41.0]]]], dtype=torch.float64)
    _, narrow = soft_encode_sparse(ab, BINS, sigma=2.0)
    _, wide = soft_encode_sparse(ab, BINS, sigma=20.0)
    assert narrow[0, 0].item() > wide[0, 0].item()


def test_decoders():
    logits = torch.randn(2, 313, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(annealed_mean(logits, BINS, T=1.0), decode_mean(logits, BINS))
    # give every pixel's top bin a clear lead, so a low temperature must land on it
    logits.scatter_add_(1, logits.argmax(1, keepdim=True), torch.full((2, 1, 5, 5), 2.0, dtype=torch.float64))
    assert torch.allclose(annealed_mean(logits, BINS, T=0.01), decode_mode(logits, BINS), atol=1e-6)
    # a distribution peaked on one bin decodes to that bin
    peaked = torch.full((1, 313, 1, 1), -30.0, dtype=torch.float64)
    peaked[0, 100] = 30.0
    assert np.allclose(annealed_mean(peaked, BINS).reshape(2).numpy(), BINS[100])
    with pytest.raises(ValueError):
        annealed_mean(logits, BINS, T=0)


def test_nearest_bins_shape():
    d2, idx = nearest_bins(_ab(2, 3, 4), BINS, k=5)
    assert d2.shape == idx.shape == (2, 5, 3, 4)
    assert (d2[:, :-1] <= d2[:, 1:]).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    ab = _ab(dtype=torch.float32)
    assert torch.allclose(soft_encode(ab.cuda(), BINS).cpu(), soft_encode(ab, BINS), atol=1e-5)
