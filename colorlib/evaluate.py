"""``colorlib evaluate --runs RUNS [--data DIR] [--json]`` and ``colorlib colorize`` (chapters 6–8).

Evaluation uses the **validation split** only, each photo resized (shorter side) and centre-cropped to
the profile's evaluation size. Rows: the baselines (ground truth; gray, ab = 0; random, the ab of
another validation photo, seeded) and every trained loss found as ``RUNS/<loss>/model.pt``.
Classification losses decode with the annealed mean (T = 0.38), ``l2`` with its regression head.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from .color import join_lab, lab_to_rgb, rgb_to_lab, split_lab
from .data import ColorDataset, load_rgb, report_skip, rgb_to_tensor
from .encode import DEFAULT_T
from .losses import LOSSES, uses_regression
from .metrics import (
    ab_error,
    auc_from_counts,
    bootstrap_ci,
    class_balanced_auc,
    colorfulness,
    cumulative_counts,
    inverse_prior_weights,
    psnr,
    true_bins,
)
from .model import ColorizationNet
from .paths import resolve_data, runs_for
from .profiles import get_profile
from .quantize import gamut_bins
from .rebalance import dataset_prior
from .train import FINAL, load_model

BASELINES = ("ground-truth", "gray", "random")
METHODS = BASELINES + LOSSES


def find_runs(runs: str | Path | None) -> dict[str, Path]:
    """{loss: model.pt} for every loss trained under ``runs`` (in the canonical order)."""
    if runs is None:
        return {}
    return {loss: Path(runs) / loss / FINAL for loss in LOSSES if (Path(runs) / loss / FINAL).is_file()}


@dataclass
class EvalSet:
    L: Tensor  # (N,1,S,S)
    ab: Tensor  # (N,2,S,S)
    labels: Tensor  # (N,) ImageNet index or -1
    names: list[str]


def load_eval_set(data: str | None, size: int, limit: int | None = None, split: str = "val") -> EvalSet:
    ds = ColorDataset(data, split=split, size=size, train=False, gray_threshold=None)
    n = len(ds) if limit is None else min(limit, len(ds))
    items = [ds[i] for i in tqdm(range(n), desc=f"loading {split} photos", leave=False)]
    return EvalSet(torch.stack([it["L"] for it in items]), torch.stack([it["ab"] for it in items]),
                   torch.tensor([it["label"] for it in items]), [ds.items[i].name for i in range(n)])


def predict(model: ColorizationNet, loss: str, L: Tensor, batch: int = 16, T: float = DEFAULT_T) -> Tensor:
    """ab ``(N,2,S,S)`` for every image, in batches."""
    out = [model.colorize_ab(chunk, T=T, regression=uses_regression(loss)) for chunk in L.split(batch)]
    return torch.cat(out)


def random_baseline(ab: Tensor, seed: int = 0) -> Tensor:
    """Each image gets the ab channels of another, randomly chosen image of the set (a derangement)."""
    n = len(ab)
    if n < 2:
        return torch.zeros_like(ab)
    g = torch.Generator().manual_seed(seed)
    shift = torch.randint(1, n, (n,), generator=g)
    return ab[(torch.arange(n) + shift) % n]


@dataclass
class PerImage:
    """Per-image statistics from which every column (and its bootstrap interval) is computed."""

    raw: np.ndarray  # (N,151) cumulative counts
    raw_total: np.ndarray  # (N,)
    rebal: np.ndarray
    rebal_total: np.ndarray
    correct: np.ndarray  # (N,) top-1 hits
    colorfulness: np.ndarray
    psnr: np.ndarray


def score(pred_ab: Tensor, es: EvalSet, weights: np.ndarray, bins, classify, targets: Tensor) -> tuple[PerImage, float]:
    err = ab_error(pred_ab, es.ab)
    tb = true_bins(es.ab, bins)
    w = torch.as_tensor(weights)[tb]
    raw = [cumulative_counts(err[i]) for i in range(len(err))]
    reb = [cumulative_counts(err[i], w[i]) for i in range(len(err))]
    rgb_pred = lab_to_rgb(join_lab(es.L, pred_ab.float()))
    rgb_true = lab_to_rgb(join_lab(es.L, es.ab))
    per = PerImage(np.stack([c for c, _ in raw]), np.array([t for _, t in raw]),
                   np.stack([c for c, _ in reb]), np.array([t for _, t in reb]),
                   (classify(rgb_pred) == targets).numpy().astype(float),
                   colorfulness(rgb_pred).numpy(), psnr(rgb_pred, rgb_true).numpy())
    return per, class_balanced_auc(err, tb)


def _auc_stat(counts: np.ndarray, totals: np.ndarray) -> float:
    return auc_from_counts(counts.sum(0), totals.sum())


def summarize(method: str, per: PerImage, classbal: float, classifier: str, top1_kind: str,
              ci: bool = True) -> dict:
    row = {
        "method": method,
        "auc_raw": _auc_stat(per.raw, per.raw_total),
        "auc_rebal": _auc_stat(per.rebal, per.rebal_total),
        "auc_classbal": classbal,
        "top1": 100.0 * per.correct.mean(),
        "top1_kind": top1_kind,
        "classifier": classifier,
        "colorfulness": float(per.colorfulness.mean()),
        "psnr": float(per.psnr.mean()),
        "images": len(per.correct),
    }
    if ci:
        idx = np.arange(len(per.correct))[:, None]
        row["auc_raw_ci"] = bootstrap_ci(idx, lambda r: _auc_stat(per.raw[r[:, 0]], per.raw_total[r[:, 0]]))
        row["auc_rebal_ci"] = bootstrap_ci(idx, lambda r: _auc_stat(per.rebal[r[:, 0]], per.rebal_total[r[:, 0]]))
        row["top1_ci"] = bootstrap_ci(idx, lambda r: 100.0 * per.correct[r[:, 0]].mean())
    return row


def evaluate(runs: str | Path | None, data: str | None = None, profile: str | None = None,
             classifier: str = "auto", limit: int | None = None, floor: float | None = None,
             ci: bool = True, return_predictions: bool = False, split: str = "val"):
    """Rows for the baselines and every trained loss under ``runs`` (see the module docstring).
    ``split="tune"`` scores the held-out part of the training split instead, for tuning a profile; the
    prior then comes from the ``fit`` part, as in training on ``fit``."""
    from .classify import load_classifier

    prof = get_profile(profile)
    found = find_runs(runs if runs is not None else runs_for(prof.name, resolve_data(data)))
    loaded = {loss: load_model(path) for loss, path in found.items()}  # each model read once
    size = prof.eval_size
    if loaded:  # the runs' own evaluation size wins, so that every row uses one size
        size = next(iter(loaded.values()))[1]["config"]["profile_settings"]["eval_size"]
    bins = gamut_bins()
    es = load_eval_set(data, size, limit, split)
    prior = dataset_prior(data, size=size, gray_threshold=prof.gray_threshold, bins=bins,
                          split="fit" if split == "tune" else "train")[0]
    weights = inverse_prior_weights(prior, floor)
    clf = load_classifier(classifier)
    rgb_true = lab_to_rgb(join_lab(es.L, es.ab))
    if (es.labels >= 0).all():
        targets, kind = es.labels, "ImageNet label"
    else:  # no labels: agreement with the classifier's own prediction on the colour photo
        targets, kind = clf.predict(rgb_true), "agreement with ground-truth prediction"
    predictions = {"ground-truth": es.ab, "gray": torch.zeros_like(es.ab), "random": random_baseline(es.ab)}
    rows = []
    for method in tqdm(list(BASELINES) + list(loaded), desc="evaluating"):
        if method not in predictions:
            predictions[method] = predict(loaded[method][0], method, es.L)
        per, classbal = score(predictions[method], es, weights, bins, clf.predict, targets)
        rows.append(summarize(method, per, classbal, clf.name, kind, ci))
    if return_predictions:
        return rows, es, predictions
    return rows


# --- colorize any photo -------------------------------------------------------------------------


def colorize_photo(model: ColorizationNet, rgb: np.ndarray, size: int, regression: bool = False) -> np.ndarray:
    """Colorize a photo ``(H,W,3)`` uint8 at its own resolution: predict ab from a copy resized so the
    shorter side is ``size`` (rounded to multiples of 8), upsample ab, recombine with the original L."""
    x = rgb_to_tensor(rgb)[None]
    L_full = split_lab(rgb_to_lab(x))[0]
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    small = (max(8, round(h * scale / 8) * 8), max(8, round(w * scale / 8) * 8))
    L_small = F.interpolate(L_full, size=small, mode="bilinear", align_corners=False, antialias=True)
    ab = model.colorize_ab(L_small, regression=regression)
    ab_full = F.interpolate(ab, size=(h, w), mode="bilinear", align_corners=False)
    out = lab_to_rgb(join_lab(L_full, ab_full))[0]
    return (out.permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)


def colorize_files(files: list[str], checkpoint: str, out: str, size: int | None = None) -> int:
    """Colorize each file into ``out`` (PNG, same stem). Returns the number of failures; a bad file gets
    one error line and the others are still processed."""
    from PIL import Image

    from .data import find_images

    model, info = load_model(checkpoint)
    regression = uses_regression(info["config"]["loss"])
    size = size or info["config"]["profile_settings"]["eval_size"]
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for f in files:
        p = Path(f)
        paths.extend(find_images(p) if p.is_dir() else [p])
    failed = 0
    for path in tqdm(paths, desc="colorizing", disable=len(paths) < 2):
        try:
            rgb = load_rgb(path)
            Image.fromarray(colorize_photo(model, rgb, size, regression)).save(out_dir / f"{path.stem}.png")
        except Exception as exc:
            failed += 1
            report_skip(path, f"{type(exc).__name__}: {exc}".splitlines()[0])
            print(f"colorlib colorize: error: {path}: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
    return failed
