"""The four losses of the seed study, selected by name everywhere (CLI, notebooks, results).

All take the network's output (predicted ab ``(N,2,h,w)`` for ``l2``, class logits ``(N,Q,h,w)``
otherwise) and the ground-truth ab at the same resolution ``(N,2,h,w)`` (Lab units), and return a
scalar: the mean over pixels.

``l2``           regression: ½‖ab − âb‖² with âb from the regression head (Lab units²).
``class``        cross-entropy on soft 5-NN targets, no rebalancing.
``full-soft``    the same, each pixel weighted by w[argmax target] (seed eq. 1, Zhang eq. 2).
``full-onehot``  cross-entropy on the nearest bin only, weighted the same way.

Zhang et al. also describe rebalancing applied to the gradient only; that variant is not implemented.
Because Σ p̃·w = 1, the expected pixel weight is 1 and the rebalanced losses keep the scale of ``class``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .encode import nearest_bins, soft_encode_sparse

LOSSES = ("l2", "class", "full-soft", "full-onehot")
REBALANCED = ("full-soft", "full-onehot")


def check_loss(name: str) -> str:
    if name not in LOSSES:
        raise ValueError(f"loss: unknown value {name!r}; allowed: {', '.join(LOSSES)}")
    return name


def target_ab(ab: Tensor, factor: int = 4) -> Tensor:
    """Ground-truth ab at the network's output resolution (mean over factor×factor blocks)."""
    return F.avg_pool2d(ab, factor) if factor > 1 else ab


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
    """Whether the loss trains the regression head (``l2``) rather than the class logits."""
    return check_loss(name) == "l2"


def compute_loss(name: str, output: Tensor, ab: Tensor, bins: Tensor, weights: Tensor | None = None) -> Tensor:
    """The named loss of the network's ``output``. ``weights (Q,)`` are needed by the rebalanced losses."""
    if uses_regression(name):
        return 0.5 * ((output.float() - ab) ** 2).sum(1).mean()
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
