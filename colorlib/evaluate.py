"""``colorlib evaluate --runs RUNS [--data DIR] [--json]`` and ``colorlib colorize`` (chapters 6–7).

Evaluation uses the **validation split** only, each photo resized (shorter side) and centre-cropped to
the runs' evaluation size. Rows: the baselines (ground truth; gray, ab = 0; random, the ab of another
validation photo, seeded) and every trained loss found as ``RUNS/<loss>/model.pt``. Classification
losses decode with the annealed mean (T = 0.38), ``l2`` with its regression head. The columns of the
table are the registry :data:`COLUMNS`: one place to add a metric.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from .color import join_lab, lab_to_rgb, rgb_to_lab, split_lab
from .data import ColorDataset, load_rgb, report_skip, rgb_to_tensor
from .download import find_weights
from .encode import DEFAULT_T
from .losses import uses_regression
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
from .model import ColorizationNet, load_official
from .paths import resolve_data, runs_for
from .profiles import get_profile
from .quantize import gamut_bins
from .rebalance import training_prior
from .runs import eval_size_of, load_model, load_runs, run_eval_size

BASELINES = ("ground-truth", "gray", "random")
REFERENCE = "zhang-eccv16"  # Zhang et al.'s released weights: a row wherever the file is present
METHOD_LABELS = {REFERENCE: "Zhang et al. 2016 (released weights)"}


def load_reference() -> ColorizationNet | None:
    """Zhang et al.'s released network (``colorlib download zhang-eccv16`` or ``$COLORLIB_ZHANG``), in
    eval mode with the exact 313 bins; None when the file is not on this machine."""
    path = find_weights(REFERENCE)
    return None if path is None else load_official(path).eval()


@dataclass
class EvalSet:
    """Photos of one split at one size: ``L (N,1,S,S)`` in 0..100, ``ab (N,2,S,S)`` in Lab units,
    ``labels (N,)`` ImageNet index or -1, and each photo's name."""

    L: Tensor
    ab: Tensor
    labels: Tensor
    names: list[str]


def load_eval_set(data: str | None, size: int, limit: int | None = None, split: str = "val") -> EvalSet:
    """The photos of ``split`` (all of them, near-gray ones included), centre-cropped to ``size``²."""
    dataset = ColorDataset(data, split=split, size=size, train=False, gray_threshold=None)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    items = [dataset[i] for i in tqdm(range(n), desc=f"loading {split} photos", leave=False)]
    return EvalSet(torch.stack([it["L"] for it in items]), torch.stack([it["ab"] for it in items]),
                   torch.tensor([it["label"] for it in items]), [dataset.items[i].name for i in range(n)])


def decoder_for(loss: str) -> str:
    """How a model trained with ``loss`` paints: the ``l2`` head, else Zhang's annealed mean."""
    return "regression" if uses_regression(loss) else "annealed-mean"


def predict(model: ColorizationNet, decoder: str, L: Tensor, batch: int = 16, T: float = DEFAULT_T) -> Tensor:
    """ab ``(N,2,S,S)`` for every image ``L (N,1,S,S)``, in batches (``decoder``: see
    :meth:`ColorizationNet.colorize_ab`)."""
    return torch.cat([model.colorize_ab(chunk, T=T, decoder=decoder) for chunk in L.split(batch)])


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
    """Per-image statistics of one method, from which every column (and its bootstrap interval) is computed."""

    raw: np.ndarray  # (N,151) cumulative counts of pixels with error <= t
    raw_total: np.ndarray  # (N,) pixels
    rebal: np.ndarray  # (N,151) the same, each pixel weighted by w0 of its true bin
    rebal_total: np.ndarray  # (N,) total weight
    correct: np.ndarray  # (N,) 1.0 where the classifier's top-1 is right
    colorfulness: np.ndarray  # (N,) Hasler & Süsstrunk
    psnr: np.ndarray  # (N,) dB
    classbal: float  # class-balanced AuC of the whole set (it does not decompose over photos)


