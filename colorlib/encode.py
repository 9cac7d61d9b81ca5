"""Encoding ab into class targets and decoding class scores back to ab (chapters 2–4).

Shapes: ``ab`` is ``(N, 2, H, W)`` in Lab units; ``bins`` is ``(Q, 2)``; targets and logits are
``(N, Q, H, W)``. Works on CPU and CUDA.

Two ways to find each pixel's k nearest bins:

* ``method="kdtree"`` — the seed's reference: scikit-learn's KD-tree on the CPU.
* ``method="lattice"`` (default) — the bins sit on a regular grid, so a pixel's nearest bins are
  among the 4×4 lattice points around the grid cell it falls in. One table lookup says which of
  those 16 are bins, distances to a lattice are separable (d² = Δa² + Δb²), and we keep the k
  closest. Lattice points outside the block lie ≥ 2 grid steps away, while on a full lattice the
  5th neighbour is never farther than 1.58 steps, so the answer is exact whenever the k-th
  distance is below 2 steps; the rare pixels where it is not (far outside the gamut) fall back to
  comparing against all Q bins. Pixels are processed in cache-sized chunks, on the last axis.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

DEFAULT_K = 5
DEFAULT_SIGMA = 5.0
DEFAULT_T = 0.38


def _pixels(ab: Tensor) -> Tensor:
    """(N, 2, H, W) -> (2, P) with P = N·H·W in (n, h, w) order."""
    if ab.dim() != 4 or ab.shape[1] != 2:
        raise ValueError(f"expected ab of shape (N,2,H,W), got {tuple(ab.shape)}")
    return ab.permute(1, 0, 2, 3).reshape(2, -1)


def _as_bins(bins: Tensor | np.ndarray, like: Tensor) -> Tensor:
    return torch.as_tensor(np.asarray(bins) if not torch.is_tensor(bins) else bins).to(like.device, like.dtype)


def grid_step(bins: Tensor) -> float:
    """The spacing of the regular lattice the bins lie on (Lab units)."""
    a = torch.unique(bins[:, 0])
    return float((a[1:] - a[:-1]).min())


class _Lattice:
    """The bins as a regular lattice, for the k-NN search.

    ``table`` maps a lattice cell to its bin index (-1 where no bin). For the cell ``(i, j)`` whose
    lower-left corner is at ``(i·step, j·step)``, bit ``4·da + db`` of ``mask`` says whether lattice
    point ``(i + da − 1, j + db − 1)`` is a bin: one int32 lookup gives the whole 4×4 block.
    """

    def __init__(self, bins: Tensor):
        self.bins = bins
        self.step = grid_step(bins)
        cells = torch.round(bins / self.step).long()
        self.origin = cells.min(0).values - 3
        size = cells.max(0).values - self.origin + 4
        table = torch.full((int(size[0]), int(size[1])), -1, dtype=torch.long, device=bins.device)
        rel = cells - self.origin
        table[rel[:, 0], rel[:, 1]] = torch.arange(len(bins), device=bins.device)
        present, mask = (table >= 0).int(), torch.zeros_like(table, dtype=torch.int32)
        for da in range(4):
            for db in range(4):
                mask |= torch.roll(present, shifts=(1 - da, 1 - db), dims=(0, 1)) << (4 * da + db)
        self.shape = table.shape
        self.table, self.mask = table.flatten(), mask.flatten()
        ncol = table.shape[1]
        self.offsets = torch.tensor([(da - 1) * ncol + (db - 1) for da in range(4) for db in range(4)],
                                    device=bins.device)
        self.bits = torch.arange(16, dtype=torch.int32, device=bins.device)[:, None]


_LATTICES: dict = {}


def _lattice(bins: Tensor) -> _Lattice:
    key = (bins.device, bins.dtype, tuple(bins.shape))
    lat = _LATTICES.get(key)
    if lat is None or (lat.bins is not bins and not torch.equal(lat.bins, bins)):  # `is`: no device sync
        lat = _LATTICES[key] = _Lattice(bins)
    return lat


def _knn_brute(p: Tensor, bins: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """p ``(2, P)`` -> squared distances and indices ``(k, P)`` against every bin."""
    d2 = torch.cdist(p.T, bins) ** 2
    v, i = torch.topk(d2, k, dim=1, largest=False)
    return v.T, i.T


def _knn_lattice_chunk(p: Tensor, lat: _Lattice, k: int) -> tuple[Tensor, Tensor]:
    step = lat.step
    fa, fb = torch.floor(p[0] / step), torch.floor(p[1] / step)  # the pixel's cell, (P,)
    ia, ib = fa.long() - lat.origin[0], fb.long() - lat.origin[1]
    outside = (ia < 1) | (ib < 1) | (ia > lat.shape[0] - 3) | (ib > lat.shape[1] - 3)
    cell = ia.clamp(1, lat.shape[0] - 3) * lat.shape[1] + ib.clamp(1, lat.shape[1] - 3)
    # Distances to a lattice are separable: d² = (a − a_i)² + (b − b_j)². Pixels on the last axis.
    o = torch.arange(-1, 3, device=p.device, dtype=p.dtype)[:, None] * step
    dx2, dy2 = (p[0] - fa * step - o) ** 2, (p[1] - fb * step - o) ** 2  # (4, P)
    d2 = (dx2[:, None, :] + dy2[None, :, :]).reshape(16, -1)
    absent = ((lat.mask[cell][None, :] >> lat.bits) & 1) == 0
    d2.masked_fill_(absent, float("inf"))
    vals, slots = [], []
    for _ in range(k):  # k small: repeated minimum beats a sort along a short axis
        v, s = d2.min(dim=0)
        vals.append(v)
        slots.append(s)
        d2.scatter_(0, s[None], float("inf"))
    d2k, slot = torch.stack(vals), torch.stack(slots)
    idx = lat.table[cell[None, :] + lat.offsets[slot]]
    # Lattice points outside the 4×4 block are ≥ 2 steps away: the answer is exact when the k-th
    # neighbour is closer. Otherwise (far outside the gamut) compare with every bin.
    redo = outside | ~(d2k[-1] < (2 * step) ** 2)
    if redo.any():
        d2k[:, redo], idx[:, redo] = _knn_brute(p[:, redo], lat.bins, k)
    return d2k, idx


_CHUNK = 65536  # pixels per pass: keeps the (16, chunk) intermediates in cache


def _knn_lattice(p: Tensor, bins: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """p ``(2, P)`` -> squared distances and indices ``(k, P)``, closest first."""
    lat = _lattice(bins)
    parts = [_knn_lattice_chunk(p[:, i : i + _CHUNK], lat, k) for i in range(0, p.shape[1], _CHUNK)]
    return torch.cat([d for d, _ in parts], 1), torch.cat([i for _, i in parts], 1)


def _knn_kdtree(p: Tensor, bins: Tensor, k: int) -> tuple[Tensor, Tensor]:
    from sklearn.neighbors import KDTree

    tree = KDTree(bins.detach().cpu().double().numpy())
    dist, idx = tree.query(p.T.detach().cpu().double().numpy(), k=k)
    return (
        torch.from_numpy(dist.T**2).to(p.device, p.dtype),
        torch.from_numpy(idx.T).to(p.device),
    )


def nearest_bins(ab: Tensor, bins: Tensor | np.ndarray, k: int = 1, method: str = "lattice") -> tuple[Tensor, Tensor]:
    """Squared distances and indices of each pixel's ``k`` nearest bins, each ``(N, k, H, W)``, closest first."""
    bins_t = _as_bins(bins, ab)
    p = _pixels(ab)
    if method == "lattice":
        d2, idx = _knn_lattice(p, bins_t, k)
    elif method == "kdtree":
        d2, idx = _knn_kdtree(p, bins_t, k)
    else:
        raise ValueError(f"unknown method {method!r}; allowed: lattice, kdtree")
    n, _, h, w = ab.shape
    return d2.reshape(k, n, h, w).transpose(0, 1), idx.reshape(k, n, h, w).transpose(0, 1)


