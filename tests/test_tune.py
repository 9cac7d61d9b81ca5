import json
import subprocess
import sys

import pytest

from colorlib.data import find_images, in_split
from colorlib.profiles import get_profile, with_overrides
from colorlib.runs import load_checkpoint
from colorlib.tune import read_trials, run_trial


def test_overrides_convert_types_and_refuse_other_fields():
    p = with_overrides(get_profile("cpu"), {"lr": "3e-4", "crop": "128"})
    assert (p.lr, p.crop, p.width) == (3e-4, 128, get_profile("cpu").width)
    with pytest.raises(ValueError, match="cannot tune 'checkpoint_every'"):
        with_overrides(get_profile("cpu"), {"checkpoint_every": 4})
    with pytest.raises(ValueError, match="precision='fp8'; allowed: auto, bf16, fp16, fp32"):
        with_overrides(get_profile("cpu"), {"precision": "fp8"})
    assert with_overrides(get_profile("gpu"), {"data_mode": "stream", "workers": "2"}).workers == 2
    with pytest.raises(ValueError, match="lr='fast' is not a valid float"):
        with_overrides(get_profile("cpu"), {"lr": "fast"})


def test_a_trial_trains_on_fit_and_scores_tune(photo_folder, tmp_path):
    tune = [p for p in find_images(photo_folder) if in_split(p, "tune")]
    result = run_trial("full-soft", str(photo_folder), tmp_path, base="smoke", overrides={"lr": "3e-4", "steps": 3},
                       classifier="efficientnet")
    assert result["trial"] == "lr=0.0003,steps=3" and result["overrides"] == {"lr": 3e-4, "steps": 3} and result["tune_photos"] == len(tune) >= 1
    assert result["tune_loss"] > 0 and set(result["scores"]) == {"ground-truth", "gray", "random", "full-soft"}
    cfg = load_checkpoint(tmp_path / result["trial"] / "full-soft" / "model.pt")["config"]
    assert cfg["split"] == "fit" and cfg["profile_settings"]["lr"] == 3e-4 and cfg["steps"] == 3
    assert read_trials(tmp_path) == [json.loads(json.dumps(result))]


