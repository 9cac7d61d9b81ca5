"""The four losses against their dense textbook formulas, and the targets they are computed on."""

import pytest
import torch
import torch.nn.functional as F

from colorlib.encode import nearest_bins, onehot_encode, soft_encode
from colorlib.losses import compute_loss, target_ab
from colorlib.quantize import bins_tensor

BINS = bins_tensor()


def _batch(seed=0, n=2, size=6):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 313, size, size, generator=g) * 3
    ab = (torch.rand(n, 2, size, size, generator=g) - 0.5) * 160  # in and (a little) out of gamut
    weights = torch.rand(313, generator=g) * 4 + 0.1
    return logits, ab, weights


def _dense_cross_entropy(logits, target, pixel_weight=None):
    per_pixel = -(target * torch.log_softmax(logits, 1)).sum(1)
    return (per_pixel if pixel_weight is None else per_pixel * pixel_weight).mean()


def test_class_is_the_dense_cross_entropy_with_soft_targets():
    logits, ab, _ = _batch()
    expected = _dense_cross_entropy(logits, soft_encode(ab, BINS))
    assert compute_loss("class", logits, ab, BINS) == pytest.approx(expected.item(), rel=1e-5)


def test_full_soft_weights_each_pixel_by_w_of_its_nearest_bin():
    logits, ab, weights = _batch(1)
    nearest = nearest_bins(ab, BINS, k=1)[1][:, 0]  # (N,H,W)
    expected = _dense_cross_entropy(logits, soft_encode(ab, BINS), weights[nearest])
    assert compute_loss("full-soft", logits, ab, BINS, weights) == pytest.approx(expected.item(), rel=1e-5)


def test_full_onehot_is_the_weighted_cross_entropy_of_the_nearest_bin():
    logits, ab, weights = _batch(2)
    nearest = nearest_bins(ab, BINS, k=1)[1][:, 0]
    expected = _dense_cross_entropy(logits, onehot_encode(ab, BINS), weights[nearest])
    assert compute_loss("full-onehot", logits, ab, BINS, weights) == pytest.approx(expected.item(), rel=1e-5)
    # and it is the plain cross-entropy of torch, weighted
    per_pixel = F.cross_entropy(logits, nearest, reduction="none")
    assert compute_loss("full-onehot", logits, ab, BINS, weights) == pytest.approx(
        (per_pixel * weights[nearest]).mean().item(), rel=1e-5)


def test_l2_is_half_the_squared_error_in_ab_over_110():
    _, ab, _ = _batch(3)
    pred = ab + torch.randn_like(ab) * 20
    expected = 0.5 * (((pred - ab) / 110) ** 2).sum(1).mean()
    assert compute_loss("l2", pred, ab, BINS) == pytest.approx(expected.item(), rel=1e-6)


def test_rebalanced_losses_need_weights():
    logits, ab, _ = _batch()
    with pytest.raises(ValueError, match="rebalancing weights"):
        compute_loss("full-soft", logits, ab, BINS)


def test_targets_subsample_every_fourth_pixel_like_zhangs_training_net():
    ab = torch.arange(2 * 8 * 12, dtype=torch.float32).view(1, 2, 8, 12)
    assert torch.equal(target_ab(ab), ab[..., ::4, ::4])
    assert torch.equal(target_ab(ab, sampling="average"), F.avg_pool2d(ab, 4))
    # an edge inside a block: subsampling keeps a real colour, averaging invents a duller one
    edge = torch.zeros(1, 2, 4, 4)
    edge[:, 0, :, 2:] = 80.0
    assert target_ab(edge)[0, 0, 0, 0] == 0 and target_ab(edge, sampling="average")[0, 0, 0, 0] == 40
    with pytest.raises(ValueError, match="sampling"):
        target_ab(ab, sampling="median")