@dataclass(frozen=True)
class Column:
    """One column of Table 1: ``statistic(per_image, photos)`` is its value over the photos with indices
    ``photos``; ``interval`` says whether rows carry a 95% bootstrap interval (``<key>_ci``)."""

    key: str
    header: str
    fmt: str
    interval: bool
    statistic: Callable[[PerImage, np.ndarray], float]


COLUMNS: tuple[Column, ...] = (
    Column("auc_raw", "AuC raw (%)", ".1f", True,
           lambda per, photos: auc_from_counts(per.raw[photos].sum(0), per.raw_total[photos].sum())),
    Column("auc_rebal", "AuC rebal (%)", ".1f", True,
           lambda per, photos: auc_from_counts(per.rebal[photos].sum(0), per.rebal_total[photos].sum())),
    Column("auc_classbal", "AuC class-bal (%)", ".1f", False, lambda per, photos: per.classbal),
    Column("top1", "top-1 (%)", ".1f", True, lambda per, photos: 100.0 * per.correct[photos].mean()),
    Column("colorfulness", "colourfulness", ".1f", False,
           lambda per, photos: float(per.colorfulness[photos].mean())),
    Column("psnr", "PSNR (dB)", ".1f", False, lambda per, photos: float(per.psnr[photos].mean())),
)


def score(pred_ab: Tensor, eval_set: EvalSet, weights: np.ndarray, bins: np.ndarray,
          classify: Callable[[Tensor], Tensor], targets: Tensor) -> PerImage:
    """Per-image statistics of predicted ab ``(N,2,S,S)`` against the evaluation set; ``weights (Q,)``
    are the λ = 0 rebalancing weights of the rebalanced AuC, ``targets (N,)`` the classes top-1 is
    measured against."""
    err = ab_error(pred_ab, eval_set.ab)
    bin_of_pixel = true_bins(eval_set.ab, bins)
    pixel_weight = torch.as_tensor(weights)[bin_of_pixel]
    raw = [cumulative_counts(err[i]) for i in range(len(err))]
    rebal = [cumulative_counts(err[i], pixel_weight[i]) for i in range(len(err))]
    rgb_pred = lab_to_rgb(join_lab(eval_set.L, pred_ab.float()))
    rgb_true = lab_to_rgb(join_lab(eval_set.L, eval_set.ab))
    return PerImage(np.stack([c for c, _ in raw]), np.array([t for _, t in raw]),
                    np.stack([c for c, _ in rebal]), np.array([t for _, t in rebal]),
                    (classify(rgb_pred) == targets).numpy().astype(float),
                    colorfulness(rgb_pred).numpy(), psnr(rgb_pred, rgb_true).numpy(),
                    class_balanced_auc(err, bin_of_pixel))


def summarize(method: str, per_image: PerImage, classifier: str, top1_kind: str, ci: bool = True) -> dict:
    """One row of the table: every column of :data:`COLUMNS` (with its interval where it has one)."""
    photos = np.arange(len(per_image.correct))
    row: dict = {"method": method}
    for col in COLUMNS:
        row[col.key] = col.statistic(per_image, photos)
    row.update({"top1_kind": top1_kind, "classifier": classifier, "images": len(photos)})
    if ci:
        for col in COLUMNS:
            if col.interval:
                row[col.key + "_ci"] = bootstrap_ci(photos, lambda resample, c=col: c.statistic(per_image, resample))
    return row


@dataclass
class Evaluation:
    """What :func:`evaluate` returns: the table rows, the photos scored, every method's ab predictions
    ``{method: (N,2,S,S)}`` and the prior the rebalanced AuC used."""

    rows: list[dict]
    eval_set: EvalSet
    predictions: dict[str, Tensor]
    prior: np.ndarray