def test_cli_rejects_a_bad_override_before_any_work(tmp_path):
    run = subprocess.run([sys.executable, "-m", "colorlib", "tune", "--loss", "class", "--base", "smoke",
                          "--set", "momentum=0.5", "--out", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.strip().splitlines() == [
        "colorlib tune: error: override: cannot tune 'momentum'; allowed: " + ", ".join(
            ("width", "crop", "eval_size", "batch", "steps", "lr", "lr_final", "weight_decay", "schedule", "decay", "arch",
             "encoder", "encoder_blocks", "encoder_scale", "precision", "memory_format", "data_mode", "workers"))]
    assert not any(tmp_path.iterdir())


def _record(loss, decay, lr, criterion, base="cpu"):
    from colorlib.profiles import get_profile, solver_trial_steps

    settings = {**get_profile(base).as_dict(), "decay": decay, "lr": lr, "steps": solver_trial_steps(get_profile(base))}
    return {"loss": loss, "base": base, "profile_settings": settings, "tune_loss": 1.0, "trial": f"{decay},{lr}",
            "scores": {loss: {"auc_classbal": criterion}}}


def test_the_solver_rule_takes_the_highest_criterion_and_needs_every_candidate():
    from colorlib.profiles import SOLVER_CANDIDATES
    from colorlib.tune import choose_solver

    trials = [_record("l2", c["decay"], c["lr"], 60.0 + i) for i, c in enumerate(SOLVER_CANDIDATES)]
    assert choose_solver(trials, "l2", "cpu") is trials[-1]
    trials[-1]["profile_settings"]["steps"] = 7  # a trial of another length does not count
    with pytest.raises(ValueError, match="no trial of"):
        choose_solver(trials, "l2", "cpu")


def test_each_loss_trains_with_the_solver_the_rule_chose_from_the_records():
    """colorlib.profiles.SOLVERS is what choose_solver picks from the committed trials, and the committed models
    were trained with it."""
    from colorlib.losses import LOSSES
    from colorlib.paths import committed_runs
    from colorlib.profiles import SOLVERS, for_loss
    from colorlib.runs import read_config
    from colorlib.tune import SOLVER_TRIALS, choose_solver, tuning_dir

    for base in ("cpu", "cpu-semantic"):
        runs = committed_runs(base)
        trials = read_trials(tuning_dir(runs) / SOLVER_TRIALS)
        for loss in LOSSES:
            best = choose_solver(trials, loss, base)["profile_settings"]
            assert SOLVERS[base][loss] == {"decay": best["decay"], "lr": best["lr"]}, (base, loss)
            config = read_config(runs / loss)
            trained = dict(config["profile_settings"])
            now = for_loss(get_profile(base), loss).as_dict()
            if "snapshot_of" in config:  # a length trial's model kept part-way: its run was planned longer
                assert trained["steps"] == config["snapshot_of"]["steps"] > config["steps"] == now["steps"], (base, loss)
                trained["steps"] = config["steps"]
            # runs trained before the profile named its training data recorded every other field
            assert {k: now[k] for k in trained} == {**trained, "name": base}, (base, loss)
            assert set(now) - set(trained) <= {"train_on", "train_limit", "encoder_blocks", "encoder_scale"}, (base, loss)
            # added later; their defaults are how they trained: a frozen encoder shown the photo at its own size
            assert now["encoder_blocks"] == 0 and now["encoder_scale"] == 1


def test_length_trials_score_one_run_kept_at_each_candidate(photo_folder, tmp_path, monkeypatch):
    """One run of the longest candidate; its model at each shorter one is set out as a trial of its own,
    scored on the tune photos, and is what that run's weights were at that step."""
    import torch

    from colorlib import profiles, tune

    monkeypatch.setitem(profiles.LENGTH_CANDIDATES, "smoke", (6, 3))
    records = tune.run_length_trials("l2", str(photo_folder), tmp_path, base="smoke", classifier="efficientnet")
    assert [r["profile_settings"]["steps"] for r in records] == [3, 6]
    assert records[0]["snapshot_of"]["steps"] == 6 and "snapshot_of" not in records[1]
    assert read_trials(tmp_path) == [json.loads(json.dumps(r)) for r in records[::-1]]  # the run first, then its snapshots
    short, long = (tmp_path / f"steps={n}" / "l2" for n in (3, 6))
    assert len((short / "log.csv").read_text().splitlines()) == 1 + 3
    assert json.loads((short / "config.json").read_text())["snapshot_of"]["steps"] == 6
    kept, final = load_checkpoint(short / "model.pt"), load_checkpoint(long / "model.pt")
    assert kept["step"] == 3 and final["step"] == 6
    assert any(not torch.equal(kept["model"][k], final["model"][k]) for k in final["model"])
    assert tune.choose_length(read_trials(tmp_path), "l2", "smoke")["profile_settings"]["steps"] in (3, 6)


def test_the_length_rule_takes_the_highest_criterion_and_a_tie_goes_to_the_shorter(monkeypatch):
    from colorlib import profiles
    from colorlib.tune import choose_length

    monkeypatch.setitem(profiles.LENGTH_CANDIDATES, "cpu", (1000, 2500, 5000))

    def record(steps, criterion):
        return {**_record("class", "coupled", 1e-3, criterion), "profile_settings": {"steps": steps}}

    trials = [record(1000, 60.0), record(2500, 61.5), record(5000, 61.5)]
    assert choose_length(trials, "class", "cpu") is trials[1]
    trials[2]["scores"]["class"]["auc_classbal"] = 61.51
    assert choose_length(trials, "class", "cpu") is trials[2]
    with pytest.raises(ValueError, match="no trial of 1,000 steps"):
        choose_length(trials[1:], "class", "cpu")


def test_a_trials_training_time_comes_from_its_runs_log(tmp_path):
    from colorlib.runs import training_seconds
    from colorlib.tune import trial_seconds

    run = tmp_path / "decay=coupled,steps=3" / "l2"
    run.mkdir(parents=True)
    (run / "log.csv").write_text("step,loss,lr,images_per_s,seconds\n1,1,1,1,100\n2,1,1,1,110\n3,1,1,1,120\n")
    assert training_seconds([{"seconds": 100.0}, {"seconds": 110.0}, {"seconds": 120.0}]) == 20.0
    record = {"trial": "decay=coupled,steps=3", "loss": "l2", "seconds": 7}  # 7: a re-scoring's wall clock
    assert trial_seconds(record, tmp_path) == "20"
    assert trial_seconds(record) == "7"  # no folder: as recorded
    assert trial_seconds({**record, "seconds": None}) == "–"


def test_score_beside_records_each_trial_beside_the_committed_model_once(photo_folder, tmp_path, monkeypatch):
    """The appendix's one-off trials: every model's scores, a trial's paired differences to the committed model,
    record by record, and nothing scored again on a second run."""
    from colorlib import paths, profiles, tune

    monkeypatch.setitem(profiles.LENGTH_CANDIDATES, "smoke", (6, 3))
    tune.run_length_trials("l2", str(photo_folder), tmp_path / "runs", base="smoke", classifier="efficientnet")
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    (datasets / "photos").symlink_to(photo_folder, target_is_directory=True)
    monkeypatch.setattr(paths, "SHARED_DATASETS", datasets)
    committed, short = (tmp_path / "runs" / f"steps={n}" for n in (6, 3))
    trials = {"committed": (committed, {"steps": 6}), "short": (short, {"steps": 3})}
    out = tmp_path / "out"
    out.mkdir()
    records = tune.score_beside(trials, out, [("photos", "all")], "smoke", loss="l2", cache=None)
    assert [(r["steps"], "minus_committed" in r) for r in records] == [(6, False), (3, True)]
    assert records[0]["count"] == records[1]["count"] == 13  # the gray photo is scored too
    assert set(records[1]["scores"]) == set(records[1]["minus_committed"]) == set(tune.BESIDE_KEYS)
    assert all(low <= high for _, low, high in records[1]["minus_committed"].values())
    assert read_trials(out) == records
    assert tune.score_beside(trials, out, [("photos", "all")], "smoke", loss="l2", cache=None) == records
    assert len(read_trials(out)) == 2
