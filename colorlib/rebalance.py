"""Class rebalancing (chapter 3).

Natural photos are dominated by low-saturation colours, so a plain cross-entropy learns to predict
gray-ish brown. Zhang et al. weight each pixel by how rare its colour is (their eq. 4; the seed's eq. 2):

    w ∝ ((1 − λ) p̃ + λ / Q)^−1,   normalised so that  Σ_q p̃_q w_q = 1,

where p̃ is the empirical ab distribution over the Q bins smoothed by a Gaussian of σ = 5 (Lab units).
λ = 1 gives uniform weights; λ = 0 the inverse prior (used by the rebalanced AuC metric).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import Tensor

from .encode import nearest_bins

DEFAULT_LAMBDA = 0.5
DEFAULT_PRIOR_SIGMA = 5.0


def bin_histogram(ab_batches: Iterable[Tensor], bins: np.ndarray) -> np.ndarray:
    """Count pixels per nearest bin over batches of ab ``(N,2,H,W)`` -> counts ``(Q,)`` (float64)."""
    counts = np.zeros(len(bins), dtype=np.float64)
    for ab in ab_batches:
        _, idx = nearest_bins(ab.float(), bins, k=1)
        counts += np.bincount(idx.reshape(-1).cpu().numpy(), minlength=len(bins))
    return counts


def smooth_on_bins(hist: np.ndarray, bins: np.ndarray, sigma: float = DEFAULT_PRIOR_SIGMA) -> np.ndarray:
    """Gaussian smoothing of a distribution over bins (σ in Lab units), renormalised to sum 1.

    Zhang smooths the histogram on the ab grid; with bins on a lattice this is the same as a Gaussian
    kernel between bin centres. Mass that would leave the gamut is renormalised back in.
    """
    bins = np.asarray(bins, dtype=np.float64)
    if sigma <= 0:
        out = np.asarray(hist, dtype=np.float64)
    else:
        d2 = ((bins[:, None, :] - bins[None, :, :]) ** 2).sum(-1)
        out = np.exp(-d2 / (2 * sigma**2)) @ np.asarray(hist, dtype=np.float64)
    total = out.sum()
    if total <= 0:
        raise ValueError("the histogram is empty: no colour pixels were counted")
    return out / total


def empirical_prior(
    ab_batches: Iterable[Tensor], bins: np.ndarray, sigma: float = DEFAULT_PRIOR_SIGMA
) -> np.ndarray:
    """The smoothed empirical distribution p̃ ``(Q,)`` of ab over the given batches (sums to 1)."""
    return smooth_on_bins(bin_histogram(ab_batches, bins), bins, sigma)


def rebalance_weights(prior: np.ndarray, lam: float = DEFAULT_LAMBDA, floor: float = 0.0) -> np.ndarray:
    """Per-bin weights ``(Q,)``: w ∝ 1 / ((1−λ) p̃ + λ/Q), normalised so Σ p̃·w = 1 exactly.

    ``floor`` is a lower bound on the mixed distribution before inverting; it matters only for λ = 0,
    where a bin with (almost) no prior mass would get an (almost) infinite weight. Bins whose mixed
    mass is exactly 0 with ``floor=0`` raise: the caller must choose a floor deliberately.
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    prior = np.asarray(prior, dtype=np.float64)
    mix = np.maximum((1.0 - lam) * prior + lam / len(prior), floor)
    if (mix <= 0).any():
        raise ValueError("some bins have zero prior mass; pass floor > 0 to bound their weight")
    w = 1.0 / mix
    return w / (prior * w).sum()


def pixel_weights(target_bin: Tensor, weights: np.ndarray | Tensor) -> Tensor:
    """Weight of each pixel from the index of its target bin (any shape) -> the same shape."""
    w = torch.as_tensor(weights, dtype=torch.float32, device=target_bin.device)
    return w[target_bin]


def dataset_prior(
    data: str | None = None,
    size: int = 128,
    gray_threshold: float | None = 5.0,
    sigma: float = DEFAULT_PRIOR_SIGMA,
    bins: np.ndarray | None = None,
    split: str = "train",
) -> tuple[np.ndarray, np.ndarray, int]:
    """Prior p̃ ``(Q,)`` over the **training split** (or its ``fit`` part, when tuning) of a data source,
    each photo centre-cropped at ``size`` pixels; near-gray photos skipped. Returns (prior, raw counts,
    number of photos)."""
    from torch.utils.data import DataLoader

    from .data import ColorDataset
    from .quantize import gamut_bins

    bins = gamut_bins() if bins is None else bins
    ds = ColorDataset(data, split=split, size=size, train=False, gray_threshold=gray_threshold)
    loader = DataLoader(ds, batch_size=32)
    counts = bin_histogram((batch["ab"] for batch in loader), bins)
    return smooth_on_bins(counts, bins, sigma), counts, len(ds)
