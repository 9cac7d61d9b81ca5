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
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .color import join_lab, lab_to_rgb, rgb_to_lab, split_lab
from .data import ColorDataset, find_images, load_rgb, rgb_to_tensor
from .download import find_weights
from .encode import DEFAULT_T
from .losses import uses_regression
from .metrics import (
    PSNR_CAP,
    ab_error,
    ab_spread,
    auc_from_counts,
    bootstrap_ci,
    class_balanced_auc_from_counts,
    colorfulness,
    counts_per_bin,
    cumulative_counts,
    inverse_prior_weights,
    paired_bootstrap,
    psnr,
    true_bins,
    warm_painted_cool,
)
from .model import ColorizationNet, load_official
from .paths import display_path, embedded_images, resolve_data, runs_for, train_data_for
from .profiles import get_profile
from .quantize import gamut_bins
from .rebalance import training_prior
from .runs import eval_size_of, find_runs, load_model, load_runs, run_eval_size
from .site import progress as tqdm
from .tables import with_interval

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
    ``labels (N,)`` ImageNet index or -1, each photo's name and mean chroma (0..255, as in
    :func:`colorlib.data.mean_chroma`), the split, and how many photos the whole source holds."""

    L: Tensor
    ab: Tensor
    labels: Tensor
    names: list[str]
    chroma: np.ndarray
    split: str = "val"
    source_photos: int = 0

    def near_gray(self, threshold: float) -> np.ndarray:
        """Indices of the photos whose mean chroma is below ``threshold`` (skipped for training)."""
        return np.flatnonzero(self.chroma < threshold)

    def colourful(self, threshold: float) -> np.ndarray:
        """Indices of the other photos: mean chroma at least ``threshold``."""
        return np.flatnonzero(self.chroma >= threshold)


# Table 1 on more photos (chapter 6): Imagenette's validation folder, never shown (no per-photo credits), scored
# with its folders' ImageNet labels; a fixed subset of it (by name hash, across its ten classes) keeps the build's
# time in check (its predictions are not cached, only each method's per-photo scores: evaluate(cache="scores"))
MORE_PHOTOS = "imagenette-160"
MORE_PHOTOS_SAMPLE = 500


def load_eval_set(data: str | None, size: int, limit: int | None = None, split: str = "val",
                  sample: int | None = None) -> EvalSet:
    """The photos of ``split`` (all of them, near-gray ones included), centre-cropped to ``size``²; ``sample``: a
    fixed subset of that many, chosen by name hash and spread across the classes (:func:`colorlib.data.spread_subset`);
    ``limit``: the first N."""
    dataset = ColorDataset(data, split=split, size=size, train=False, gray_threshold=None, limit=sample)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    items = [dataset[i] for i in tqdm(range(n), desc=f"loading {split} photos", leave=False)]
    root = dataset.scan.root
    source_photos = len(find_images(root)) if root is not None else len(embedded_images())
    return EvalSet(torch.stack([it["L"] for it in items]), torch.stack([it["ab"] for it in items]),
                   torch.tensor([it["label"] for it in items]), [dataset.items[i].name for i in range(n)],
                   np.array([dataset.items[i].chroma for i in range(n)]), split, source_photos)


def decoder_for(loss: str) -> str:
    """How a model trained with ``loss`` paints: the ``l2`` head, else Zhang's annealed mean."""
    return "regression" if uses_regression(loss) else "annealed-mean"


def predict(model: ColorizationNet, decoder: str, L: Tensor, batch: int = 16, T: float = DEFAULT_T) -> Tensor:
    """ab ``(N,2,S,S)`` on the CPU for every image ``L (N,1,S,S)``, in batches on the model's device
    (``decoder``: see :meth:`ColorizationNet.colorize_ab`)."""
    device = next(model.parameters()).device
    return torch.cat([model.colorize_ab(chunk.to(device), T=T, decoder=decoder).cpu() for chunk in L.split(batch)])


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
    per_bin: list  # per photo: (bins present, cumulative counts per bin (k,151), pixels per bin), for the class-balanced AuC
    warm: np.ndarray  # (N,) warm true pixels (colorlib.metrics.warm_painted_cool)
    warm_cool: np.ndarray  # (N,) of those, painted cool


