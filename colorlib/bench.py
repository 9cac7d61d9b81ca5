"""``colorlib bench``: speed ratios measured side by side in one run (never wall-clock asserts)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from .color import rgb_to_lab
from .data import load_rgb, resize_shorter, rgb_to_tensor, scan
from .encode import DEFAULT_K, DEFAULT_SIGMA, onehot_encode, soft_encode, soft_encode_sparse
from .quantize import gamut_bins


def best_time(fn: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of ``repeats`` runs, in seconds (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def photo_batch(data: str | None = None, n: int = 16, size: int = 256) -> np.ndarray:
    """``n`` real photos, centre-cropped to ``size``², as uint8 ``(n, size, size, 3)``."""
    items = scan(data, "all", gray_threshold=5.0).items
    out = []
    for i in range(n):
        img = resize_shorter(load_rgb(items[i % len(items)].path), size)
        w, h = img.size
        x, y = (w - size) // 2, (h - size) // 2
        out.append(np.asarray(img.crop((x, y, x + size, y + size))))
    return np.stack(out)


def reference_encoding(rgb: np.ndarray, bins: np.ndarray, k: int = DEFAULT_K, sigma: float = DEFAULT_SIGMA):
    """The seed's pipeline: skimage ``rgb2lab``, scikit-learn KD-tree k-NN, Gaussian weights (numpy)."""
    from skimage.color import rgb2lab
    from sklearn.neighbors import KDTree

    ab = rgb2lab(rgb)[..., 1:].reshape(-1, 2)
    dist, idx = KDTree(bins).query(ab, k=k)
    w = np.exp(-(dist**2) / (2 * sigma**2))
    return idx, w / w.sum(axis=1, keepdims=True)


def encoding_bench(data: str | None = None, n: int = 16, size: int = 256, repeats: int = 3) -> dict:
    """Throughput of colorlib (torch Lab + lattice soft encoding) vs the seed's reference, same photos."""
    bins = gamut_bins()
    rgb = photo_batch(data, n, size)
    x = torch.stack([rgb_to_tensor(im) for im in rgb])
    bins_t = torch.as_tensor(bins, dtype=torch.float32)

    def ours():
        return soft_encode_sparse(rgb_to_lab(x)[:, 1:], bins_t)

    t_ref = best_time(lambda: reference_encoding(rgb.astype(np.float64) / 255.0, bins), repeats)
    t_ours = best_time(ours, repeats)
    ab = rgb_to_lab(x[: max(1, n // 4)])[:, 1:]
    t_soft = best_time(lambda: soft_encode(ab, bins_t), repeats)
    t_onehot = best_time(lambda: onehot_encode(ab, bins_t), repeats)
    pixels = n * size * size
    return {
        "photos": n,
        "size": size,
        "threads": torch.get_num_threads(),
        "reference_mpix_per_s": pixels / t_ref / 1e6,
        "colorlib_mpix_per_s": pixels / t_ours / 1e6,
        "lab_soft_encoding_speedup": t_ref / t_ours,
        "onehot_over_soft_time": t_onehot / t_soft,
    }


def run(data: str | None = None, quick: bool = False) -> dict:
    """All benchmarks; ``quick`` uses fewer photos (for tests)."""
    return {"encoding": encoding_bench(data, n=2 if quick else 16, repeats=1 if quick else 3)}
