import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from colorlib.losses import LOSSES
from colorlib.paths import SHARED_DATA
from colorlib.profiles import SMOKE_TRAIN_PHOTOS
from colorlib.runs import load_checkpoint, read_config, read_log
from colorlib.train import TrainConfig, TrainingDiverged, train


@pytest.mark.parametrize("loss", LOSSES)
def test_each_loss_decreases_on_real_photos(loss, tmp_path, monkeypatch):
    # the embedded photos: real, and few enough that 40 steps of 4 revisit each one several times
    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    folder = train(TrainConfig(loss=loss, profile="smoke", data=None, out=str(tmp_path), steps=40, seed=0))
    losses = np.array([r["loss"] for r in read_log(folder)])
    assert len(losses) == 40 and np.isfinite(losses).all()
    assert losses[-10:].mean() < losses[:10].mean()
    final = load_checkpoint(folder / "model.pt")
    assert final["config"]["loss"] == loss and final["step"] == 40


def _cli(*args, out):
    return [sys.executable, "-m", "colorlib", "train", "--profile", "smoke", "--seed", "3",
            "--out", str(out), *args]


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    steps = "60"
    subprocess.run(_cli("--loss", "class", "--steps", steps, out=tmp_path / "whole"), check=True, capture_output=True)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli("--loss", "class", "--steps", steps, out=killed), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ckpt = killed / "class" / "checkpoint.pt"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if ckpt.is_file() and load_checkpoint(ckpt)["step"] >= 20:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    at_kill = load_checkpoint(ckpt)["step"]  # always loadable, whenever the kill landed
    assert 20 <= at_kill < 60
    subprocess.run(_cli("--loss", "class", "--steps", steps, "--resume", out=killed), check=True, capture_output=True)
    a = load_checkpoint(tmp_path / "whole" / "class" / "checkpoint.pt")
    b = load_checkpoint(ckpt)
    assert a["step"] == b["step"] == 60
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert [r["step"] for r in read_log(killed / "class")] == list(range(1, 61))


def test_keep_at_keeps_the_model_as_it_was_at_that_step(tmp_path):
    """`colorlib train --keep-at N` keeps model-N.pt beside model.pt, as the length trials' runs do, and
    colorlib.tune.set_out_snapshot sets it out as a run folder of its own."""
    from colorlib.tune import set_out_snapshot

    subprocess.run(_cli("--loss", "l2", "--steps", "6", "--keep-at", "3", out=tmp_path), check=True, capture_output=True)
    run = tmp_path / "l2"
    kept, final = load_checkpoint(run / "model-3.pt"), load_checkpoint(run / "model.pt")
    assert kept["step"] == 3 and final["step"] == 6 and "--keep-at" in final["config"]["command"]
    assert list(kept["config"]["snapshots"]) == [3]
    set_out_snapshot(run, tmp_path / "kept" / "l2", 3)
    assert len(read_log(tmp_path / "kept" / "l2")) == 3 and read_config(tmp_path / "kept" / "l2")["steps"] == 3


