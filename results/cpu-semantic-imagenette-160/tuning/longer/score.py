"""Score the semantic full-soft trained on a 3,000-step schedule (kept at 1,000, 1,500, 2,000 and 3,000 steps)
beside the committed one (a 1,500-step schedule kept at 1,000), alike: the committed model's prior for the
rebalanced AuC, the tune photos of Imagenette (the rules' photos) and nips17-dev's validation photos (the book's),
paired 95% bootstrap intervals of each difference. Writes trials.jsonl beside it.

    python score.py RUN COMMITTED OUT   # RUN: the 3,000-step run folder (OUT/full-soft of colorlib train)
"""
import json
import shutil
import sys
from pathlib import Path

from colorlib.evaluate import combine, evaluate
from colorlib.tune import set_out_snapshot

KEYS = ("auc_raw", "auc_rebal", "auc_classbal", "top1", "colorfulness", "warm_cool")
STEPS = (1000, 1500, 2000, 3000)
run, committed, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
models = {"committed": out / "committed"}
if not (models["committed"] / "full-soft").exists():
    shutil.copytree(committed / "full-soft", models["committed"] / "full-soft")
for step in STEPS:
    folder = out / f"steps={step}"
    if not (folder / "full-soft" / "model.pt").exists():
        if step == max(STEPS):
            shutil.copytree(run, folder / "full-soft")
        else:
            set_out_snapshot(run, folder / "full-soft", step)
    models[f"steps={step}"] = folder
SETS = [("nips17-dev", "val"), ("imagenette-160", "tune")]
out_file = out / "trials.jsonl"
records = [json.loads(line) for line in out_file.read_text().splitlines()] if out_file.is_file() else []
done = {(r["photos"], r["split"], r["schedule"], r["steps"]) for r in records}


def key_of(photos, split, name):
    return (photos, split, 1500, 1000) if name == "committed" else (photos, split, 3000, int(name.split("=")[1]))


for photos, split in SETS:
    evs = {}
    for name, runs in models.items():
        if name != "committed" and key_of(photos, split, name) in done:
            continue  # scored by an earlier, interrupted run of this script
        evs[name] = evaluate(runs, data=f"../shared/datasets/{photos}", profile="cpu-semantic", prior_of=committed,
                             losses=["full-soft"], split=split, cache="scores")
    both = combine(evs)
    for name, ev in evs.items():
        if key_of(photos, split, name) in done:
            continue
        row = next(x for x in ev.rows if x["method"] == "full-soft")
        record = {"photos": photos, "split": split, "count": len(ev.eval_set.L), "schedule": 1500 if name == "committed" else 3000,
                  "steps": 1000 if name == "committed" else int(name.split("=")[1]),
                  "scores": {k: round(float(row[k]), 2) for k in KEYS}}
        if name != "committed":
            d = {k: both.compare(f"{name} full-soft", "committed full-soft", k) for k in KEYS}
            record["minus_committed"] = {k: [round(v["difference"], 2), round(v["low"], 2), round(v["high"], 2)] for k, v in d.items()}
        records.append(record)
        with out_file.open("a") as f:  # record by record: an interrupted run keeps what it scored
            f.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)