@dataclass(frozen=True)
class Column:
    """One column of Table 1: ``statistic(per_image, photos)`` is its value over the photos with indices
    ``photos``; ``interval`` says whether rows carry a 95% bootstrap interval (``<key>_ci``); a value at or
    above ``undefined_from`` is shown as "–" (the PSNR of the ground truth itself: infinite). ``unit`` completes the
    header on a figure's axis where the header alone gives none."""

    key: str
    header: str
    fmt: str
    interval: bool
    statistic: Callable[[PerImage, np.ndarray], float]
    undefined_from: float | None = None
    unit: str = ""

    @property
    def axis(self) -> str:
        """The column's name on a figure's axis: the header, with its unit where the header has none."""
        return f"{self.header} ({self.unit})" if self.unit else self.header

    def cell(self, row: dict) -> str:
        """The value of ``row`` in this column as a table shows it, its interval in smaller type."""
        value = row[self.key]
        if self.undefined_from is not None and value >= self.undefined_from:
            return "–"
        interval = row.get(self.key + "_ci")
        return with_interval(value, *interval, self.fmt) if interval else format(value, self.fmt)


COLUMNS: tuple[Column, ...] = (
    Column("auc_raw", "AuC raw (%)", ".1f", True,
           lambda per, photos: auc_from_counts(per.raw[photos].sum(0), per.raw_total[photos].sum())),
    Column("auc_rebal", "AuC rebal (%)", ".1f", True,
           lambda per, photos: auc_from_counts(per.rebal[photos].sum(0), per.rebal_total[photos].sum())),
    Column("auc_classbal", "AuC class-bal (%)", ".1f", False,  # no interval: ~5 s per row to bootstrap
           lambda per, photos: class_balanced_auc_from_counts([per.per_bin[i] for i in photos])),
    Column("top1", "top-1 (%)", ".1f", True, lambda per, photos: 100.0 * per.correct[photos].mean()),
    Column("colorfulness", "colourfulness", ".1f", True,
           lambda per, photos: float(per.colorfulness[photos].mean()), unit="Hasler's M, sRGB 0–255"),
    Column("psnr", "PSNR (dB)", ".1f", True, lambda per, photos: float(per.psnr[photos].mean()), PSNR_CAP),
    Column("warm_cool", "warm painted cool (%)", ".0f", True,  # lower is better; gray paints nothing cool
           lambda per, photos: 100.0 * per.warm_cool[photos].sum() / max(per.warm[photos].sum(), 1)),
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
                    [counts_per_bin(err[i], bin_of_pixel[i], len(bins)) for i in range(len(err))],
                    *(n.numpy().astype(float) for n in warm_painted_cool(pred_ab.float(), eval_set.ab)))


COLUMN = {c.key: c for c in COLUMNS}


def summarize(method: str, per_image: PerImage, classifier: str, top1_kind: str, ci: bool = True,
              photos: np.ndarray | None = None) -> dict:
    """One row of the table over ``photos`` (indices; default all): every column of :data:`COLUMNS`,
    with its 95% bootstrap interval where it has one."""
    photos = np.arange(len(per_image.correct)) if photos is None else np.asarray(photos)
    row: dict = {"method": method}
    for col in COLUMNS:
        row[col.key] = col.statistic(per_image, photos)
    row.update({"top1_kind": top1_kind, "classifier": classifier, "images": len(photos)})
    if ci:
        for col in COLUMNS:
            if col.interval:
                row[col.key + "_ci"] = bootstrap_ci(photos, lambda resample, c=col: c.statistic(per_image, resample))
    return row


def rows_markdown(rows: list[dict], labels: dict[str, str] | None = None, columns: list[Column] | None = None) -> str:
    """A Markdown table of rows: every column of :data:`COLUMNS` (or ``columns``), with its interval where the
    row has one."""
    from .tables import markdown_table

    labels = {**METHOD_LABELS, **(labels or {})}
    columns = list(COLUMNS) if columns is None else columns
    return markdown_table(["method", *(c.header for c in columns)],
                          [[labels.get(r["method"], r["method"]), *(c.cell(r) for c in columns)] for r in rows])


