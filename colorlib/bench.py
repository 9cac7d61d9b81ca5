"""``colorlib bench``: speed ratios measured side by side in one run (never wall-clock asserts)."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch

from .accel import BF16_PEAK
from .color import rgb_to_lab
from .data import load_rgb, resize_shorter, rgb_to_tensor, scan
from .encode import DEFAULT_K, DEFAULT_SIGMA, onehot_encode, soft_encode, soft_encode_sparse
from .quantize import gamut_bins


def timings(fn: Callable[[], object], repeats: int = 3) -> list[float]:
    """Seconds of each of ``repeats`` runs of ``fn`` (after one warm-up run)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def best_time(fn: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of ``repeats`` runs, in seconds (after one warm-up run)."""
    return min(timings(fn, repeats))


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


def encoding_bench(data: str | None = None, n: int = 16, size: int = 256, repeats: int = 5) -> dict:
    """Throughput of colorlib (torch Lab + lattice soft encoding) vs the seed's reference on the same photos,
    and the time of one-hot encoding over soft encoding. Each figure is the median of ``repeats`` timed runs;
    the one-hot/soft ratio is measured in pairs (soft, then one-hot, one after the other), so that a change of
    the machine's load between repeats moves both, and its range over the pairs says how noisy it is.

    The figures are only comparable on an otherwise idle machine: with another multi-threaded process busy
    (a training run, a test suite), torch's threads wait on each other and the speed-up fell from 4× to 0.3×
    here, so the machine's load average before the run is reported with them."""
    load_before = os.getloadavg()[0]  # another busy process makes both pipelines slower, and unevenly so
    bins = gamut_bins()
    rgb = photo_batch(data, n, size)
    x = torch.stack([rgb_to_tensor(im) for im in rgb])
    bins_t = torch.as_tensor(bins, dtype=torch.float32)

    def ours():
        return soft_encode_sparse(rgb_to_lab(x)[:, 1:], bins_t)

    t_ref = float(np.median(timings(lambda: reference_encoding(rgb.astype(np.float64) / 255.0, bins), repeats)))
    t_ours = float(np.median(timings(ours, repeats)))
    ab = rgb_to_lab(x[: max(1, n // 4)])[:, 1:]  # dense (N,313,H,W) targets: a quarter of the photos fills 330 MB
    soft, onehot = (lambda: soft_encode(ab, bins_t)), (lambda: onehot_encode(ab, bins_t))
    soft(), onehot()  # warm-up
    ratios = [timings(onehot, 1)[0] / timings(soft, 1)[0] for _ in range(repeats)]
    pixels = n * size * size
    return {
        "photos": n,
        "size": size,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average_before": round(load_before, 2),
        "reference_mpix_per_s": pixels / t_ref / 1e6,
        "colorlib_mpix_per_s": pixels / t_ours / 1e6,
        "lab_soft_encoding_speedup": t_ref / t_ours,
        "onehot_over_soft_time": float(np.median(ratios)),
        "onehot_over_soft_range": [float(min(ratios)), float(max(ratios))],
    }


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def model_flops_per_image(settings: dict, size: int, regression: bool = False) -> int:
    """FLOPs of one training image at ``size``² through the network of profile ``settings``: forward and
    backward, counted by :class:`torch.utils.flop_counter.FlopCounterMode` (convolutions and matrix
    products, 2 FLOPs per multiply-add; what MFU counts). Built on the meta device: nothing is computed.
    The input L needs no gradient, so the first layer's backward computes only its weight gradient."""
    from torch.utils.flop_counter import FlopCounterMode

    from .model import build_network
    from .quantize import bins_tensor

    bins = bins_tensor().to("meta")
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a frozen encoder's weights load as no-ops onto the meta device
        model = build_network(settings, bins=bins)
        model.select_heads(regression)
        L = torch.empty(1, 1, size, size)
    with FlopCounterMode(display=False) as counter:
        model.train()(L, regression=regression).float().sum().backward()
    return int(counter.get_total_flops())


def model_flop_utilisation(flops_per_image: float, images_per_s: float, peak_flops: float) -> float:
    """MFU: the FLOP rate the network's own arithmetic reaches (images/s × FLOPs per image) over the
    device's peak rate. Work outside the network (data, encoding the targets) counts as time, not FLOPs."""
    return flops_per_image * images_per_s / peak_flops


def matmul_flops_per_s(device: torch.device, n: int = 8192, repeats: int = 10) -> float:
    """What an ``n``³ bf16 matrix product reaches on ``device`` (FLOP/s, mean of ``repeats`` after three
    warm-ups): the practical peak, beside the specification's."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def training_bench(profile_name: str, data: str | None = None, steps: int = 8, loss: str = "full-soft",
                   overrides: dict | None = None, device: str = "auto", peak_tflops: float | None = None) -> dict:
    """Time ``steps`` calls of the trainer's own :func:`~colorlib.train.train_step` at a profile (same
    plan, optimizer, loader, prior and weights as ``colorlib train``; ``overrides`` change profile fields
    as ``--set`` does), split into: waiting for data (decode, crop, Lab: in the loader's workers, or on
    the device in ``device`` data mode), encoding + loss, and the network's forward, backward and update.
    Works with any number of photos: the trainer's sampler repeats a small folder to fill its batches.
    MFU is reported against ``peak_tflops`` when given, else against a known GPU's dense bf16 peak."""
    from .data import ColorDataset
    from .profiles import for_loss, get_profile, with_overrides
    from .quantize import bins_tensor
    from .rebalance import DEFAULT_LAMBDA, rebalance_weights, training_prior
    from .train import (
        Precision,
        batch_to,
        build_model,
        learning_rate,
        make_loader,
        pick_device,
        plan_for,
        train_step,
    )

    profile = with_overrides(for_loss(get_profile(profile_name), loss), overrides)
    device = pick_device(device)
    dataset = ColorDataset(data, "train", size=profile.crop, gray_threshold=profile.gray_threshold)
    plan = plan_for(profile, device, dataset)
    precision = Precision(plan.precision, device)
    loader, _ = make_loader(dataset, profile, seed=0, device=device, data_mode=plan.data_mode)
    bins = bins_tensor(device=device)
    model, optimizer = build_model(profile, loss, bins, device, plan)
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
        L, ab = batch_to(batch, device, plan.torch_memory_format)
        clock("data")
        lr = learning_rate(profile, done, steps + 2)
        train_step(model, optimizer, loss, L, ab, bins, weights, lr, precision, clock)
        if done >= 2:
            seconds["data"] += marks["data"] - start
            seconds["network"] += (marks["forward"] - marks["data"]) + (marks["update"] - marks["loss"])
            seconds["encode_loss"] += marks["loss"] - marks["forward"]
        done += 1
    total = sum(seconds.values())
    images_per_s = steps * profile.batch / total
    flops = model_flops_per_image(profile.as_dict(), profile.crop)
    out = {"profile": profile.name, "arch": profile.arch, "device": device.type, **plan.as_dict(),
           "batch": profile.batch, "crop": profile.crop, "width": profile.width, "photos": len(dataset),
           "steps_per_s": steps / total, "images_per_s": images_per_s,
           "share_outside_network": (seconds["data"] + seconds["encode_loss"]) / total,
           "share_data_wait": seconds["data"] / total, "share_encode_loss": seconds["encode_loss"] / total,
           "data_wait_ms_per_step": 1e3 * seconds["data"] / steps,
           "model_flops_per_image": flops, "model_tflops_per_s": flops * images_per_s / 1e12}
    if profile.arch == "semantic":  # what caching the frozen encoder's features could save at most
        encode_time = best_time(lambda: (model.encode(L), _sync(device)), repeats=3)
        out["share_frozen_encoder"] = encode_time / (total / steps)
    peak = None if peak_tflops is None else peak_tflops * 1e12
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        spec = next((v for k, v in BF16_PEAK.items() if k in name), None)
        matmul = matmul_flops_per_s(device)
        out.update({"gpu": name, "bf16_peak_tflops_spec": None if spec is None else spec / 1e12,
                    "bf16_matmul_tflops_measured": matmul / 1e12,
                    "mfu_of_measured_matmul": model_flop_utilisation(flops, images_per_s, matmul)})
        peak = peak or spec
    if peak is not None:
        out.update({"peak_tflops": peak / 1e12, "mfu": model_flop_utilisation(flops, images_per_s, peak)})
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


QUICK_PHOTOS = 4  # photos of the encoding benchmark in --quick mode (the tests)


def default_profiles(quick: bool = False) -> list[str]:
    """The profiles ``colorlib bench`` times: ``smoke`` when quick, else the CPU ones and, with CUDA, the GPU ones."""
    if quick:
        return ["smoke"]
    return ["smoke", "cpu", "cpu-semantic"] + (["gpu", "gpu-semantic"] if torch.cuda.is_available() else [])


def run(data: str | None = None, quick: bool = False, profiles: list[str] | None = None,
        overrides: dict | None = None, steps: int | None = None, device: str = "auto",
        peak_tflops: float | None = None) -> dict:
    """All benchmarks; ``quick`` uses fewer photos and steps (for tests). ``profiles`` (default:
    :func:`default_profiles`) are timed with ``overrides`` applied; with explicit ``profiles`` only the
    training benchmark runs (the GPU script's case)."""
    out = {}
    if profiles is None:
        out["encoding"] = encoding_bench(data, n=QUICK_PHOTOS if quick else 16, repeats=3 if quick else 5)
    steps = steps or (2 if quick else 8)
    out["training"] = {p: training_bench(p, data, steps=steps, overrides=overrides, device=device,
                                         peak_tflops=peak_tflops)
                       for p in profiles or default_profiles(quick)}
    if profiles is None and not quick:
        out["cpu_profile_peak_memory_gib"] = peak_memory_of("cpu", data)
    return out
