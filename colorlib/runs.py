"""Run folders: one home for what a training run writes and how it is read back (chapters 5–7).

A run of loss NAME lives in ``RUNS/NAME/``:

* ``config.json``   everything that defines the run (profile, data, seed, command);
* ``log.csv``       step, loss, learning rate, images/s, wall-clock seconds;
* ``checkpoint.pt`` model + optimizer + step + RNG + config + bins + prior + weights, written atomically
  every ``checkpoint_every`` steps, at the end, and on Ctrl-C;
* ``model.pt``      the final weights in fp16 with what evaluation needs: ``bins (Q,2)``, ``prior (Q,)``
  (the smoothed training prior, :func:`colorlib.rebalance.training_prior`), ``weights (Q,)`` (the
  λ-rebalancing weights the loss used) and ``config``.

Every file loads with ``torch.load(weights_only=True)``: a pickle that would run code is refused.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
from pathlib import Path

import torch
from torch import nn

from .losses import LOSSES, check_loss
from .model import build_network

CHECKPOINT, FINAL, LOG, CONFIG = "checkpoint.pt", "model.pt", "log.csv", "config.json"
LOG_FIELDS = ["step", "loss", "lr", "images_per_s", "seconds"]


SEED_SOLVER = "seed-solver"  # RUNS/seed-solver/l2: the l2 run kept under the seed's solver (appendix A.5)


def seed_solver_runs(runs: str | Path) -> Path:
    """The runs folder of the extra run trained with the seed's solver (:data:`colorlib.profiles.SEED_SOLVER`)."""
    return Path(runs) / SEED_SOLVER


def lambda_runs(runs: str | Path, lam: float) -> Path:
    """The runs folder of models trained with rebalancing weight ``lam`` other than the default λ = ½
    (``RUNS/lambda=0/full-soft``: chapter 8's λ figure)."""
    return Path(runs) / f"lambda={lam:g}"


OTHER_LENGTH = "tuning/length"  # RUNS/tuning/length/<loss>: a model of a length the rule did not choose


def other_length_runs(runs: str | Path) -> Path:
    """The runs folder of the models kept at a training length the length rule did not choose for their loss
    (:data:`colorlib.profiles.LENGTH_CANDIDATES`; chapter 5, "How long to train"); empty where there were none."""
    return Path(runs) / OTHER_LENGTH


def run_dir(out: str | Path, loss: str) -> Path:
    """The folder of one loss's run inside a runs folder (the loss name is checked first)."""
    return Path(out) / check_loss(loss)


def save_atomic(obj: dict, path: Path) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename over ``path``: a kill at
    any moment leaves either the old file or the new one, never a torn one. A Ctrl-C during the write is held
    until the file is in place (inside ``torch.save`` it would surface as a RuntimeError, and the save be lost)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    hold = threading.current_thread() is threading.main_thread()
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if hold else None
    try:
        with open(tmp, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if hold:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a held Ctrl-C is delivered here


def load_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint or final model with ``weights_only=True``; a file that would run code is refused."""
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f"{path}: refused to load (not a plain-tensor checkpoint: {type(exc).__name__})") from None


def float_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A saved state with its fp16 weights back in fp32 (a model computes in fp32 whatever it was stored in)."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """A trained network from ``model.pt`` or ``checkpoint.pt``, in eval mode, with its saved info."""
    ckpt = load_checkpoint(path)
    model = build_network(ckpt["config"]["profile_settings"], bins=ckpt["bins"])
    model.load_trained_state(float_state(ckpt["model"]))
    return model.to(device).eval(), ckpt


def find_runs(runs: str | Path | None) -> dict[str, Path]:
    """{loss: model.pt} for every loss trained under ``runs`` (in the canonical order of :data:`LOSSES`)."""
    if runs is None:
        return {}
    return {loss: Path(runs) / loss / FINAL for loss in LOSSES if (Path(runs) / loss / FINAL).is_file()}


def load_runs(runs: str | Path | None, device: str | torch.device = "cpu") -> dict[str, tuple[nn.Module, dict]]:
    """{loss: (network on ``device``, saved info)} for every trained loss under ``runs``; each model is read once."""
    return {loss: load_model(path, device) for loss, path in find_runs(runs).items()}


def run_eval_size(info: dict) -> int:
    """The evaluation size (pixels) of a trained run, from its saved info."""
    return int(info["config"]["profile_settings"]["eval_size"])


def eval_size_of(loaded: dict[str, tuple[nn.Module, dict]], default: int) -> int:
    """The evaluation size shared by loaded runs (the first run's), or ``default`` when none is loaded,
    so that every row of a table is scored at one size."""
    return run_eval_size(next(iter(loaded.values()))[1]) if loaded else default


class RunLog:
    """``log.csv``: rows beyond the resumed step are dropped, so the log always matches the weights."""

    def __init__(self, path: Path, resume_step: int):
        rows = []
        if resume_step and path.is_file():
            with open(path, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= resume_step]
        self.fh = open(path, "w", newline="")
        self.writer = csv.DictWriter(self.fh, LOG_FIELDS)
        self.writer.writeheader()
        self.writer.writerows(rows)

    def write(self, **row) -> None:
        self.writer.writerow(row)

    def flush(self) -> None:
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


def read_log(folder: str | Path) -> list[dict]:
    """The rows of a run's ``log.csv`` as dicts of floats."""
    with open(Path(folder) / LOG, newline="") as fh:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]


def training_seconds(log: list[dict]) -> float:
    """Wall-clock seconds a run spent training, from its log's per-step clock: from the first logged step to the last
    (a resumed run's log keeps its earlier rows). The README's cost table and chapter 5's pages use this span."""
    return log[-1]["seconds"] - log[0]["seconds"] if log else 0.0


def read_config(folder: str | Path) -> dict:
    """A run's ``config.json`` (profile settings, data, seed, command, number of training photos)."""
    return json.loads((Path(folder) / CONFIG).read_text(encoding="utf-8"))


def loss_fall(log: list[dict], steps: int = 100) -> dict[str, float]:
    """Did the training loss fall? The mean loss of the first and of the last ``steps`` steps of a run's log
    (:func:`read_log`) and the relative change, last over first minus one (negative: it fell)."""
    first = sum(r["loss"] for r in log[:steps]) / len(log[:steps])
    last = sum(r["loss"] for r in log[-steps:]) / len(log[-steps:])
    return {"first": first, "last": last, "change": last / first - 1}