def _scatter(idx: Tensor, weights: Tensor, q: int) -> Tensor:
    """(N,k,H,W) indices and weights -> dense (N,Q,H,W) targets."""
    n, _, h, w = idx.shape
    out = torch.zeros(n, q, h, w, dtype=weights.dtype, device=weights.device)
    return out.scatter_(1, idx, weights)


def soft_encode_sparse(
    ab: Tensor,
    bins: Tensor | np.ndarray,
    k: int = DEFAULT_K,
    sigma: float = DEFAULT_SIGMA,
    method: str = "lattice",
) -> tuple[Tensor, Tensor]:
    """Soft targets in sparse form: bin indices and Gaussian weights, each ``(N,k,H,W)``, closest
    first, weights summing to 1. This is all a cross-entropy needs: Σ_k w_k · (−log p[idx_k])."""
    d2, idx = nearest_bins(ab, bins, k, method)
    # exp(-d²/2σ²) normalised; subtracting the nearest distance first keeps it finite far from the gamut
    w = torch.exp(-(d2 - d2[:, :1]) / (2 * sigma**2))
    return idx, w / w.sum(dim=1, keepdim=True)


def soft_encode(
    ab: Tensor,
    bins: Tensor | np.ndarray,
    k: int = DEFAULT_K,
    sigma: float = DEFAULT_SIGMA,
    method: str = "lattice",
) -> Tensor:
    """Soft targets: each pixel's ``k`` nearest bins weighted by a Gaussian (σ in Lab units) of
    their distance, rows summing to 1. ``(N,2,H,W) -> (N,Q,H,W)``."""
    idx, w = soft_encode_sparse(ab, bins, k, sigma, method)
    return _scatter(idx, w, len(bins))


