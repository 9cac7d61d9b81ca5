"""The committed models (results/): every one of them learned (issue: a fair comparison needs no baseline that
learned nothing), and the one kept under the seed's solver is labelled as such."""

import pytest

from colorlib.evaluate import LEARNED_FALL, LEARNED_SPREAD, decoder_for, load_eval_set, predict
from colorlib.metrics import ab_spread
from colorlib.paths import RESULTS
from colorlib.runs import (
    FINAL,
    find_runs,
    load_model,
    loss_fall,
    read_config,
    read_log,
    run_eval_size,
    seed_solver_runs,
)

COMMITTED = [RESULTS / "cpu-nips17-dev", RESULTS / "cpu-semantic-nips17-dev"]
# The one committed model that misses the spread check: the from-scratch `class` (no rebalancing) learned by its
# loss (-19% from the first 100 steps to the last) but paints nearly gray, its ab varying by 1.4 Lab units within
# a photo (the bound is 2). Chapter 5's evidence table says so, and chapter 6 scores it as it is; this bound
# keeps it from getting flatter unnoticed.
NEAR_GRAY = {("cpu-nips17-dev", "class"): 1.2}
# profile fields that never reach a training run (benchmarks, the book's figures)
NOT_TRAINING = {"bench_photos", "bench_repeats", "knob_frames", "browse_photos", "eval_limit"}


@pytest.fixture(scope="module")
def val_photos(nips17):
    # the first 64 validation photos: chapter 5 shows the spread over all of them; 64 keep CI inside its budget
    return {size: load_eval_set(str(nips17), size, limit=64) for size in (128,)}


@pytest.mark.parametrize("folder", COMMITTED, ids=lambda p: p.name)
def test_every_committed_model_learned(folder, val_photos):
    runs = find_runs(folder)
    assert len(runs) == 4, folder
    for loss, path in runs.items():
        model, info = load_model(path)
        fall = loss_fall(read_log(path.parent))
        assert fall["change"] <= LEARNED_FALL, (folder.name, loss, fall)
        val = val_photos[run_eval_size(info)]
        spread = ab_spread(predict(model, decoder_for(loss), val.L))
        if (folder.name, loss) in NEAR_GRAY:  # reported, not hidden: its loss fell, its colours hardly vary
            assert spread["within"] > NEAR_GRAY[folder.name, loss], (folder.name, loss, spread)
            continue
        assert spread["within"] > LEARNED_SPREAD, (folder.name, loss, spread)
        assert (path.stat().st_size < 10 * 2**20) and all(v.dtype.is_floating_point is False or v.dtype.itemsize == 2
                                                           for v in info["model"].values())  # fp16, under 10 MB


def test_the_seed_solver_run_is_labelled_and_kept_as_the_seed_trained_it():
    from colorlib.profiles import SEED_SOLVER

    folder = seed_solver_runs(RESULTS / "cpu-nips17-dev")
    assert list(find_runs(folder)) == ["l2"]
    config = read_config(folder / "l2")
    assert {k: config["profile_settings"][k] for k in SEED_SOLVER} == SEED_SOLVER
    # every other setting is the retrained l2's: the two rows differ by the solver alone
    retrained = read_config(RESULTS / "cpu-nips17-dev" / "l2")["profile_settings"]
    differ = {k for k in retrained if retrained[k] != config["profile_settings"].get(k, retrained[k])} - NOT_TRAINING
    assert differ <= set(SEED_SOLVER), differ
    assert (folder / "l2" / FINAL).is_file()


@pytest.mark.parametrize("profile", ["cpu", "cpu-semantic"])
def test_the_readme_cost_table_is_the_committed_logs(profile):
    """The README's training cost per loss (seconds from the first to the last logged step, mean images/s)."""
    from colorlib.paths import REPO

    logs = [read_log(path.parent) for path in find_runs(RESULTS / f"{profile}-nips17-dev").values()]
    seconds = [round(log[-1]["seconds"] - log[0]["seconds"]) for log in logs]
    rates = [round(sum(r["images_per_s"] for r in log) / len(log)) for log in logs]
    row = next(line for line in (REPO / "README.md").read_text().splitlines() if line.startswith(f"| `{profile}` |"))
    assert f"{min(seconds):,}–{max(seconds):,} s" in row and f"{min(rates)}–{max(rates)} images/s" in row, (seconds, rates)
    assert f"{round(sum(seconds) / 60)} min for the four" in row