def test_trains_on_the_shared_photos(tmp_path):
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/datasets/nips17-dev is not present")
    run = subprocess.run(_cli("--loss", "full-soft", "--steps", "5", "--data", str(SHARED_DATA), out=tmp_path),
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    config = load_checkpoint(tmp_path / "full-soft" / "model.pt")["config"]
    assert config["data_folder"] == str(SHARED_DATA.resolve())
    assert config["train_images"] == SMOKE_TRAIN_PHOTOS  # the smoke profile trains on that many of them


def test_two_process_ddp_on_cpu(tmp_path):
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    cmd = [torchrun, "--standalone", "--nproc_per_node=2", "-m", "colorlib", "train", "--loss", "full-soft",
           "--profile", "smoke", "--steps", "6", "--device", "cpu", "--out", str(tmp_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    final = load_checkpoint(tmp_path / "full-soft" / "model.pt")
    assert final["config"]["world_size"] == 2 and final["step"] == 6
    assert len(read_log(tmp_path / "full-soft")) == 6  # rank 0 alone writes the log


_DDP_HELPER = """
import os, sys, torch
import colorlib.train as T
from colorlib.cli import main

captured, real_build, real_loss = {}, T.build_optimizer, T.compute_loss
calls = {"n": 0}

def capture(model, profile, loss):
    captured["model"] = model
    return real_build(model, profile, loss)

def poisoned(*args, **kwargs):  # a NaN on one rank only, at one step
    calls["n"] += 1
    value = real_loss(*args, **kwargs)
    bad = os.environ["RANK"] == os.environ.get("POISON_RANK") and calls["n"] == int(os.environ["POISON_STEP"])
    return value * float("nan") if bad else value

T.build_optimizer, T.compute_loss = capture, poisoned
code = main(sys.argv[1:])
params = {k: v for k, v in captured["model"].named_parameters()}
torch.save(params, os.path.join(os.environ["OUT_DIR"], f"rank{os.environ['RANK']}.pt"))
sys.exit(code)
"""


def _torchrun_train(tmp_path, steps, **env):
    helper = tmp_path / "ddp_helper.py"
    helper.write_text(_DDP_HELPER)
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    cmd = [torchrun, "--standalone", "--nproc_per_node=2", str(helper), "train", "--loss", "class",
           "--profile", "smoke", "--steps", str(steps), "--device", "cpu", "--out", str(tmp_path / "runs")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OUT_DIR": str(tmp_path), "POISON_STEP": "0", **env})


def test_ddp_ranks_hold_identical_weights_after_training(tmp_path):
    run = _torchrun_train(tmp_path, 4)
    assert run.returncode == 0, run.stderr[-2000:]
    a, b = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert len(read_log(tmp_path / "runs" / "class")) == 4


def test_a_nan_on_one_rank_stops_every_rank(tmp_path):
    start = time.time()
    run = _torchrun_train(tmp_path, 30, POISON_RANK="1", POISON_STEP="7")
    assert run.returncode != 0 and time.time() - start < 240  # no rank is left waiting
    assert run.stderr.count("loss became nan at step 7") == 1, run.stderr[-3000:]  # the rank that saw it
    assert run.stderr.count("loss became non-finite on another rank at step 7") == 1, run.stderr[-3000:]


def test_nan_loss_stops_with_the_step_and_keeps_the_checkpoint(tmp_path, monkeypatch):
    import colorlib.train as T

    real = T.compute_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        value = real(*args, **kwargs)
        return value * float("nan") if calls["n"] == 15 else value

    monkeypatch.setattr(T, "compute_loss", poisoned)
    with pytest.raises(TrainingDiverged, match="step 15"):
        train(TrainConfig(loss="class", profile="smoke", out=str(tmp_path), steps=30))
    assert load_checkpoint(tmp_path / "class" / "checkpoint.pt")["step"] == 10


def test_bad_parameters_fail_before_any_work(tmp_path):
    for args, word in [(["--loss", "nope"], "loss"), (["--loss", "l2", "--profile", "big"], "profile"),
                       (["--loss", "l2", "--device", "tpu"], "device"),
                       (["--loss", "l2", "--data", str(tmp_path / "missing")], "--data")]:
        run = subprocess.run(_cli(*args, out=tmp_path), capture_output=True, text=True)
        assert run.returncode == 2
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and word in lines[0] and ("allowed" in lines[0] or "exist" in lines[0])
    assert not (tmp_path / "l2").exists()


def test_training_on_fit_reads_no_tune_or_val_photo(photo_folder, tmp_path, monkeypatch):
    import colorlib.data as data

    opened = []
    real = data.load_rgb
    monkeypatch.setattr(data, "load_rgb", lambda p: opened.append(Path(p).name) or real(p))
    monkeypatch.setattr(data, "_chroma_cache", {})
    folder = train(TrainConfig(loss="full-soft", profile="smoke", data=str(photo_folder), out=str(tmp_path / "r"),
                               steps=3, split="fit"))
    names = [p.name for p in data.find_images(photo_folder)]
    assert any(data.in_split(n, "tune") for n in names) and any(data.in_split(n, "val") for n in names)
    assert opened
    assert not [n for n in opened if data.in_split(n, "tune") or data.in_split(n, "val")]
    assert load_checkpoint(folder / "model.pt")["config"]["split"] == "fit"
    with pytest.raises(ValueError, match="split: cannot train on 'val'"):
        train(TrainConfig(loss="l2", profile="smoke", data=str(photo_folder), out=str(tmp_path / "v"), split="val"))


def test_a_run_records_its_command_as_a_reader_types_it():
    from colorlib.train import invoked_command

    assert invoked_command(["/home/x/repo/colorlib/__main__.py", "train", "--loss", "l2"]) == ["colorlib", "train", "--loss", "l2"]
    assert invoked_command(["/home/x/.venv/bin/colorlib", "tune"]) == ["colorlib", "tune"]
    assert invoked_command(["script.py", "--x"]) == ["script.py", "--x"]
