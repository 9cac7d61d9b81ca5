"""Score the semantic full-soft whose encoder's last six blocks (all of its stride-32 stage) trained with the decoder,
on the book model's 1,500-step schedule and kept at 1,000 steps (the book model's length), beside the book's model
(encoder frozen) with colorlib.tune.score_beside: nips17-dev's validation photos (the book's) first, then
Imagenette's tune photos (the rules' photos). Writes trials.jsonl in OUT, record by record.

    python score.py RUN COMMITTED OUT   # RUN: the encoder_blocks=6 run folder (OUT/full-soft of colorlib train)
"""
import sys
from pathlib import Path

from colorlib.tune import score_beside, set_out_snapshot

run, committed, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
folder = out / "encoder_blocks=6,steps=1000"
if not (folder / "full-soft" / "model.pt").exists():
    set_out_snapshot(run, folder / "full-soft", 1000)
trials = {"committed": (committed, {"encoder_blocks": 0, "schedule": 1500, "steps": 1000}),
          "encoder_blocks=6,steps=1000": (folder, {"encoder_blocks": 6, "schedule": 1500, "steps": 1000})}
score_beside(trials, out, [("nips17-dev", "val"), ("imagenette-160", "tune")], "cpu-semantic")
