"""Tuning a profile without looking at the validation split: ``colorlib tune`` (chapter 6, "How the
``cpu`` profile was chosen").

A *trial* is a base profile with a few fields changed (``--set lr=3e-4``). It trains one loss on the
``fit`` part of the training split and is scored on the held-out ``tune`` part (about 10% of the training
photos; see :func:`colorlib.data.in_split`). The selection criterion is the training loss itself on the
``tune`` photos (the objective, measured on photos the trial never saw); the chapter-6 metrics and a
look at the colorizations come with it. Each trial appends one JSON line to ``OUT/trials.jsonl`` and
keeps its run in ``OUT/<trial name>/<loss>/``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .losses import compute_loss, target_ab, uses_regression
from .profiles import get_profile, with_overrides
from .runs import FINAL, load_model
from .train import TrainConfig, train

TRIALS = "trials.jsonl"
TUNING = "tuning"  # the trials behind a runs folder's profile live in RUNS/tuning/


def trial_name(overrides: dict) -> str:
    """A folder name for a trial: ``base`` or ``lr=0.0003,weight_decay=0.0`` (sorted keys)."""
    return ",".join(f"{k}={v}" for k, v in sorted(overrides.items())) or "base"


@torch.no_grad()
def held_out_loss(run: Path, loss: str, L: torch.Tensor, ab: torch.Tensor, batch: int = 16) -> float:
    """The training loss of a trained run on photos it never saw: ``L (N,1,S,S)`` in 0..100, ``ab
    (N,2,S,S)`` in Lab units; mean over batches weighted by batch size."""
    model, ckpt = load_model(run / FINAL)
    total = 0.0
    for Lb, abb in zip(L.split(batch), ab.split(batch), strict=True):
        out = model(Lb, regression=uses_regression(loss))
        total += len(Lb) * compute_loss(loss, out, target_ab(abb), ckpt["bins"], ckpt["weights"]).item()
    return total / len(L)


def run_trial(loss: str, data: str | None, out: str | Path, base: str = "cpu", overrides: dict | None = None,
              classifier: str = "auto") -> dict:
    """Train ``loss`` on ``fit`` with ``base`` + ``overrides``; score on ``tune``; append to ``trials.jsonl``.

    A trial whose run already exists is scored again, not retrained (delete its folder to retrain)."""
    from .evaluate import COLUMNS, evaluate

    changed = with_overrides(get_profile(base), overrides)  # a bad override fails here, before any work
    overrides = {k: getattr(changed, k) for k in (overrides or {})}  # typed values: "3e-4" -> 0.0003
    name = trial_name(overrides)
    folder = Path(out) / name
    start = time.time()
    run = train(TrainConfig(loss=loss, profile=base, data=data, out=str(folder), split="fit", overrides=overrides,
                            resume=True, command=["colorlib", "tune", "--loss", loss, "--base", base,
                                                  *[f"--set={k}={v}" for k, v in overrides.items()]]))
    wall = time.time() - start
    scored = evaluate(folder, data, base, classifier, ci=False, split="tune")
    tune_set = scored.eval_set
    result = {"trial": name, "loss": loss, "base": base, "overrides": overrides,
              "profile_settings": changed.as_dict(), "seconds": round(wall),
              "tune_photos": len(tune_set.L), "tune_loss": held_out_loss(run, loss, tune_set.L, tune_set.ab),
              "scores": {r["method"]: {c.key: round(r[c.key], 2) for c in COLUMNS} for r in scored.rows}}
    with open(Path(out) / TRIALS, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(result) + "\n")
    return result


def tuning_dir(runs: str | Path) -> Path:
    """Where the trials that chose the profile of the runs folder ``runs`` are recorded."""
    return Path(runs) / TUNING


def read_trials(out: str | Path) -> list[dict]:
    """Every trial recorded under ``out`` (empty if none)."""
    path = Path(out) / TRIALS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def trials_markdown(trials: list[dict]) -> str:
    """Recorded trials as a Markdown table: the loss trained, the held-out loss (the criterion; the lowest
    of each loss in bold), that loss's scores on the tune photos for every column of Table 1, and the
    training time."""
    from .evaluate import COLUMNS

    best = {loss: min((t for t in trials if t["loss"] == loss), key=lambda t: t["tune_loss"])
            for loss in dict.fromkeys(t["loss"] for t in trials)}
    shown = [c for c in COLUMNS if all(c.key in t["scores"][t["loss"]] for t in trials)]
    lines = ["| trial | loss | held-out loss | " + " | ".join(c.header for c in shown) + " | training (s) |",
             "|---|---|---:|" + "---:|" * len(shown) + "---:|"]
    for t in trials:
        held_out = f"**{t['tune_loss']:.4g}**" if t is best[t["loss"]] else f"{t['tune_loss']:.4g}"
        scores = " | ".join(format(t["scores"][t["loss"]][c.key], c.fmt) for c in shown)
        seconds = "–" if t.get("seconds") is None else str(t["seconds"])
        lines.append(f"| {t['trial']} | {t['loss']} | {held_out} | {scores} | {seconds} |")
    verdicts = "; ".join(f"{loss}: **{t['trial']}**" for loss, t in best.items())
    return "\n".join(lines) + f"\n\nLowest held-out loss: {verdicts}."
