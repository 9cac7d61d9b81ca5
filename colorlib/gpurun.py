"""The prepared GPU run: the bench, the four losses at the ``gpu`` profile, evaluation and a gallery, in one
command that writes everything under one folder (``make gpu-run``; ``scripts/gpu_run.sh`` on a machine
whose own Python has PyTorch).

Two halves, because the GPU machine reaches nothing outside the checkout:

``colorlib pack``     here, before: a compact copy of a photo folder (shorter side ``--side`` pixels, JPEG
                      with full-resolution colour, same file names so the same train/val split, and its
                      ``labels.csv``) into an ignored folder that travels with the checkout.
``colorlib gpu-run``  there: ``environment.json``, ``bench.json`` (images/s, data wait, MFU), the four
                      losses under ``runs/`` (logs, configs, models), ``evaluation.json`` and ``table1.md``,
                      ``gallery.png``, and ``summary.json`` with minutes per loss.

The number of steps is the profile's, capped by what the bench measured so that the four losses fit
``--budget-minutes``: a slower device trains fewer steps rather than running out of time (the summary
says so). ``--set`` changes profile fields as in ``colorlib train`` (the CI dry run shrinks the network).
"""

from __future__ import annotations

import json
import math
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .data import NoUsableImages, find_images, load_rgb, report_skip, resize_shorter
from .losses import LOSSES, uses_regression
from .profiles import GPU_OVERHEAD_S_PER_LOSS, get_profile, with_overrides

PROFILE = "gpu"
GALLERY_PHOTOS = 8
# Minutes for the four losses' steps and start-up (profiles.GPU_OVERHEAD_S_PER_LOSS each); the bench,
# evaluation and gallery take about a minute more, so that the whole run stays under 9 minutes.
BUDGET_MINUTES = 7.5


def pack(source: str | Path, destination: str | Path, side: int = 256, quality: int = 85) -> dict:
    """Copy every photo of ``source`` into ``destination`` with its shorter side at most ``side`` pixels
    (never enlarged), under the same relative name (the split is a hash of the name); JPEG files are
    written at ``quality`` with no chroma subsampling (colour is what the book is about). ``labels.csv``
    is copied. Unreadable files are reported and left out. Returns counts and bytes written."""
    source, destination = Path(source), Path(destination)
    if not source.is_dir():
        raise NotADirectoryError(f"data: {str(source)!r} is not a folder")
    written, skipped = 0, 0
    for path in find_images(source):
        target = destination / path.relative_to(source)
        if target.is_file() and target.stat().st_mtime >= path.stat().st_mtime:
            written += 1  # packed by an earlier call
            continue
        try:
            rgb = load_rgb(path)
        except Exception as exc:
            report_skip(path, f"cannot read image ({type(exc).__name__})")
            skipped += 1
            continue
        image = resize_shorter(rgb, side) if min(rgb.shape[:2]) > side else Image.fromarray(rgb)
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, quality=quality, subsampling=0)  # the quality options apply to JPEG only
        written += 1
    if written == 0:
        raise NoUsableImages(f"no usable image in {source} ({skipped} skipped)")
    if (source / "labels.csv").is_file():
        shutil.copyfile(source / "labels.csv", destination / "labels.csv")
    size = sum(p.stat().st_size for p in destination.rglob("*") if p.is_file())
    return {"photos": written, "skipped": skipped, "bytes": size, "side": side, "quality": quality}


def environment() -> dict:
    """What the run ran on: Python, PyTorch, CUDA and the device."""
    cuda = torch.cuda.is_available()
    return {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "device": torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu",
            "bf16_supported": bool(cuda and torch.cuda.is_bf16_supported()),
            "threads": torch.get_num_threads()}


def planned_steps(profile_steps: int, steps_per_s: float, budget_s: float, losses: int, overhead_s: float) -> int:
    """The profile's steps, or fewer: as many as ``losses`` runs at the measured ``steps_per_s`` can take in
    ``budget_s`` after ``overhead_s`` per loss (start-up, prior, decoding). At least 1."""
    affordable = (budget_s / losses - overhead_s) * steps_per_s
    return max(1, min(profile_steps, math.floor(affordable)))


