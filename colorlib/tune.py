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
from .metrics import ab_spread
from .profiles import (
    LENGTH_CANDIDATES,
    SOLVER_CANDIDATES,
    SOLVER_CRITERION,
    for_loss,
    get_profile,
    solver_trial_steps,
    with_overrides,
)
from .runs import FINAL, LOG, load_model, loss_fall, read_log, training_seconds
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


def trial_command(loss: str, base: str, overrides: dict, *flags: str) -> list[str]:
    """The ``colorlib tune`` command line of a trial, as its config records it."""
    return ["colorlib", "tune", "--loss", loss, "--base", base, *flags, *[f"--set={k}={v}" for k, v in overrides.items()]]


def run_trial(loss: str, data: str | None, out: str | Path, base: str = "cpu", overrides: dict | None = None,
              classifier: str = "auto", command: list[str] | None = None, snapshots: tuple[int, ...] = ()) -> dict:
    """Train ``loss`` on ``fit`` with ``base`` + ``overrides``; score on ``tune``; append to ``trials.jsonl``.
    ``snapshots``: steps at which the run also keeps its model (:attr:`colorlib.train.TrainConfig.snapshots`).

    A trial whose run already exists is scored again, not retrained (delete its folder to retrain)."""
    changed = with_overrides(for_loss(get_profile(base), loss), overrides)  # a bad override fails here, before any work
    overrides = {k: getattr(changed, k) for k in (overrides or {})}  # typed values: "3e-4" -> 0.0003
    folder = Path(out) / trial_name(overrides)
    start = time.time()
    command = command or trial_command(loss, base, overrides)
    train(TrainConfig(loss=loss, profile=base, data=data, out=str(folder), split="fit", overrides=overrides,
                      resume=True, command=command, snapshots=snapshots))
    return record_trial(score_trial(loss, data, out, base, overrides, classifier, seconds=round(time.time() - start)), out)


def record_trial(result: dict, out: str | Path) -> dict:
    """Append one trial's record to ``OUT/trials.jsonl``; returns it."""
    with open(Path(out) / TRIALS, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(result) + "\n")
    return result