@dataclass
class Evaluation:
    """What :func:`evaluate` returns: the table rows, the photos scored, every method's ab predictions
    ``{method: (N,2,S,S)}`` and per-image statistics, and the prior the rebalanced AuC used (with where
    it came from)."""

    rows: list[dict]
    eval_set: EvalSet
    predictions: dict[str, Tensor]
    per_image: dict[str, PerImage]
    prior: np.ndarray
    prior_source: str

    def rows_for(self, photos: np.ndarray, ci: bool = True) -> list[dict]:
        """The table over a subset of the photos (indices), e.g. without the near-gray ones."""
        first = self.rows[0]
        return [summarize(r["method"], self.per_image[r["method"]], first["classifier"], first["top1_kind"], ci,
                          photos) for r in self.rows]

    def compare(self, a: str, b: str, key: str, photos: np.ndarray | None = None) -> dict:
        """Method ``a`` minus method ``b`` on column ``key``, with a **paired** bootstrap interval over the
        same photos (:func:`colorlib.metrics.paired_bootstrap`)."""
        col = COLUMN[key]
        photos = np.arange(len(self.eval_set.L)) if photos is None else np.asarray(photos)
        diff, low, high = paired_bootstrap(len(photos), lambda i: col.statistic(self.per_image[a], photos[i]),
                                           lambda i: col.statistic(self.per_image[b], photos[i]))
        return {"a": a, "b": b, "key": key, "difference": diff, "low": low, "high": high, "photos": len(photos)}


