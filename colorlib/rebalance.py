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
from torch import Tensor

from .data import TRAIN_SPLITS
from .encode import nearest_bins
from .profiles import Profile

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


def dataset_prior(
    data: str | None = None,
    size: int = 128,
    gray_threshold: float | None = 5.0,
    sigma: float = DEFAULT_PRIOR_SIGMA,
    bins: np.ndarray | None = None,
    split: str = "train",
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Smoothed prior p̃ ``(Q,)`` of the photos of ``split`` of a data source (``limit`` of them, as
    :func:`colorlib.data.scan` keeps them; None: all), each photo resized and
    centre-cropped to ``size``² pixels, photos with mean chroma below ``gray_threshold`` skipped.
    Returns (prior, raw counts per bin, number of photos). :func:`training_prior` fixes the choices."""
    from torch.utils.data import DataLoader

    from .data import ColorDataset
    from .quantize import gamut_bins

    bins = gamut_bins() if bins is None else bins
    ds = ColorDataset(data, split=split, size=size, train=False, gray_threshold=gray_threshold, limit=limit)
    # The same photos, unchanged since, at the same size and bins: counted once per process (the GPU run
    # trains four losses and a bench in one process, each asking for the prior of the same split), and kept
    # on disk (colorlib.cache): the chapters and the trainer ask for the prior of thousands of training photos.
    key = (tuple((str(i.path), *_stamp(i.path)) for i in ds.items), size, np.asarray(bins).tobytes())
    if key not in _COUNTS:
        from .cache import cached

        loader = DataLoader(ds, batch_size=32)
        _COUNTS[key] = cached("prior-counts", [key], lambda: bin_histogram((batch["ab"] for batch in loader), bins))
    counts = _COUNTS[key].copy()
    return smooth_on_bins(counts, bins, sigma), counts, len(ds)


_COUNTS: dict[tuple, np.ndarray] = {}


def _stamp(path) -> tuple[float, int]:
    stat = path.stat()
    return stat.st_mtime, stat.st_size


def training_prior(data: str | None, profile: Profile, split: str = "train", size: int | None = None,
                   sigma: float = DEFAULT_PRIOR_SIGMA, bins: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """**The** prior policy, used by training, evaluation, the CLI and the chapters alike.

    Which photos: the training split (``fit`` when tuning a profile), as many as the profile trains on
    (``train_limit``); never ``val`` or ``tune``.
    Near-gray photos (below ``profile.gray_threshold``) are skipped. Which size: centre crops at the
    profile's evaluation size (``size`` overrides it), so the prior a model is trained with is the prior
    its rebalanced AuC is scored with. Returns (prior, raw counts, number of photos) as
    :func:`dataset_prior`."""
    if split not in TRAIN_SPLITS:
        raise ValueError(f"split: the prior comes from a training split; allowed: {', '.join(TRAIN_SPLITS)}")
    return dataset_prior(data, size=size or profile.eval_size, gray_threshold=profile.gray_threshold,
                         sigma=sigma, bins=bins, split=split, limit=profile.train_limit)
