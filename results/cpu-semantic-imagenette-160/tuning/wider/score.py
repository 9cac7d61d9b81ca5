"""Score the semantic full-soft with a decoder twice as wide (width 0.5: 128 channels), trained on the book model's
1,500-step schedule and kept at 1,000 and 1,500 steps, beside the book's model (64 channels, kept at 1,000) with
colorlib.tune.score_beside: nips17-dev's validation photos (the book's) first, then Imagenette's tune photos (the
rules' photos). Writes trials.jsonl in OUT, record by record.

    python score.py RUN COMMITTED OUT   # RUN: the width=0.5 run folder (OUT/full-soft of colorlib train)
"""
import shutil
import sys
from pathlib import Path

from colorlib.tune import score_beside, set_out_snapshot

run, committed, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
trials = {"committed": (committed, {"width": 0.25, "schedule": 1500, "steps": 1000})}
for steps in (1000, 1500):
    folder = out / f"width=0.5,steps={steps}"
    if not (folder / "full-soft" / "model.pt").exists():
        if steps == 1500:  # the run's last model
            shutil.copytree(run, folder / "full-soft")
        else:
            set_out_snapshot(run, folder / "full-soft", steps)
    trials[f"width=0.5,steps={steps}"] = (folder, {"width": 0.5, "schedule": 1500, "steps": steps})
score_beside(trials, out, [("nips17-dev", "val"), ("imagenette-160", "tune")], "cpu-semantic")