def gallery(evaluation, photos: int = GALLERY_PHOTOS):
    """The first ``photos`` validation photos: input, ground truth, and each trained loss's colorization."""
    from .plots import colorization_grid

    chosen = list(range(min(photos, len(evaluation.eval_set.L))))
    columns = {"ground truth": evaluation.eval_set.ab[chosen]}
    columns.update({loss: evaluation.predictions[loss][chosen] for loss in LOSSES if loss in evaluation.predictions})
    fig = colorization_grid(evaluation.eval_set.L[chosen], columns, [evaluation.eval_set.names[i] for i in chosen])
    fig.suptitle(f"{PROFILE} profile, validation photos (not trained on)")
    return fig


def training_summary(log: list[dict], profile, loss: str, peak_tflops: float | None) -> dict:
    """Steps, the mean loss of the last tenth of the steps, the median images/s and, with a known bf16
    peak, the median MFU of a trained run's ``log.csv`` rows."""
    from .bench import model_flop_utilisation, model_flops_per_image

    tail = [row["loss"] for row in log[-max(1, len(log) // 10):]]
    images_per_s = float(np.median([row["images_per_s"] for row in log]))
    flops = model_flops_per_image(profile.as_dict(), profile.crop, regression=uses_regression(loss))
    return {"steps": len(log), "final_loss_mean_last_tenth": float(np.mean(tail)),
            "images_per_s_median": images_per_s, "model_flops_per_image": flops,
            "mfu_median": None if peak_tflops is None else model_flop_utilisation(flops, images_per_s,
                                                                                  peak_tflops * 1e12)}


def write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=1, default=str))


def run(data: str, out: str | Path, overrides: dict | None = None, budget_minutes: float = BUDGET_MINUTES,
        overhead_s: float = GPU_OVERHEAD_S_PER_LOSS, bench_steps: int = 20, steps: int | None = None,
        eval_limit: int | None = None, device: str = "auto", classifier: str = "auto") -> dict:
    """The whole GPU run (see the module docstring); returns the summary it writes."""
    from .bench import training_bench
    from .evaluate import evaluate, rows_markdown
    from .runs import read_log
    from .train import TrainConfig, TrainingDiverged, train

    started = time.perf_counter()
    profile = with_overrides(get_profile(PROFILE), overrides)  # a bad override fails before any work
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    machine = environment()
    write_json(out / "environment.json", machine)
    print(f"colorlib gpu-run: {machine}", file=sys.stderr)

    bench = training_bench(PROFILE, data, steps=bench_steps, overrides=overrides, device=device)
    write_json(out / "bench.json", bench)
    print(f"colorlib gpu-run: bench {json.dumps(bench)}", file=sys.stderr)
    if steps is None:
        steps = planned_steps(profile.steps, bench["steps_per_s"], budget_minutes * 60, len(LOSSES), overhead_s)
        steps_source = "profile" if steps == profile.steps else "capped by the budget at the bench's speed"
    else:
        steps_source = "given (--steps)"
    sets = [f"--set={k}={v}" for k, v in (overrides or {}).items()]
    per_loss = {}
    for loss in LOSSES:
        start = time.perf_counter()
        command = ["colorlib", "train", "--loss", loss, "--profile", PROFILE, "--data", str(data),
                   "--out", str(out / "runs"), "--steps", str(steps), "--device", device, *sets]
        try:
            folder = train(TrainConfig(loss=loss, profile=PROFILE, data=data, out=str(out / "runs"), steps=steps,
                                       device=device, overrides=dict(overrides or {}), command=command))
        except TrainingDiverged as exc:  # one loss failing must not lose the others
            per_loss[loss] = {"error": str(exc), "seconds": time.perf_counter() - start}
            print(f"colorlib gpu-run: {loss}: {exc}", file=sys.stderr)
            continue
        seconds = time.perf_counter() - start
        per_loss[loss] = {"seconds": seconds, "minutes": seconds / 60,
                          **training_summary(read_log(folder), profile, loss, bench.get("peak_tflops"))}
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    evaluation = evaluate(out / "runs", data, PROFILE, classifier, eval_limit, device=device)
    write_json(out / "evaluation.json", evaluation.rows)
    (out / "table1.md").write_text(rows_markdown(evaluation.rows) + "\n")
    gallery(evaluation).savefig(out / "gallery.png", dpi=80)

    summary = {"profile": profile.as_dict(), "overrides": overrides or {}, "steps": steps,
               "steps_source": steps_source, "profile_steps": profile.steps, "budget_minutes": budget_minutes,
               "bench": bench, "losses": per_loss, "total_minutes": (time.perf_counter() - started) / 60}
    write_json(out / "summary.json", summary)
    return summary