def same_prior(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two training priors ``(Q,)`` are the same up to float32 rounding: the prior is summed in float32,
    and a CPU with other vector units sums in another order (the seed-solver `l2`, trained on another machine,
    differs from the others by 4e-8)."""
    return bool(np.allclose(a, b, rtol=1e-5, atol=1e-7))


def runs_prior(loaded: dict[str, tuple[ColorizationNet, dict]]) -> tuple[np.ndarray, str]:
    """The training prior saved in the runs' ``model.pt`` (the first run's), and a sentence saying so."""
    first, (_, info) = next(iter(loaded.items()))
    prior = info["prior"].double().numpy()
    same = all(same_prior(i["prior"].double().numpy(), prior) for _, i in loaded.values())
    where = f"the training prior saved in the runs' model.pt ({len(loaded)} runs"
    return prior, where + (", all the same)" if same else f"; they differ, {first}'s is used)")


def evaluate(runs: str | Path | None, data: str | None = None, profile: str | None = None,
             classifier: str = "auto", limit: int | None = None, floor: float | None = None,
             ci: bool = True, split: str | None = None, device: str = "cpu", cache: bool | Literal["scores"] = False,
             prior_of: str | Path | None = None, losses: list[str] | None = None,
             sample: int | None = None) -> Evaluation:
    """Rows for the baselines and every trained loss under ``runs`` (``losses``: only these; see the module
    docstring); ``sample``: score a fixed subset of that many photos (:func:`load_eval_set`).

    ``split``: ``val`` (the default: the validation photos of ``data``, the same photos whatever the runs were
    trained on, so that models trained on different data are scored alike), ``all``, or ``tune`` (the held-out
    part of the training split, for tuning a profile). The rebalanced AuC uses **one** prior for every row: the
    one the runs were trained with (saved in their ``model.pt``), or the one the runs under ``prior_of`` were trained
    with (to score networks trained on different photos alike); with no run, :func:`training_prior`.
    ``device``: where the networks predict and the classifier classifies (``auto``: CUDA when present);
    the scores are computed on the CPU. ``cache``: reuse the result of an identical earlier call
    (:mod:`colorlib.cache`: same code, model files, photos and arguments), as the chapters do; ``"scores"``: reuse
    only each method's per-image scores (:func:`score_once`), for a photo set whose predictions are too large to
    keep (the tuning trials' tune photos)."""
    prof = get_profile(profile)
    runs = runs if runs is not None else runs_for(prof.name, train_data_for(prof.train_on, None, data))
    args = (runs, data, profile, classifier, limit, floor, ci, split, device, cache, prior_of, losses, sample)
    if cache in (False, "scores"):
        return _evaluate(*args)
    from .cache import cached, file_digest, folder_fingerprint, weights_fingerprint

    key = [sorted((loss, file_digest(path)) for loss, path in find_runs(runs).items()),
           folder_fingerprint(resolve_data(data)), prof.name, classifier, limit, floor, ci, split,
           [weights_fingerprint(find_weights(name)) for name in (REFERENCE, "vgg16")],
           None if prior_of is None else sorted((loss, file_digest(path)) for loss, path in find_runs(prior_of).items()),
           losses, sample]
    return cached("evaluate", key, lambda: _evaluate(*args))


def score_once(pred_ab: Tensor, eval_set: EvalSet, weights: np.ndarray, bins: np.ndarray, classifier,
               targets: Tensor) -> PerImage:
    """:func:`score` through the disk cache: the per-image statistics of the very same predictions on the
    same photos, weights, classifier and targets are computed once. The chapters evaluate a runs folder as
    it grows (each loss page of chapter 5 adds a model), so the baselines and the earlier models are
    classified once, not on every page; classifying is most of an evaluation's time."""
    from .cache import array_digest, cached, weights_fingerprint

    key = [array_digest(pred_ab, eval_set.L, eval_set.ab, weights, bins, targets), classifier.name,
           weights_fingerprint(find_weights("vgg16"))]
    return cached("score", key, lambda: score(pred_ab, eval_set, weights, bins, classifier.predict, targets))


def _evaluate(runs, data, profile, classifier, limit, floor, ci, split, device, cache=False, prior_of=None,
              losses=None, sample=None) -> Evaluation:
    from .classify import load_classifier
    from .train import pick_device

    prof = get_profile(profile)
    where = pick_device(device)
    loaded = {loss: run for loss, run in load_runs(runs, where).items() if losses is None or loss in losses}
    split = split or "val"
    size = eval_size_of(loaded, prof.eval_size)  # the runs' own evaluation size wins: one size for every row
    bins = gamut_bins()
    eval_set = load_eval_set(data, size, limit, split, sample)
    other = load_runs(prior_of, where) if prior_of is not None else {}
    if other:  # no run there (not trained yet): these runs' own prior
        prior, prior_source = runs_prior(other)
        prior_source += f" under {display_path(prior_of)}"
    elif loaded:
        prior, prior_source = runs_prior(loaded)
    else:
        prior = training_prior(data, prof, split="fit" if split == "tune" else "train", size=size, bins=bins)[0]
        prior_source = f"the {prof.name} profile's training prior of this data source (no trained run)"
    weights = inverse_prior_weights(prior, floor)
    clf = load_classifier(classifier)
    clf.net.to(where)  # it classifies where the networks predict; its answers come back to the CPU
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
    rows, per_image = [], {}
    for method in tqdm([*BASELINES, *loaded, *([REFERENCE] if reference is not None else [])], desc="evaluating"):
        if method not in predictions:
            predictions[method] = predict(loaded[method][0], decoder_for(method), eval_set.L)
        per_image[method] = (score_once(predictions[method], eval_set, weights, bins, clf, targets) if cache
                             else score(predictions[method], eval_set, weights, bins, clf.predict, targets))
        rows.append(summarize(method, per_image[method], clf.name, kind, ci))
    return Evaluation(rows, eval_set, predictions, per_image, prior, prior_source)


# --- colorize any photo -------------------------------------------------------------------------


def prediction_size(h: int, w: int, size: int, multiple: int) -> tuple[int, int]:
    """The size a photo of ``h``×``w`` pixels is colorized at: shorter side ``size``, each side rounded to a
    multiple of ``multiple`` (the network's largest stride: :attr:`ColorizationNet.SIZE_MULTIPLE`)."""
    scale = size / min(h, w)
    return max(multiple, round(h * scale / multiple) * multiple), max(multiple, round(w * scale / multiple) * multiple)


def colorize_photo(model: ColorizationNet, rgb: np.ndarray, size: int, decoder: str = "annealed-mean",
                   T: float = DEFAULT_T, hints: list | None = None) -> np.ndarray:
    """Colorize a photo ``(H,W,3)`` uint8 at its own resolution: predict ab from a copy of its lightness resized
    (antialiased) to :func:`prediction_size`, upsample ab, recombine with the original L. Chapter 9's page does
    the same in the browser (``book/_static/colorize.js``). ``hints``: :class:`colorlib.hints.Hint` in the photo's
    own pixels, for a hint colorizer (chapter 10; its page, ``book/_static/hints.js``, does the same)."""
    x = rgb_to_tensor(rgb)[None]
    L_full = split_lab(rgb_to_lab(x))[0]
    h, w = rgb.shape[:2]
    small = prediction_size(h, w, size, getattr(model, "SIZE_MULTIPLE", 8))
    L_small = F.interpolate(L_full, size=small, mode="bilinear", align_corners=False, antialias=True)
    if hints:
        from .hints import photo_hints_ab

        ab_full = photo_hints_ab(model, L_small, hints, (h, w), T)
    else:
        ab = model.colorize_ab(L_small, T=T, decoder=decoder)
        ab_full = F.interpolate(ab, size=(h, w), mode="bilinear", align_corners=False)
    out = lab_to_rgb(join_lab(L_full, ab_full))[0]
    return (out.permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)


# The best colorizer the repository ships, in order of preference (chapter 8 compares them): the semantic
# full-soft trained on Imagenette, the same trained on nips17-dev, then the from-scratch full-soft (likewise).
BEST_COLORIZERS = ("cpu-semantic-imagenette-160/full-soft", "cpu-semantic-nips17-dev/full-soft", "cpu-imagenette-160/full-soft",
                   "cpu-nips17-dev/full-soft")


def default_checkpoint() -> str:
    """The ``model.pt`` of the best committed colorizer (:data:`BEST_COLORIZERS`)."""
    from .paths import RESULTS
    from .runs import FINAL

    for candidate in BEST_COLORIZERS:
        if (RESULTS / candidate / FINAL).is_file():
            return str(RESULTS / candidate / FINAL)
    raise FileNotFoundError("checkpoint: no committed model in results/; pass --checkpoint")


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


def colorize_files(files: list[str], checkpoint: str | None, out: str, size: int | None = None,
                   hints: list | None = None) -> int:
    """Colorize each file into ``out`` (PNG, same stem). Returns the number of failures; a bad file gets
    one error line and the others are still processed. ``hints`` (:class:`colorlib.hints.Hint`, in each photo's
    own pixels) need a hint colorizer: the default checkpoint is then the committed one (chapter 10)."""
    from PIL import Image

    from .data import find_images

    if hints and checkpoint is None:
        from .hints import default_hint_checkpoint

        checkpoint = default_hint_checkpoint()
    model, decoder, size = load_colorizer(checkpoint or default_checkpoint(), size)
    if hints and not hasattr(model, "spread"):
        raise ValueError(f"--hint: {checkpoint} is not a hint colorizer; leave --checkpoint out to use the committed one")
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
            if hints:
                from .hints import check_inside

                check_inside(hints, *rgb.shape[:2])
            Image.fromarray(colorize_photo(model, rgb, size, decoder, hints=hints)).save(out_dir / f"{path.stem}.png")
        except Exception as exc:  # one line per bad file; the others are still colorized
            failed += 1
            print(f"colorlib colorize: error: {path}: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
    return failed


def combine(evaluations: dict[str, Evaluation]) -> Evaluation:
    """One table from evaluations of the same photos: the baselines once (from the first), then each
    evaluation's other rows with its label before the method (``{"semantic": e}`` gives ``semantic
    full-soft``), so that :meth:`Evaluation.compare` can pair any two rows."""
    first = next(iter(evaluations.values()))
    rows, predictions, per_image = [], {}, {}
    for index, (label, ev) in enumerate(evaluations.items()):
        if ev.eval_set.names != first.eval_set.names:
            raise ValueError(f"combine: {label!r} was scored on other photos")
        if not same_prior(ev.prior, first.prior):
            raise ValueError(f"combine: {label!r} used another prior for the rebalanced AuC")
        for row in ev.rows:
            if row["method"] in BASELINES and index > 0:
                continue
            name = row["method"] if row["method"] in BASELINES or not label else f"{label} {row['method']}"
            rows.append({**row, "method": name})
            predictions[name], per_image[name] = ev.predictions[row["method"]], ev.per_image[row["method"]]
    return Evaluation(rows, first.eval_set, predictions, per_image, first.prior, first.prior_source)


def part_of(combined: Evaluation, label: str) -> Evaluation:
    """The inverse of :func:`combine` for one label: the baselines and the rows ``"{label} {method}"`` of
    ``combined``, renamed ``method`` again, so that a table of one network reads as it would alone."""
    keep = {r["method"]: r["method"].removeprefix(label + " ") for r in combined.rows
            if r["method"] in BASELINES or r["method"].startswith(label + " ")}
    return Evaluation([{**r, "method": keep[r["method"]]} for r in combined.rows if r["method"] in keep],
                      combined.eval_set, {keep[m]: p for m, p in combined.predictions.items() if m in keep},
                      {keep[m]: p for m, p in combined.per_image.items() if m in keep}, combined.prior,
                      combined.prior_source)


# --- did each model learn? (chapter 5; tests/test_results.py holds the committed models to it) ----------

LEARNED_FALL = -0.03  # the training loss of the last 100 steps is at least 3% below the first 100
LEARNED_SPREAD = 2.0  # Lab units: predicted ab varies across a photo's pixels by more than this (mean over photos)


# A wash is a different question from "did it learn": a model can move away from the prior (both checks above pass)
# and still paint each photo in nearly one colour. The pictures of such a model read as a tint, so the book calls it a
# wash when its colours vary within a photo by less than a third of the real photos' variation.
WASH_SHARE = 1 / 3


def washes(predictions: dict[str, Tensor], truth_ab: Tensor) -> dict[str, float]:
    """The methods whose predicted ab ``(N,2,H,W)`` varies within a photo by less than :data:`WASH_SHARE` of the true
    ab's variation (``truth_ab``, the same photos; :func:`colorlib.metrics.ab_spread`), with that spread in Lab
    units: each photo painted in nearly one tint, whose colourfulness measures the tint and which leaves nothing
    gray only because it tints everything."""
    truth = ab_spread(truth_ab)["within"]
    spreads = {method: ab_spread(ab)["within"] for method, ab in predictions.items()}
    return {method: spread for method, spread in spreads.items() if is_wash(spread, truth)}


def is_wash(spread_within: float, truth_within: float) -> bool:
    """:func:`washes` for one model's within-photo spread and the real photos', both in Lab units."""
    return spread_within < WASH_SHARE * truth_within


def learned(loss_change: float, spread_within: float) -> bool:
    """Both checks: the training loss fell by at least 3% (``loss_change``, last 100 steps over the first 100
    minus one) and the predicted ab varies within a photo by more than 2 Lab units (``spread_within``)."""
    return loss_change <= LEARNED_FALL and spread_within > LEARNED_SPREAD


def learning_evidence(runs: str | Path, evaluation: Evaluation, label: str = "") -> list[dict]:
    """For every loss trained under ``runs`` and scored in ``evaluation`` (its row ``f"{label} {loss}"`` when
    ``label`` is given): how far its training loss fell (:func:`colorlib.runs.loss_fall`, first vs last 100
    steps) and how much its predictions vary, within a photo and across photos
    (:func:`colorlib.metrics.ab_spread`, Lab units), beside the ground truth's; ``learned`` when both pass
    :data:`LEARNED_FALL` and :data:`LEARNED_SPREAD`; ``wash`` when its colours vary within a photo by less than
    :data:`WASH_SHARE` of the truth's (:func:`is_wash`)."""
    from .runs import loss_fall, read_log

    truth = ab_spread(evaluation.eval_set.ab)
    rows = []
    for loss, path in find_runs(runs).items():
        method = f"{label} {loss}" if label else loss
        if method not in evaluation.predictions:
            continue
        fall, spread = loss_fall(read_log(path.parent)), ab_spread(evaluation.predictions[method])
        rows.append({"method": method, **{f"loss_{k}": v for k, v in fall.items()},
                     "spread_within": spread["within"], "spread_across": spread["across"],
                     "truth_within": truth["within"], "truth_across": truth["across"],
                     "learned": learned(fall["change"], spread["within"]),
                     "wash": is_wash(spread["within"], truth["within"])})
    return rows


def evidence_markdown(rows: list[dict]) -> str:
    """:func:`learning_evidence` rows as a Markdown table, the ground truth's spread in the last row."""
    from .tables import markdown_table

    cells = [[r["method"], f"{r['loss_first']:#.4g}", f"{r['loss_last']:#.4g}", f"{100 * r['loss_change']:+.1f}%",
              f"{r['spread_within']:.1f}", f"{r['spread_across']:.1f}", "yes" if r["learned"] else "**no**",
              "**yes**" if r["wash"] else "no"] for r in rows]
    if rows:
        cells.append(["ground truth", "", "", "", f"{rows[0]['truth_within']:.1f}", f"{rows[0]['truth_across']:.1f}", "", ""])
    return markdown_table(["model", "training loss, first 100 steps", "last 100 steps", "change",
                           "ab spread within a photo (Lab units)", "across photos (Lab units)", "learned?", "wash?"], cells,
                          "lrrrrrll")
