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


# Dense bf16 peak FLOP/s by device name, for model FLOP utilisation.
BF16_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12, "RTX 4090": 165e12}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def training_bench(profile_name: str, data: str | None = None, steps: int = 8, loss: str = "full-soft") -> dict:
    """Time ``steps`` calls of the trainer's own :func:`~colorlib.train.train_step` at a profile (same
    optimizer, loader, prior and weights as ``colorlib train``), split into: waiting for data (decode,
    crop, Lab in the loader), encoding + loss, and the network's forward, backward and update. Works with
    any number of photos: the trainer's sampler repeats a small folder to fill its batches."""
    from .data import ColorDataset
    from .model import build_network
    from .profiles import get_profile
    from .quantize import bins_tensor
    from .rebalance import DEFAULT_LAMBDA, rebalance_weights, training_prior
    from .train import batch_to, build_optimizer, learning_rate, make_loader, train_step

    profile = get_profile(profile_name)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dataset = ColorDataset(data, "train", size=profile.crop, gray_threshold=profile.gray_threshold)
    loader, _ = make_loader(dataset, profile, seed=0, device=device)
    bins = bins_tensor(device=device)
    model = build_network(profile.as_dict(), bins=bins).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(model, profile, loss)
    prior = training_prior(data, profile, bins=bins.cpu().numpy())[0]
    weights = torch.as_tensor(rebalance_weights(prior, DEFAULT_LAMBDA), dtype=torch.float32, device=device)

    marks: dict[str, float] = {}

    def clock(phase: str) -> None:
        _sync(device)
        marks[phase] = time.perf_counter()

    seconds = {"data": 0.0, "encode_loss": 0.0, "network": 0.0}
    batches, done = iter(loader), 0
    while done < steps + 2:  # two warm-up steps are not timed
        start = time.perf_counter()
        try:
            batch = next(batches)
        except StopIteration:  # a new pass over the data
            batches = iter(loader)
            batch = next(batches)
        L, ab = batch_to(batch, device)
        clock("data")
        train_step(model, optimizer, loss, L, ab, bins, weights, learning_rate(profile, done, steps + 2), clock)
        if done >= 2:
            seconds["data"] += marks["data"] - start
            seconds["network"] += (marks["forward"] - marks["data"]) + (marks["update"] - marks["loss"])
            seconds["encode_loss"] += marks["loss"] - marks["forward"]
        done += 1
    total = sum(seconds.values())
    out = {"profile": profile.name, "arch": profile.arch, "device": device.type, "batch": profile.batch,
           "crop": profile.crop, "width": profile.width, "photos": len(dataset), "steps_per_s": steps / total,
           "images_per_s": steps * profile.batch / total,
           "share_outside_network": (seconds["data"] + seconds["encode_loss"]) / total,
           "share_data_wait": seconds["data"] / total, "share_encode_loss": seconds["encode_loss"] / total}
    if profile.arch == "semantic":  # what caching the frozen encoder's features could save at most
        encode_time = best_time(lambda: (model.encode(L), _sync(device)), repeats=3)
        out["share_frozen_encoder"] = encode_time / (total / steps)
    if device.type == "cuda":
        from torch.utils.flop_counter import FlopCounterMode

        L = torch.rand(profile.batch, 1, profile.crop, profile.crop, device=device) * 100
        with FlopCounterMode(display=False) as counter:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                model(L).float().mean().backward()
        flops = counter.get_total_flops()
        name = torch.cuda.get_device_name(device)
        peak = next((v for k, v in BF16_PEAK.items() if k in name), None)
        out.update({"gpu": name, "model_flops_per_step": flops,
                    "mfu": None if peak is None else flops * out["steps_per_s"] / peak})
    return out


def peak_memory_of(profile_name: str, data: str | None = None, steps: int = 4) -> float:
    """Peak resident memory (GiB) of a fresh process running :func:`training_bench` for a profile."""
    import resource
    import subprocess
    import sys

    code = (f"from colorlib.bench import training_bench; import json; "
            f"print(json.dumps(training_bench({profile_name!r}, {data!r}, {steps})))")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB -> GiB


def run(data: str | None = None, quick: bool = False) -> dict:
    """All benchmarks; ``quick`` uses fewer photos and steps (for tests)."""
    import torch as _torch

    out = {"encoding": encoding_bench(data, n=2 if quick else 16, repeats=1 if quick else 3)}
    profiles = ["smoke"] if quick else ["smoke", "cpu", "cpu-semantic"] + (
        ["gpu", "gpu-semantic"] if _torch.cuda.is_available() else [])
    out["training"] = {p: training_bench(p, data, steps=2 if quick else 8) for p in profiles}
    if not quick:
        out["cpu_profile_peak_memory_gib"] = peak_memory_of("cpu", data)
    return out
