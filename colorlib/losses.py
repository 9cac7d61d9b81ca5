"""The four losses of the seed study, selected by name everywhere (CLI, notebooks, results).

All take the network's output (predicted ab ``(N,2,h,w)`` for ``l2``, class logits ``(N,Q,h,w)``
otherwise) and the ground-truth ab at the same resolution ``(N,2,h,w)`` (Lab units), and return a
scalar: the mean over pixels.

``l2``           regression: ½‖(ab − âb)/110‖² with âb from the network's own ab head (Zhang's L2
                 baseline regresses ab directly from the last features), measured in ab/110 like the
                 released model's head. Its scale differs from the cross-entropies' by orders of
                 magnitude, which is why each loss gets its own solver (chapter 5,
                 :data:`colorlib.profiles.SOLVERS`).
``class``        cross-entropy on soft 5-NN targets, no rebalancing.
``full-soft``    the same, each pixel weighted by w[argmax target] (seed eq. 1, Zhang eq. 2).
``full-onehot``  cross-entropy on the nearest bin only, weighted the same way.

One more loss trains only the hint colorizer of chapter 10 (not a loss of the study, so not in :data:`LOSSES`):

``psnr``         regression on the hinted annealed mean: 10·log10 of each photo's mean squared ab error (ab/110),
                 averaged over the photos. The PSNR curve chapter 10 reports is a mean over photos of a log of
                 each photo's error; the squared error summed over all pixels (``l2``) favours the hardest photos.

Zhang et al. also describe rebalancing applied to the gradient only; that variant is not implemented.
Σ p̃·w = 1 makes the expected pixel weight 1 *under the smoothed prior* p̃; on real training pixels it is
lower (chapter 3 measures it), because smoothing moves mass from the common gray bins to rare ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .color import AB_SCALE
from .encode import nearest_bins, soft_encode_sparse

LOSSES = ("l2", "class", "full-soft", "full-onehot")
# what each loss is called where a reader meets it (chapter 5's page titles, figure titles)
LOSS_TITLES = {"l2": "L2", "class": "cross-entropy (class)", "full-soft": "rebalanced soft targets (full-soft)",
               "full-onehot": "rebalanced one-hot targets (full-onehot)"}
REBALANCED = ("full-soft", "full-onehot")
# what a loss's value is measured in (the y-axis of its training curve)
LOSS_UNITS = {"l2": "½((ab − âb)/110)² per pixel", "class": "nats per pixel", "full-soft": "weighted nats per pixel",
              "full-onehot": "weighted nats per pixel", "psnr": "−PSNR of ab against a 110-unit peak, dB"}
HINT_LOSSES = ("psnr",)  # losses for the hint colorizer only (chapter 10)
REGRESSIONS = ("l2", "psnr")  # the losses that train a regression output rather than class logits


def check_loss(name: str) -> str:
    if name not in LOSSES + HINT_LOSSES:
        raise ValueError(f"loss: unknown value {name!r}; allowed: {', '.join(LOSSES + HINT_LOSSES)}")
    return name


TARGET_SAMPLING = ("subsample", "average")


def target_ab(ab: Tensor, factor: int = 4, sampling: str = "subsample") -> Tensor:
    """Ground-truth ab ``(N,2,H,W)`` at the network's output resolution ``(N,2,H/factor,W/factor)``.

    ``subsample`` keeps every ``factor``-th pixel, as Zhang's training net does (a stride-4 sampling of
    the ab data): each target is a real pixel colour. ``average`` takes the mean of each factor×factor
    block, which mixes the colours at an edge into a duller one (chapter 3 compares the two)."""
    if sampling not in TARGET_SAMPLING:
        raise ValueError(f"sampling: unknown value {sampling!r}; allowed: {', '.join(TARGET_SAMPLING)}")
    if factor == 1:
        return ab
    return ab[..., ::factor, ::factor] if sampling == "subsample" else F.avg_pool2d(ab, factor)


def target_statistics(ab: Tensor, bins: Tensor, weights: Tensor, sampling: str = "subsample") -> dict[str, float]:
    """What the loss sees of full-resolution ab ``(N,2,H,W)`` (Lab units) under one target ``sampling``:
    the targets' mean chroma √(a² + b²) in Lab units, and their mean rebalancing weight w[nearest bin]
    for weights ``(Q,)``."""
    targets = target_ab(ab, sampling=sampling)
    nearest = nearest_bins(targets.float(), bins, k=1)[1][:, 0]
    return {"mean_chroma": float(torch.linalg.vector_norm(targets, dim=1).mean()),
            "mean_weight": float(weights[nearest].mean())}


def soft_cross_entropy(logits: Tensor, idx: Tensor, w: Tensor, pixel_weight: Tensor | None = None) -> Tensor:
    """−Σ_k w_k log softmax(logits)[idx_k], per pixel, optionally weighted, averaged over pixels.

    ``idx``, ``w``: ``(N,k,h,w)`` sparse targets; ``pixel_weight``: ``(N,h,w)``.
    """
    logp = torch.log_softmax(logits.float(), dim=1)
    per_pixel = -(torch.gather(logp, 1, idx) * w).sum(1)
    if pixel_weight is not None:
        per_pixel = per_pixel * pixel_weight
    return per_pixel.mean()


def uses_regression(name: str) -> bool:
    """Whether the loss trains the regression head (``l2``, and ``psnr`` for a hint model) rather than the class
    logits."""
    return check_loss(name) in REGRESSIONS


def compute_loss(name: str, output: Tensor, ab: Tensor, bins: Tensor, weights: Tensor | None = None) -> Tensor:
    """The named loss of the network's ``output``. ``weights (Q,)`` are needed by the rebalanced losses."""
    if name == "psnr":  # −PSNR of ab per photo (dB), averaged: each photo's log error counts alike
        per_photo = (((output.float() - ab) / AB_SCALE) ** 2).sum(1).flatten(1).mean(1)
        return 10 * torch.log10(per_photo + 1e-8).mean()
    if uses_regression(name):
        return 0.5 * (((output.float() - ab) / AB_SCALE) ** 2).sum(1).mean()
    logits = output
    if name in REBALANCED and weights is None:
        raise ValueError(f"loss {name!r} needs rebalancing weights")
    if name == "full-onehot":
        _, idx = nearest_bins(ab.float(), bins, k=1)
        w = torch.ones_like(idx, dtype=torch.float32)
    else:
        idx, w = soft_encode_sparse(ab.float(), bins)
    # v(Z) = w[argmax_q Z]: the largest soft weight is the nearest bin, idx[:, 0]
    pixel_weight = weights[idx[:, 0]] if name in REBALANCED else None
    return soft_cross_entropy(logits, idx, w.float(), pixel_weight)
