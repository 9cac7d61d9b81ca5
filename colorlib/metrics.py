"""Evaluation metrics (chapter 6).

**AuC of the ab error** (Zhang et al., Table 1). For each pixel, the Euclidean distance in ab (Lab units)
between prediction and ground truth; the *cumulative accuracy* at threshold t is the (weighted)
fraction of pixels with error ≤ t; the AuC is the mean of that curve over the 151 integer thresholds
t = 0, 1, …, 150, in percent. Integration rule: one rectangle of width 1 per threshold, so an all-correct
prediction scores 100 and a constant error d scores 100 · #{t ∈ 0..150 : t ≥ d} / 151.

* ``raw``: every pixel weighs 1.
* ``rebalanced``: each pixel weighs w₀ of its ground-truth bin (λ = 0 rebalancing weights from the
  training prior), so rare colours count as much as common ones in total. With a small training set
  some bins have almost no prior mass and an (almost) infinite weight, so a few pixels would decide the
  score. We floor the prior at ``floor`` before inverting (default 1/(100·Q): no bin weighs more than
  100× a uniform prior's weight); chapter 6 shows how the number moves with the floor.
* ``class-balanced``: the AuC of each ground-truth bin present in the evaluation set, averaged with
  equal weight per bin (no prior involved).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .encode import nearest_bins
from .rebalance import rebalance_weights

THRESHOLDS = np.arange(0, 151)


def default_floor(q: int) -> float:
    return 1.0 / (100 * q)


def ab_error(pred_ab: Tensor, true_ab: Tensor) -> Tensor:
    """Per-pixel Euclidean ab distance ``(N,H,W)`` (Lab units) between ``(N,2,H,W)`` tensors."""
    return torch.linalg.vector_norm(pred_ab.double() - true_ab.double(), dim=1)


def cumulative_counts(err: Tensor, weight: Tensor | None = None) -> tuple[np.ndarray, float]:
    """Weighted count of pixels with error ≤ t for t = 0..150 ``(151,)`` and the total weight."""
    e = err.reshape(-1).double()
    w = torch.ones_like(e) if weight is None else weight.reshape(-1).double()
    # pixel with error e is counted at every integer t ≥ e: from bin ceil(e) on
    first = torch.ceil(e).clamp_max(151).long()
    hist = torch.bincount(first, weights=w, minlength=152)[:151]
    return torch.cumsum(hist, 0).numpy(), float(w.sum())


def auc_from_counts(counts: np.ndarray, total: float) -> float:
    """AuC in percent from cumulative counts ``(151,)`` and their total weight."""
    return float(100.0 * np.mean(counts / total)) if total > 0 else float("nan")


def auc(err: Tensor, weight: Tensor | None = None) -> float:
    """AuC (%) of the cumulative accuracy of per-pixel errors (optionally weighted)."""
    return auc_from_counts(*cumulative_counts(err, weight))


def true_bins(true_ab: Tensor, bins) -> Tensor:
    """Index of each pixel's nearest bin ``(N,H,W)``."""
    return nearest_bins(true_ab.float(), bins, k=1)[1][:, 0]


def inverse_prior_weights(prior: np.ndarray, floor: float | None = None) -> np.ndarray:
    """λ = 0 weights (Σ p̃·w = 1) with the prior floored at ``floor`` (default 1/(100·Q))."""
    return rebalance_weights(prior, 0.0, floor=default_floor(len(prior)) if floor is None else floor)


def class_balanced_auc(err: Tensor, bin_index: Tensor) -> float:
    """Mean over the ground-truth bins present of each bin's own AuC (%)."""
    e, b = err.reshape(-1), bin_index.reshape(-1)
    return float(np.mean([auc(e[b == q]) for q in torch.unique(b).tolist()]))


