"""How far one hint reaches, by the loss the spread trained with (appendix A.9): the book's spread (the `psnr` loss)
and one trained with `full-soft`'s rebalanced cross-entropy, otherwise alike, on nips17-dev's validation photos.

    python results/cpu-hints-nips17-dev/tuning/reach/score.py BOOK_MODEL FULL_SOFT_MODEL   # from the repository root

Appends one record per spread to trials.jsonl beside this file: the share of a photo where one random 6×6 hint
outweighs the model's own colour (hint weight above ½, averaged over the photos), and the PSNR and rebalanced-AuC
curve of chapter 10 (the same random hints, colorlib.hints.hint_curves)."""

import json
import sys
from pathlib import Path

from colorlib.evaluate import load_eval_set
from colorlib.hints import HINT_COUNTS, hint_curves, one_hint_reach
from colorlib.metrics import inverse_prior_weights
from colorlib.profiles import get_profile
from colorlib.runs import load_model

PHOTOS = "../shared/datasets/nips17-dev"
val = load_eval_set(PHOTOS, get_profile("cpu-hints").eval_size)
out = Path(__file__).parent / "trials.jsonl"
for path in sys.argv[1:]:
    model, info = load_model(path)
    weights = inverse_prior_weights(info["prior"].double().numpy())
    share = one_hint_reach(model, model.spread, val.L, val.ab)
    curve = hint_curves(model, {"spread": model.spread}, val.L, val.ab, weights=weights)["spread"]
    config = json.loads((Path(path).parent / "config.json").read_text())
    record = {"loss": config["loss"], "steps": config["steps"], "trained_on": Path(config["data"]).name,
              "photos": len(val.L), "split": val.split, "one_hint_share": round(float(share), 4),
              "counts": list(HINT_COUNTS), "psnr": [round(float(x), 3) for x in curve["psnr"].mean(0)],
              "auc_rebal": [round(float(x), 2) for x in curve["auc_rebal"]]}
    with out.open("a") as f:
        f.write(json.dumps(record) + "\n")
    print(record)