def onehot_encode(ab: Tensor, bins: Tensor | np.ndarray, method: str = "lattice") -> Tensor:
    """One-hot targets on each pixel's nearest bin. ``(N,2,H,W) -> (N,Q,H,W)``."""
    _, idx = nearest_bins(ab, bins, 1, method)
    return _scatter(idx, torch.ones_like(idx, dtype=ab.dtype), len(bins))


def expected_ab(probs: Tensor, bins: Tensor | np.ndarray) -> Tensor:
    """Mean of the bin centres under a distribution ``(N,Q,H,W)`` -> ``(N,2,H,W)``."""
    return torch.einsum("nqhw,qc->nchw", probs, _as_bins(bins, probs))


def annealed_mean(logits: Tensor, bins: Tensor | np.ndarray, T: float = DEFAULT_T) -> Tensor:
    """Zhang's decoding: the mean of the temperature-``T`` re-normalised distribution.

    ``T = 1`` is the plain mean (desaturated), ``T -> 0`` approaches the mode (vivid but patchy).
    ``(N,Q,H,W) logits -> (N,2,H,W) ab``.
    """
    if T <= 0:
        raise ValueError(f"temperature T must be > 0, got {T}")
    return expected_ab(torch.softmax(logits / T, dim=1), bins)


def decode_mean(logits: Tensor, bins: Tensor | np.ndarray) -> Tensor:
    """The distribution's mean (annealed mean with T = 1)."""
    return annealed_mean(logits, bins, T=1.0)


def decode_mode(logits: Tensor, bins: Tensor | np.ndarray) -> Tensor:
    """The most probable bin's centre, ``(N,2,H,W)``."""
    bins_t = _as_bins(bins, logits)
    return bins_t[logits.argmax(dim=1)].permute(0, 3, 1, 2)