def counts_per_bin(err: Tensor, bin_index: Tensor, q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's cumulative counts per ground-truth bin, for class-balanced AuCs over any set of images:
    the bins present ``(k,)``, their counts of pixels with error ≤ t ``(k, 151)`` and their pixels ``(k,)``."""
    first = torch.ceil(err.reshape(-1).double()).clamp_max(151).long()
    flat = bin_index.reshape(-1).long() * 152 + first
    hist = torch.bincount(flat, minlength=q * 152).view(q, 152)[:, :151].double()
    totals = torch.bincount(bin_index.reshape(-1).long(), minlength=q).double()
    present = torch.nonzero(totals > 0).flatten()
    return present.numpy(), torch.cumsum(hist[present], 1).float().numpy(), totals[present].numpy()


def class_balanced_auc_from_counts(per_image: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> float:
    """:func:`class_balanced_auc` over the images whose :func:`counts_per_bin` are given (repeats count twice)."""
    q = 1 + max(int(bins.max()) for bins, _, _ in per_image if len(bins))
    counts, totals = np.zeros((q, 151)), np.zeros(q)
    for bins, cum, tot in per_image:
        np.add.at(counts, bins, cum)
        np.add.at(totals, bins, tot)
    present = totals > 0
    return float(100.0 * np.mean(counts[present] / totals[present, None]))


def ab_spread(ab: Tensor) -> dict[str, float]:
    """How much colours vary, for ab ``(N,2,H,W)`` in Lab units: ``within`` is each photo's standard deviation
    of ab across its pixels, √(mean ‖ab − the photo's mean ab‖²), averaged over the photos; ``across`` is the
    standard deviation of the photos' mean ab around their common mean. A colorizer that paints every photo
    one flat colour has both 0; one that paints each photo flat but in its own colour has only ``within`` 0."""
    ab = ab.double()
    means = ab.mean((2, 3))  # (N,2)
    within = ((ab - means[:, :, None, None]) ** 2).sum(1).mean((1, 2)).sqrt()
    across = ((means - means.mean(0)) ** 2).sum(1).mean().sqrt()
    return {"within": float(within.mean()), "across": float(across)}


def colorfulness(rgb: Tensor) -> Tensor:
    """Hasler & Süsstrunk (2003) colourfulness per image, for sRGB ``(N,3,H,W)`` in 0..1 (on the 0..255 scale)."""
    r, g, b = (rgb.double() * 255).unbind(1)
    rg, yb = r - g, 0.5 * (r + g) - b
    sigma = torch.sqrt(rg.flatten(1).var(1, unbiased=False) + yb.flatten(1).var(1, unbiased=False))
    mu = torch.sqrt(rg.flatten(1).mean(1) ** 2 + yb.flatten(1).mean(1) ** 2)
    return sigma + 0.3 * mu


# Warm painted cool: the failure a reader sees first (a face or a wooden carving painted blue). A pixel is warm
# where its true a and b both exceed WARM_AB (skin, wood, brick, sand: reddish and yellowish at once), and painted
# cool where the prediction's a or b falls below COOL_AB (towards green or blue). Lab units.
WARM_AB = 5.0
COOL_AB = -2.0


def warm_painted_cool(pred_ab: Tensor, true_ab: Tensor) -> tuple[Tensor, Tensor]:
    """Per image, the number of warm pixels and of those painted cool, for ab ``(N,2,H,W)`` in Lab units
    (:data:`WARM_AB`, :data:`COOL_AB`); both ``(N,)``. The share is their ratio summed over photos."""
    warm = (true_ab[:, 0] > WARM_AB) & (true_ab[:, 1] > WARM_AB)
    cool = (pred_ab[:, 0] < COOL_AB) | (pred_ab[:, 1] < COOL_AB)
    return warm.flatten(1).sum(1), (warm & cool).flatten(1).sum(1)


PSNR_CAP = 100.0  # dB: identical images have an infinite PSNR; it is recorded as this (and shown as "–")


def psnr(pred_rgb: Tensor, true_rgb: Tensor) -> Tensor:
    """PSNR (dB) per image between sRGB ``(N,3,H,W)`` images in 0..1: 10·log10(1 / MSE), the MSE over every
    pixel and channel; :data:`PSNR_CAP` for identical images (where it is infinite)."""
    mse = ((pred_rgb.double() - true_rgb.double()) ** 2).flatten(1).mean(1)
    return torch.where(mse > 0, 10 * torch.log10(1.0 / mse.clamp_min(1e-10)), torch.full_like(mse, PSNR_CAP))


def bootstrap_ci(per_item: np.ndarray, statistic, n: int = 1000, seed: int = 0, level: float = 0.95):
    """Percentile bootstrap over items (images): resample rows of ``per_item`` with replacement and apply
    ``statistic(rows)``. Returns (low, high)."""
    rng = np.random.default_rng(seed)
    m = len(per_item)
    values = [statistic(per_item[rng.integers(0, m, m)]) for _ in range(n)]
    lo, hi = np.percentile(values, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def paired_bootstrap(n_items: int, statistic_a, statistic_b, n: int = 1000, seed: int = 0,
                     level: float = 0.95) -> tuple[float, float, float]:
    """Paired percentile bootstrap of a difference between two methods scored on the **same** items.

    Each resample draws ``n_items`` item indices with replacement; both statistics are computed on that
    same resample (``statistic_a(indices)``, ``statistic_b(indices)``) and their difference kept. Returns
    (difference on all items, low, high) of the ``level`` interval. Pairing removes the variation that
    comes from which photos happen to be drawn, which both methods share."""
    rng = np.random.default_rng(seed)
    everything = np.arange(n_items)
    diffs = []
    for _ in range(n):
        resample = rng.integers(0, n_items, n_items)
        diffs.append(statistic_a(resample) - statistic_b(resample))
    lo, hi = np.percentile(diffs, [50 * (1 - level), 50 * (1 + level)])
    return float(statistic_a(everything) - statistic_b(everything)), float(lo), float(hi)


def verdict(low: float, high: float, expected_sign: int) -> str:
    """``holds`` when the whole interval of a difference has the expected sign (+1 or −1), ``reversed``
    when it has the opposite sign, else ``undecided``."""
    if expected_sign * low > 0 and expected_sign * high > 0:
        return "holds"
    if expected_sign * low < 0 and expected_sign * high < 0:
        return "reversed"
    return "undecided"
