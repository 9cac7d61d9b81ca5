"""Reading a results table (chapters 6–8): which method wins each column and by how much, where the trained
models stand against the baselines, and how the seed's claims moved between two sets of models. Each function
returns numbers with their paired intervals; the chapters turn them into sentences, so that every number a
sentence states is computed by the build.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from .evaluate import BASELINES, COLUMN, Evaluation
from .paths import data_name
from .tables import paired

PREVIOUS = "previous"  # RUNS/previous/evaluation.json: the models these replaced, scored by `colorlib evaluate`


def run_settings(config: dict) -> dict:
    """What distinguishes one committed run from another, from its ``config.json``: the training photos (the
    data set's name and how many), the solver and the length (the fields of ``RUNS/previous/configs.json``)."""
    settings = config["profile_settings"]
    return {"data": data_name(config.get("data")), "train_images": config.get("train_images"),
            "decay": settings["decay"], "lr": float(settings["lr"]), "steps": int(config["steps"])}


def what_changed(before: dict[str, dict], runs: str | Path, then: str = "the previous models",
                 now_label: str = "the retrained ones", tags: tuple[str, str] = ("then", "now")) -> str:
    """A sentence naming what differs between the previous models' settings (``before``: {loss: the fields of
    :func:`run_settings`}, those recorded being enough) and the runs under ``runs``, field by field; ``then`` and
    ``now_label`` name the two sets of models in it, ``tags`` follow each one's setting ("coupled then")."""
    from .runs import find_runs, read_config

    now = {loss: run_settings(read_config(Path(path).parent)) for loss, path in find_runs(runs).items()}
    shared = [loss for loss in now if loss in before]
    if not shared:
        return ""  # no loss trained in both sets: nothing to compare
    data_now = {now[loss]["data"] for loss in shared}
    data_then = {before[loss].get("data") for loss in shared} - {None}
    photos = ""
    if data_then and data_then != data_now:
        count = {now[loss]["train_images"] for loss in shared}
        count_then = {before[loss].get("train_images") for loss in shared} - {None}
        photos = (f"{then} trained on {' and '.join(sorted(data_then))}"
                  + (f" ({', '.join(f'{n:,}' for n in sorted(count_then))} photos)" if count_then else "")
                  + f", {now_label} on {' and '.join(sorted(data_now))}"
                  + (f" ({', '.join(f'{n:,}' for n in sorted(count))} photos)" if None not in count else ""))
    chosen = []
    for field, word in (("decay", "way of applying weight decay"), ("lr", "learning rate"), ("steps", "length")):
        shown = {"decay": str, "lr": lambda x: f"{x:g}", "steps": lambda x: f"{x:,} steps"}[field]
        moved = [f"`{loss}` ({shown(before[loss][field])} {tags[0]}, {shown(now[loss][field])} {tags[1]})"
                 for loss in shared if field in before[loss] and before[loss][field] != now[loss][field]]
        if moved:
            chosen.append(f"another {word} for " + listing(moved))
    if not photos and not chosen:
        return f"The settings of {then} were those of {now_label}."
    rules = ("the rules of chapter 5 chose " + listing(chosen) + "; ") if chosen else ""
    text = (f"{photos}; besides the photos, {rules}" if photos else rules) + "every other setting is the same."
    return text[0].upper() + text[1:]


def run_differences(config: dict, other: dict) -> list[str]:
    """What separates the training of two runs besides their loss and λ, from their ``config.json`` files: the
    training photos, the solver, the steps, and the length the learning-rate schedule was planned for (a model kept
    part-way through a longer run has ``snapshot_of``). Phrases reading "this against the other"; [] if nothing."""
    a, b = run_settings(config), run_settings(other)
    planned = [c.get("snapshot_of", {}).get("steps", c["steps"]) for c in (config, other)]
    found = []
    if (a["data"], a["train_images"]) != (b["data"], b["train_images"]):
        found.append(f"its training photos ({a['train_images']:,} of {a['data']} against {b['train_images']:,} of {b['data']})")
    if (a["decay"], a["lr"]) != (b["decay"], b["lr"]):
        found.append(f"its solver ({a['decay']} decay at {a['lr']:g} against {b['decay']} at {b['lr']:g})")
    if a["steps"] != b["steps"]:
        found.append(f"its steps ({a['steps']:,} against {b['steps']:,})")
    if planned[0] != planned[1]:
        found.append(f"the length its learning-rate schedule was planned for ({planned[0]:,} against {planned[1]:,} steps)")
    return found


def winner(evaluation: Evaluation, methods: list[str], key: str) -> dict:
    """The best of ``methods`` on column ``key`` (higher is better), the runner-up, and the paired difference
    of the two with its 95% interval (:meth:`Evaluation.compare`)."""
    by = {r["method"]: r for r in evaluation.rows}
    ranked = sorted((m for m in methods if m in by), key=lambda m: by[m][key], reverse=True)
    if len(ranked) < 2:
        return {"key": key, "best": ranked[0] if ranked else None}
    paired = evaluation.compare(ranked[0], ranked[1], key)
    return {"key": key, "best": ranked[0], "value": by[ranked[0]][key], "second": ranked[1],
            "second_value": by[ranked[1]][key], "difference": paired["difference"], "low": paired["low"],
            "high": paired["high"], "separated": paired["low"] > 0}


def against(evaluation: Evaluation, methods: list[str], baseline: str, key: str) -> list[dict]:
    """Each of ``methods`` minus ``baseline`` on column ``key``, with the paired 95% interval."""
    known = {r["method"] for r in evaluation.rows}
    return [evaluation.compare(m, baseline, key) for m in methods if m in known and baseline in known]


def trained_methods(evaluation: Evaluation) -> list[str]:
    """The rows of ``evaluation`` that are trained models (not the baselines), in table order."""
    return [r["method"] for r in evaluation.rows if r["method"] not in BASELINES]


def interval(d: dict, fmt: str = "+.1f") -> str:
    """``+1.2 [+0.3, +2.1]``: a paired difference with its interval, in running text."""
    return paired(d, fmt, small=False)


def column_name(key: str) -> str:
    return COLUMN[key].header


def previous_verdicts(runs: str | Path) -> dict | None:
    """The claims checked on the models that the runs under ``runs`` replaced (``RUNS/previous/evaluation.json``,
    written by ``colorlib evaluate --claims --json``) as ``{claim text: verdict}``, their table rows, and their
    solvers and lengths ({loss: {"decay", "lr", "steps"}}, ``RUNS/previous/configs.json``); None when no such
    record exists."""
    path = Path(runs) / PREVIOUS / "evaluation.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    configs = path.with_name("configs.json")
    solvers = json.loads(configs.read_text(encoding="utf-8")) if configs.is_file() else {}
    return {"verdicts": {c["claim"]: c["verdict"] for c in record.get("claims", [])},
            "claims": record.get("claims", []), "rows": record["rows"], "path": path, "solvers": solvers}


def changed_verdicts(checked: list[dict], before: dict | None) -> list[tuple[dict, str]]:
    """The claims of ``checked`` (:func:`~colorlib.claims.check_claims`) whose verdict differs from the one
    recorded for the previous models (``before``: :func:`previous_verdicts`), each with its old verdict."""
    if before is None:
        return []
    return [(c, before["verdicts"][c["claim"]]) for c in checked
            if c["claim"] in before["verdicts"] and before["verdicts"][c["claim"]] != c["verdict"]]


READ_COLUMNS = ("auc_raw", "auc_rebal", "top1", "colorfulness")  # the columns with intervals


def reading_markdown(evaluation: Evaluation, methods: list[str]) -> str:
    """A reading of a results table as Markdown bullets, every number computed: the best of ``methods`` in
    each column with its margin over the runner-up (paired interval), and where they stand against gray (top-1,
    raw AuC) and random (rebalanced AuC)."""
    by = {r["method"]: r for r in evaluation.rows}
    lines = []
    for key in READ_COLUMNS:
        w = winner(evaluation, methods, key)
        if w.get("second") is None:
            continue
        verdict = "the interval excludes 0" if w["separated"] else "the interval includes 0: no clear winner"
        lines.append(f"* **{column_name(key)}**: `{w['best']}` ({w['value']:.1f}), ahead of `{w['second']}` by "
                     f"{interval(w)} ({verdict}).")
    present = [m for m in methods if m in by]
    for baseline, key in (("gray", "top1"), ("gray", "auc_raw"), ("random", "auc_rebal")):
        diffs = against(evaluation, present, baseline, key)
        if not diffs:
            continue
        below, above = sum(d["high"] < 0 for d in diffs), [d["a"] for d in diffs if d["low"] > 0]
        lines.append(f"* **Against {baseline}, {column_name(key)}**: {baseline} scores {by[baseline][key]:.1f}, the trained "
                     f"models {min(by[m][key] for m in present):.1f}–{max(by[m][key] for m in present):.1f}; "
                     f"counting only paired intervals that exclude 0, {count_phrase(len(above))} of the {len(diffs)} "
                     + ("is" if len(above) <= 1 else "are") + " above it"
                     + (f" ({', '.join(f'`{m}`' for m in above)})" if above else "")
                     + f" and {count_phrase(below)} below it: "
                     + "; ".join(f"`{d['a']}` {interval(d)}" for d in diffs) + ".")
    return "\n".join(lines)


def listing(items: Sequence[str]) -> str:
    """Items as a sentence lists them: "a", "a and b", "a, b and c"."""
    items = list(items)
    return " and ".join(items) if len(items) <= 2 else ", ".join(items[:-1]) + " and " + items[-1]


def count_phrase(n: int) -> str:
    """``n`` as a count in a sentence: "none" for 0."""
    return "none" if n == 0 else f"{n}"


DECIDED = ("holds", "reversed")  # a claim's verdict when its paired interval excludes 0 (colorlib.claims.verdict)


def verdicts_on_more_photos(few: list[dict], many: list[dict]) -> dict:
    """How the seed's claims read on more photos: ``few`` and ``many`` are :func:`colorlib.claims.check_claims`
    of the same models on two photo sets. Returns the claims decided on ``many`` but not on ``few``, those decided
    on ``few`` but not on ``many``, those decided both ways with opposite verdicts, the median ratio of the
    intervals' widths (many / few) and a sentence saying so."""
    pairs = [(a, b) for a, b in zip(few, many, strict=True) if "difference" in a and "difference" in b]
    decided = [(a, b) for a, b in pairs if a["verdict"] not in DECIDED and b["verdict"] in DECIDED]
    lost = [(a, b) for a, b in pairs if a["verdict"] in DECIDED and b["verdict"] not in DECIDED]
    flipped = [(a, b) for a, b in pairs if {a["verdict"], b["verdict"]} == set(DECIDED)]
    ratios = sorted((b["high"] - b["low"]) / (a["high"] - a["low"]) for a, b in pairs if a["high"] > a["low"])
    median = ratios[len(ratios) // 2] if ratios else float("nan")
    count = {name: sum(c["verdict"] in DECIDED for c in checked) for name, checked in (("few", few), ("many", many))}

    def listed(items: list[tuple[dict, dict]]) -> str:
        return "; ".join(f"{b['claim']} ({a['verdict']} → **{b['verdict']}**)" for a, b in items)

    text = (f"On the larger set the paired intervals are {median:.2f} times as wide as on the smaller one (the median "
            f"over the claims), and {count['many']} of {len(many)} claims are decided (held or reversed) against "
            f"{count['few']} before.")
    if decided:
        text += f" Decided only with more photos: {listed(decided)}."
    if lost:
        text += f" Decided on the smaller set only: {listed(lost)}."
    text += (f" Opposite verdicts on the two sets: {listed(flipped)}; the two sets differ in their photos, not only "
             "in how many there are." if flipped else " No claim is decided one way on one set and the other way on the other.")
    return {"decided": decided, "lost": lost, "flipped": flipped, "width_ratio": median, "text": text}


def unseen_classes(labels, train_data: str | Path | None, shown_data: str | Path | None) -> str:
    """A sentence saying how many of the scored photos (ImageNet ``labels``, one per photo, -1 if unknown) show a class
    the training photos show (:func:`colorlib.data.photo_classes` of ``train_data``); "" when the book shows and
    trains on the same data set, or the training photos carry no labels."""
    from .data import photo_classes

    classes = photo_classes(train_data)
    if not classes or data_name(train_data) == data_name(shown_data):
        return ""
    seen = sum(int(label) in classes for label in labels)
    return (f"These validation photos come from {data_name(shown_data)}, a different data set from the training photos "
            f"({data_name(train_data)}): {seen} of the {len(labels)} are of the {len(classes)} ImageNet classes the "
            f"training photos show, the other "
            f"{len(labels) - seen} of classes no training photo shows"
            + (": most of what the network colours here it knows only from other things." if 2 * seen < len(labels)
               else "."))