def score_trial(loss: str, data: str | None, out: str | Path, base: str, overrides: dict, classifier: str = "auto",
                seconds: int | None = None) -> dict:
    """The record of a trained trial: its settings, the held-out loss on the tune photos, every Table-1
    column of the baselines and of its own run there, the spread of its colorizations, how far its training loss fell,
    and the digest of its model file (so that a committed model can be traced to its trial)."""
    from .evaluate import COLUMNS, evaluate

    name = trial_name(overrides)
    folder = Path(out) / name
    run = folder / loss
    # a trials folder holds the runs of every loss tried with the same settings: a trial scores its own (beside the
    # baselines, whose scores are read back from the disk cache after the first trial)
    scored = evaluate(folder, data, base, classifier, ci=False, split="tune", cache="scores", losses=[loss])
    tune_set = scored.eval_set
    log = read_log(run)
    from .cache import file_digest

    return {"trial": name, "loss": loss, "base": base, "overrides": overrides, "model": file_digest(run / FINAL),
            "profile_settings": with_overrides(for_loss(get_profile(base), loss), overrides).as_dict(),
            "seconds": seconds, "tune_photos": len(tune_set.L),
            "tune_loss": held_out_loss(run, loss, tune_set.L, tune_set.ab),
            "scores": {r["method"]: {c.key: round(r[c.key], 2) for c in COLUMNS} for r in scored.rows},
            "tune_spread": {k: round(v, 3) for k, v in ab_spread(scored.predictions[loss]).items()},
            "loss_fall": {k: round(v, 5) for k, v in loss_fall(log, max(1, len(log) // 5)).items()}}


TRAIN_TIME = "train time (s)"  # of a trial, from its run's log; not a benchmark (other work shared the machine)
SOLVER_TRIALS = "solver"  # the solver trials of a runs folder: RUNS/tuning/solver/trials.jsonl


def trial_seconds(trial: dict, folder: Path | None = None) -> str:
    """A recorded trial's training time in seconds, from its run's log under ``folder`` (the folder of its
    ``trials.jsonl``) where the log is there; else the trial's recorded wall clock, which also counts its scoring
    (and is the scoring alone for a run trained before); "–" when neither is known."""
    log = None if folder is None else Path(folder) / trial["trial"] / trial["loss"]
    if log is not None and (log / LOG).is_file():
        return f"{training_seconds(read_log(log)):.0f}"
    return "–" if trial.get("seconds") is None else str(trial["seconds"])


def solver_candidates(base: str) -> list[dict]:
    """The overrides of every solver trial at profile ``base``: each of
    :data:`colorlib.profiles.SOLVER_CANDIDATES` at :func:`colorlib.profiles.solver_trial_steps` steps."""
    steps = solver_trial_steps(get_profile(base))
    return [{**candidate, "steps": steps} for candidate in SOLVER_CANDIDATES]


def run_solver_trials(loss: str, data: str | None, out: str | Path, base: str = "cpu",
                      classifier: str = "auto") -> list[dict]:
    """Every solver candidate of ``loss`` at ``base`` as a trial (:func:`run_trial`), in the order of
    :data:`~colorlib.profiles.SOLVER_CANDIDATES`."""
    return [run_trial(loss, data, out, base, overrides, classifier) for overrides in solver_candidates(base)]


def solver_key(trial: dict) -> tuple:
    """What identifies a solver candidate in a trial: its kind of decay and its learning rate."""
    settings = trial["profile_settings"]
    return settings["decay"], float(settings["lr"])


def choose_solver(trials: list[dict], loss: str, base: str) -> dict:
    """The rule (:data:`colorlib.profiles.SOLVER_CANDIDATES`): of the recorded solver trials of ``loss`` at
    ``base``, the one whose colorizations score the highest :data:`~colorlib.profiles.SOLVER_CRITERION` on the
    tune photos. Every candidate must have been run, at the trial steps, else a one-line error says which is
    missing."""
    steps = solver_trial_steps(get_profile(base))
    mine = {solver_key(t): t for t in trials if t["loss"] == loss and t["base"] == base
            and t["profile_settings"]["steps"] == steps}
    missing = [c for c in SOLVER_CANDIDATES if (c["decay"], float(c["lr"])) not in mine]
    if missing:
        raise ValueError(f"solver of {loss} at {base}: no trial of {missing[0]} at {steps} steps recorded")
    return max(mine.values(), key=lambda t: t["scores"][loss][SOLVER_CRITERION])


LENGTH_TRIALS = "length"  # the length trials of a runs folder: RUNS/tuning/length/trials.jsonl


def length_candidates(base: str) -> tuple[int, ...]:
    """The training lengths the length rule chooses from at ``base``, shortest first
    (:data:`colorlib.profiles.LENGTH_CANDIDATES`; the profile's own length where it names none)."""
    return tuple(sorted(LENGTH_CANDIDATES.get(base, (get_profile(base).steps,))))


def run_length_trials(loss: str, data: str | None, out: str | Path, base: str = "cpu",
                      classifier: str = "auto", overrides: dict | None = None) -> list[dict]:
    """The length trials of ``loss`` at ``base``: ONE run of the longest candidate on ``fit`` (with the loss's
    chosen solver, or ``overrides``: e.g. the seed's solver, to set beside a loss's model at the same length), its
    model kept at every shorter candidate; each of those models is set out as a trial of its own
    (``OUT/steps=N/LOSS``: the snapshot, the log up to step N, the run's config) and scored on ``tune``.
    Returns the records, shortest first."""
    *shorter, longest = length_candidates(base)
    overrides = dict(overrides or {})
    command = trial_command(loss, base, overrides, "--lengths")
    last = run_trial(loss, data, out, base, {**overrides, "steps": longest}, classifier, command, snapshots=tuple(shorter))
    run = Path(out) / trial_name(last["overrides"]) / loss
    records = []
    for steps in shorter:
        start = time.time()
        typed = {**{k: v for k, v in last["overrides"].items() if k != "steps"}, "steps": steps}
        set_out_snapshot(run, Path(out) / trial_name(typed) / loss, steps)
        record = score_trial(loss, data, out, base, typed, classifier, seconds=None)
        record["snapshot_of"] = {"steps": longest, "scoring_seconds": round(time.time() - start)}
        records.append(record_trial(record, out))
    return [*records, last]


def set_out_snapshot(run: Path, folder: Path, steps: int) -> None:
    """A run folder for the model ``run`` kept at ``steps``: that model as ``model.pt``, the log's first ``steps``
    rows, and the run's config with ``steps`` and ``snapshot_of`` (the run it comes from, and its length)."""
    from .runs import CONFIG, read_config
    from .train import snapshot_name

    source = run / snapshot_name(steps)
    if not source.is_file():
        raise FileNotFoundError(f"length trial: {source} is missing (was the run trained with this snapshot?)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FINAL).write_bytes(source.read_bytes())
    rows = (run / LOG).read_text(encoding="utf-8").splitlines()
    (folder / LOG).write_text("\n".join(rows[: steps + 1]) + "\n", encoding="utf-8")  # header + steps rows
    config = read_config(run)
    config["snapshot_of"] = {"out": config["out"], "steps": config["steps"]}
    config["steps"] = steps
    (folder / CONFIG).write_text(json.dumps(config, indent=1), encoding="utf-8")


def choose_length(trials: list[dict], loss: str, base: str) -> dict:
    """The length rule (:data:`colorlib.profiles.LENGTH_CANDIDATES`): of the recorded length trials of ``loss``
    at ``base``, the one whose colorizations score the highest :data:`~colorlib.profiles.SOLVER_CRITERION` on the
    tune photos, as recorded (two decimals); a tie goes to the shorter. Every candidate must have been scored,
    else a one-line error says which is missing."""
    mine = {t["profile_settings"]["steps"]: t for t in trials if t["loss"] == loss and t["base"] == base}
    missing = [n for n in length_candidates(base) if n not in mine]
    if missing:
        raise ValueError(f"length of {loss} at {base}: no trial of {missing[0]:,} steps recorded")
    return max((mine[n] for n in length_candidates(base)),
               key=lambda t: (t["scores"][loss][SOLVER_CRITERION], -t["profile_settings"]["steps"]))


def tuning_dir(runs: str | Path) -> Path:
    """Where the trials that chose the profile of the runs folder ``runs`` are recorded."""
    return Path(runs) / TUNING


def read_trials(out: str | Path) -> list[dict]:
    """Every trial recorded under ``out`` (empty if none)."""
    path = Path(out) / TRIALS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def trial_label(name: str, common: frozenset[str] = frozenset()) -> str:
    """A trial's name (``decay=coupled,lr=0.001``) for a table cell: without the settings in ``common`` (said
    once under the table), spaced after its commas, and free to break after each ``=``."""
    parts = [p for p in name.split(",") if p not in common]
    return ", ".join(parts).replace("=", "=<wbr>") if parts else "base"


def trials_markdown(trials: list[dict], chosen: dict[str, dict] | None = None, rule: str = "the rule's choice",
                    folder: Path | None = None) -> str:
    """Recorded trials as a Markdown table: the loss trained, the held-out loss, that loss's scores on the tune
    photos for every column of Table 1, and the training time. The trial each loss chose is in bold: ``chosen``
    ({loss: trial}, e.g. by :func:`choose_solver`; ``rule`` names it under the table), else the one with the lowest
    held-out loss. A setting that
    every trial shares is said once under the table instead of in every row. ``folder``: where the trials' runs are
    (:func:`trial_seconds`)."""
    from .evaluate import COLUMNS
    from .tables import markdown_table

    losses = dict.fromkeys(t["loss"] for t in trials)
    best = chosen or {loss: min((t for t in trials if t["loss"] == loss), key=lambda t: t["tune_loss"]) for loss in losses}
    common = frozenset.intersection(*(frozenset(t["trial"].split(",")) for t in trials)) - {"base"}
    shown = [c for c in COLUMNS if all(c.key in t["scores"][t["loss"]] for t in trials)]
    rows = []
    for t in trials:
        mark = "**" if t is best.get(t["loss"]) else ""
        rows.append([f"{mark}{trial_label(t['trial'], common)}{mark}", t["loss"], f"{t['tune_loss']:.4g}",
                     *(format(t["scores"][t["loss"]][c.key], c.fmt) for c in shown), trial_seconds(t, folder)])
    rule = rule if chosen else "the lowest held-out loss"
    verdicts = "; ".join(f"{loss}: **{trial_label(t['trial'], common).replace('<wbr>', '')}**" for loss, t in best.items())
    shared = f" Every trial here has {', '.join(sorted(common))}." if common else ""
    table = markdown_table(["trial", "loss", "held-out loss", *(c.header for c in shown), TRAIN_TIME], rows,
                           "ll" + "r" * (len(shown) + 2))
    return table + f"\n\nIn bold, {rule}: {verdicts}.{shared}"


def solver_table_markdown(trials: list[dict], base: str, folder: Path | None = None) -> str:
    """The solver trials of every loss at ``base`` as a Markdown table: each candidate's decay and rate, the
    criterion on the tune photos (the chosen candidate of each loss in bold), the loss's own held-out loss,
    how much its colorizations vary within a photo (Lab units), how far its training loss fell, and its time.
    Losses with an incomplete set of trials are left out (:func:`choose_solver` says why). ``folder``: where the
    trials' runs are (:func:`trial_seconds`)."""
    from .evaluate import COLUMN
    from .losses import LOSSES
    from .tables import markdown_table

    criterion = COLUMN[SOLVER_CRITERION]
    rows = []
    for loss in LOSSES:
        try:
            chosen = choose_solver(trials, loss, base)
        except ValueError:
            continue
        steps = chosen["profile_settings"]["steps"]
        mine = sorted((t for t in trials if t["loss"] == loss and t["base"] == base
                       and t["profile_settings"]["steps"] == steps), key=solver_key)
        for t in mine:
            value = f"{t['scores'][loss][SOLVER_CRITERION]:.2f}"  # as recorded: the candidates are close
            value = f"**{value}** (chosen)" if t is chosen else value
            spread = f"{t['tune_spread']['within']:.1f}" if "tune_spread" in t else "–"
            fall = f"{100 * t['loss_fall']['change']:+.1f}%" if "loss_fall" in t else "–"
            decay, lr = solver_key(t)
            rows.append([loss, decay, f"{lr:g}", value, f"{t['tune_loss']:.4g}", spread, fall, trial_seconds(t, folder)])
    return markdown_table(["loss", "decay", "learning rate", f"{criterion.header} (criterion)", "own held-out loss",
                           "ab spread within a photo (Lab units)", "training loss, last fifth vs first", TRAIN_TIME],
                          rows, "llrrrrrr")


# --- one-off trials beside a committed model (appendix A.12, A.13) ---------------------------------------------------
BESIDE_KEYS = ("auc_raw", "auc_rebal", "auc_classbal", "top1", "colorfulness", "warm_cool")  # the columns recorded


def score_beside(trials: dict[str, tuple[Path, dict]], out: Path, sets: list[tuple[str, str]],
                 profile: str, loss: str = "full-soft", cache: str | None = "scores") -> list[dict]:
    """Score trial models beside the committed one, alike: each of ``sets`` ((data set under ``../shared/datasets``,
    split), the first first), the committed model's prior for the rebalanced AuC, a paired 95% bootstrap interval of
    every difference. ``trials``: name -> (a runs folder holding ``loss``, the fields that identify its record); the
    one named ``committed`` is the committed model, whose prior and scores the others are read against. Records (``scores`` and, for a trial, ``minus_committed``: [difference, low, high] per column of
    :data:`BESIDE_KEYS`) are appended to ``out``'s trials file one by one, so that an interrupted run keeps what it scored and
    a second run scores only what is missing. Returns every record of the file."""
    from .evaluate import combine, evaluate
    from .paths import SHARED_DATASETS

    committed = trials["committed"][0]
    records = read_trials(out)

    def key(photos: str, split: str, fields: dict) -> tuple:
        return (photos, split, *sorted(fields.items()))

    done = {key(r["photos"], r["split"], {k: r[k] for k in trials[name][1]}) for r in records
            for name in trials if all(k in r for k in trials[name][1])}
    for photos, split in sets:
        todo = {name: (runs, fields) for name, (runs, fields) in trials.items() if key(photos, split, fields) not in done}
        if not todo:
            continue
        evs = {name: evaluate(runs, data=SHARED_DATASETS / photos, profile=profile, prior_of=committed, losses=[loss],
                              split=split, cache=cache)
               for name, (runs, _) in {"committed": trials["committed"], **todo}.items()}
        both = combine(evs)
        for name, (_, fields) in todo.items():
            row = next(x for x in evs[name].rows if x["method"] == loss)
            record = {"photos": photos, "split": split, "count": len(evs[name].eval_set.L), **fields,
                      "scores": {k: round(float(row[k]), 2) for k in BESIDE_KEYS}}
            if name != "committed":
                record["minus_committed"] = {
                    k: [round(d["difference"], 2), round(d["low"], 2), round(d["high"], 2)]
                    for k in BESIDE_KEYS for d in [both.compare(f"{name} {loss}", f"committed {loss}", k)]}
            records.append(record)
            with (Path(out) / TRIALS).open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            print(json.dumps(record), flush=True)
    return records
