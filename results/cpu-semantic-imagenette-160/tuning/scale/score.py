"""Does the semantic encoder recognise more when the photo is shown to it enlarged, and does the colorizer then paint
warm pixels cool less often? Writes, in OUT:

* recognition.json: EfficientNet-Lite2's top-1 (its own ImageNet head) on gray photos at 128, 192 and 256 px (enlarged
  from the 128 px evaluation crop), on nips17-dev's validation photos (and in their true colours) and Imagenette's tune
  photos (colorlib.semantic.recognised);
* trials.jsonl: the semantic full-soft trained with encoder_scale=2 (the encoder sees 256 px), kept at 1,000 steps of
  the book model's 1,500-step schedule, scored beside the book's model with colorlib.tune.score_beside.

    python score.py RUN COMMITTED OUT   # RUN: the encoder_scale=2 run folder (OUT/full-soft of colorlib train)
"""
import json
import sys
from pathlib import Path

from colorlib.evaluate import load_eval_set
from colorlib.paths import SHARED_DATASETS
from colorlib.semantic import recognised
from colorlib.tune import score_beside, set_out_snapshot

run, committed, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
SIZES = (128, 192, 256)
if not (out / "recognition.json").exists():
    records = []
    for photos, split, colours in (("nips17-dev", "val", (False, True)), ("imagenette-160", "tune", (False,))):
        photo_set = load_eval_set(str(SHARED_DATASETS / photos), 128, split=split)
        for colour in colours:
            shares = recognised("lite2", photo_set.L, photo_set.labels, SIZES, photo_set.ab if colour else None)
            records.append({"photos": photos, "split": split, "count": int((photo_set.labels >= 0).sum()),
                            "shown": "colour" if colour else "gray", "top1": {str(s): round(v, 2) for s, v in shares.items()}})
            print(json.dumps(records[-1]), flush=True)
    (out / "recognition.json").write_text(json.dumps(records, indent=1) + "\n")
folder = out / "encoder_scale=2,steps=1000"
if not (folder / "full-soft" / "model.pt").exists():
    set_out_snapshot(run, folder / "full-soft", 1000)
trials = {"committed": (committed, {"encoder_scale": 1, "schedule": 1500, "steps": 1000}),
          "encoder_scale=2,steps=1000": (folder, {"encoder_scale": 2, "schedule": 1500, "steps": 1000})}
score_beside(trials, out, [("nips17-dev", "val"), ("imagenette-160", "tune")], "cpu-semantic")