def evaluate(runs: str | Path | None, data: str | None = None, profile: str | None = None,
             classifier: str = "auto", limit: int | None = None, floor: float | None = None,
             ci: bool = True, split: str = "val") -> Evaluation:
    """Rows for the baselines and every trained loss under ``runs`` (see the module docstring).
    ``split="tune"`` scores the held-out part of the training split instead, for tuning a profile; the
    prior then comes from the ``fit`` part, as in training on ``fit``."""
    from .classify import load_classifier

    prof = get_profile(profile)
    loaded = load_runs(runs if runs is not None else runs_for(prof.name, resolve_data(data)))
    size = eval_size_of(loaded, prof.eval_size)  # the runs' own evaluation size wins: one size for every row
    bins = gamut_bins()
    eval_set = load_eval_set(data, size, limit, split)
    prior = training_prior(data, prof, split="fit" if split == "tune" else "train", size=size, bins=bins)[0]
    weights = inverse_prior_weights(prior, floor)
    clf = load_classifier(classifier)
    rgb_true = lab_to_rgb(join_lab(eval_set.L, eval_set.ab))
    if (eval_set.labels >= 0).all():
        targets, kind = eval_set.labels, "ImageNet label"
    else:  # no labels: agreement with the classifier's own prediction on the colour photo
        targets, kind = clf.predict(rgb_true), "agreement with ground-truth prediction"
    predictions = {"ground-truth": eval_set.ab, "gray": torch.zeros_like(eval_set.ab),
                   "random": random_baseline(eval_set.ab)}
    reference = load_reference()
    if reference is not None:  # scored as the paper scores it: annealed mean, T = 0.38
        predictions[REFERENCE] = predict(reference, "annealed-mean", eval_set.L)
    rows = []
    for method in tqdm([*BASELINES, *loaded, *([REFERENCE] if reference is not None else [])], desc="evaluating"):
        if method not in predictions:
            predictions[method] = predict(loaded[method][0], decoder_for(method), eval_set.L)
        per_image = score(predictions[method], eval_set, weights, bins, clf.predict, targets)
        rows.append(summarize(method, per_image, clf.name, kind, ci))
    return Evaluation(rows, eval_set, predictions, prior)


# --- colorize any photo -------------------------------------------------------------------------


def colorize_photo(model: ColorizationNet, rgb: np.ndarray, size: int, decoder: str = "annealed-mean") -> np.ndarray:
    """Colorize a photo ``(H,W,3)`` uint8 at its own resolution: predict ab from a copy resized so the
    shorter side is ``size`` (rounded to multiples of 8), upsample ab, recombine with the original L."""
    x = rgb_to_tensor(rgb)[None]
    L_full = split_lab(rgb_to_lab(x))[0]
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    small = (max(8, round(h * scale / 8) * 8), max(8, round(w * scale / 8) * 8))
    L_small = F.interpolate(L_full, size=small, mode="bilinear", align_corners=False, antialias=True)
    ab = model.colorize_ab(L_small, decoder=decoder)
    ab_full = F.interpolate(ab, size=(h, w), mode="bilinear", align_corners=False)
    out = lab_to_rgb(join_lab(L_full, ab_full))[0]
    return (out.permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)


def load_colorizer(checkpoint: str, size: int | None = None) -> tuple[ColorizationNet, str, int]:
    """(network, decoder, prediction size) for a ``model.pt``/``checkpoint.pt`` or for ``zhang-eccv16``
    (decoded as his demo does, at 256 px, unless ``size`` is given)."""
    if checkpoint == REFERENCE:
        model = load_reference()
        if model is None:
            raise FileNotFoundError(f"{REFERENCE}: the released weights are not on this machine; run "
                                    f"`colorlib download {REFERENCE}` or set COLORLIB_ZHANG")
        return model, "softmax-head", size or 256
    model, info = load_model(checkpoint)
    return model, decoder_for(info["config"]["loss"]), size or run_eval_size(info)


def colorize_files(files: list[str], checkpoint: str, out: str, size: int | None = None) -> int:
    """Colorize each file into ``out`` (PNG, same stem). Returns the number of failures; a bad file gets
    one error line and the others are still processed."""
    from PIL import Image

    from .data import find_images

    model, decoder, size = load_colorizer(checkpoint, size)
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
            Image.fromarray(colorize_photo(model, rgb, size, decoder)).save(out_dir / f"{path.stem}.png")
        except Exception as exc:
            failed += 1
            report_skip(path, f"{type(exc).__name__}: {exc}".splitlines()[0])
            print(f"colorlib colorize: error: {path}: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
    return failed
