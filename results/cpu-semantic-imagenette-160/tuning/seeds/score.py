"""How much does one training run's score move with its random seed alone? The semantic full-soft exactly as the book
model (random seed 0) but with seeds 1 and 2, each kept at 1,000 steps of the 1,500-step schedule, scored beside the
book's model with colorlib.tune.score_beside: nips17-dev's validation photos (the book's) first, then Imagenette's tune
photos (the rules' photos). Writes trials.jsonl in OUT, record by record.

    python score.py RUNS COMMITTED OUT   # RUNS: the folder holding seed=1/full-soft and seed=2/full-soft
"""
import sys
from pathlib import Path

from colorlib.tune import score_beside, set_out_snapshot

runs, committed, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
trials = {"committed": (committed, {"seed": 0, "schedule": 1500, "steps": 1000})}
for seed in (1, 2):
    folder = out / f"seed={seed},steps=1000"
    if not (folder / "full-soft" / "model.pt").exists():
        set_out_snapshot(runs / f"seed={seed}" / "full-soft", folder / "full-soft", 1000)
    trials[f"seed={seed},steps=1000"] = (folder, {"seed": seed, "schedule": 1500, "steps": 1000})
score_beside(trials, out, [("nips17-dev", "val"), ("imagenette-160", "tune")], "cpu-semantic")
