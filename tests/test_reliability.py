"""Bad inputs, interrupted runs, untrusted files: nothing lost, nothing cryptic (issue 7)."""

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from colorlib.data import in_split, load_rgb, scan
from colorlib.runs import load_checkpoint, run_dir
from colorlib.train import TrainConfig, validate

from .conftest import write_photo


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "colorlib", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture
def messy(tmp_path):
    """Every kind of file a real photo folder holds, good and bad."""
    d = tmp_path / "my photos"
    good = {}
    good["rgb"] = write_photo(d / "holiday ünïcode.jpg", 1, size=(64, 48))
    good["upper"] = write_photo(d / "UPPER.JPG", 2, size=(64, 48))
    good["nested"] = write_photo(d / "2024" / "june" / "beach 1.png", 3, size=(50, 70))
    good["rgba"] = write_photo(d / "alpha.png", 4, size=(40, 40), mode="RGBA")
    good["cmyk"] = write_photo(d / "print.jpg", 5, size=(48, 48), mode="CMYK")
    good["palette"] = write_photo(d / "anim.gif", 6, size=(48, 48), mode="P")
    good["tiny"] = d / "one pixel.png"
    Image.fromarray(np.array([[[250, 20, 30]]], np.uint8)).save(good["tiny"])
    good["long"] = write_photo(d / "panorama.png", 7, size=(4000, 20))
    exif_img = Image.open(write_photo(d / "tmp.jpg", 8, size=(60, 30)))
    exif = exif_img.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° on display
    exif_img.save(d / "rotated.jpg", exif=exif)
    (d / "tmp.jpg").unlink()
    good["rotated"] = d / "rotated.jpg"
    gray16 = (np.linspace(0, 65535, 40 * 30).reshape(30, 40)).astype(np.uint16)
    Image.fromarray(gray16).save(d / "scan16.png")
    Image.fromarray(np.full((30, 40), 120, np.uint8)).save(d / "bw.jpg")
    bad = {"zero.jpg": b"", "notes.jpg": b"shopping list, not a photo"}
    jpeg = io.BytesIO()
    Image.open(good["rgb"]).save(jpeg, "JPEG")
    bad["cut off.jpg"] = jpeg.getvalue()[:300]
    bad["half-written 5.jpg"] = jpeg.getvalue()[:500]  # its name hashes into the validation split
    for name, content in bad.items():
        (d / name).write_bytes(content)
    return d, good, bad


def test_every_format_is_converted_correctly(messy):
    d, good, _ = messy
    assert load_rgb(good["rotated"]).shape == (60, 30, 3)  # EXIF orientation applied
    assert load_rgb(good["rgba"]).shape == (40, 40, 3)
    assert load_rgb(good["cmyk"]).shape == (48, 48, 3)
    assert load_rgb(good["palette"]).shape == (48, 48, 3)
    assert load_rgb(good["tiny"]).tolist() == [[[250, 20, 30]]]
    deep = load_rgb(d / "scan16.png")
    assert deep.dtype == np.uint8 and deep.max() == 255  # 16-bit scaled, not clipped
    assert load_rgb(d / "bw.jpg").shape == (30, 40, 3)


def test_scan_uses_every_usable_image_and_reports_each_bad_one(messy):
    d, good, bad = messy
    s = scan(d, "all")
    assert {p.name for p, _ in s.skipped} == set(bad)
    assert len(s.items) == len(good) + 2  # + the two gray images, usable for evaluation
    gray = scan(d, "all", gray_threshold=5.0)
    assert {p.name for p, r in gray.skipped if "near-gray" in r} == {"scan16.png", "bw.jpg"}


def test_prior_train_evaluate_complete_on_a_messy_folder(messy, tmp_path):
    d, _, bad = messy
    for args in (["prior", "--data", str(d), "--size", "32", "--json"],
                 ["train", "--loss", "full-soft", "--profile", "smoke", "--steps", "3", "--data", str(d),
                  "--out", str(tmp_path / "runs")],
                 ["evaluate", "--runs", str(tmp_path / "runs"), "--data", str(d), "--profile", "smoke", "--no-ci",
                  "--json"]):
        run = _cli(*args)
        assert run.returncode == 0, run.stderr[-2000:]
        # the prior and training read the training split; evaluation reads only the photos it scores (the
        # validation split of the folder the run was trained on)
        read = [n for n in bad if in_split(n, "val" if args[0] == "evaluate" else "train")]
        for name in bad:  # each bad file it reads reported exactly once per command, with its reason
            lines = [ln for ln in run.stderr.splitlines() if "skipped" in ln and name in ln]
            assert len(lines) == (name in read) and all("cannot read image" in ln for ln in lines), (
                args[0], name, run.stderr[-1500:])
    assert any(in_split(n, "val") for n in bad) and any(in_split(n, "train") for n in bad)


def test_no_usable_image_is_one_clear_error(tmp_path):
    (tmp_path / "a.jpg").write_text("nope")
    for args in (["prior", "--data", str(tmp_path)],
                 ["train", "--loss", "l2", "--profile", "smoke", "--data", str(tmp_path), "--out", str(tmp_path / "r")]):
        run = _cli(*args)
        assert run.returncode == 2 and "Traceback" not in run.stderr
        assert run.stderr.strip().splitlines()[-1].startswith(f"colorlib {args[0]}: error: no usable image")


def _train_cmd(out, *extra):
    return [sys.executable, "-m", "colorlib", "train", "--loss", "class", "--profile", "smoke", "--seed", "5",
            "--out", str(out), *extra]


def test_repeated_sigkill_never_leaves_a_broken_checkpoint(tmp_path):
    ckpt = tmp_path / "class" / "checkpoint.pt"
    rng = np.random.default_rng(0)
    for _ in range(4):  # kill at random moments; the checkpoint (written every 10 steps) must always load
        proc = subprocess.Popen(_train_cmd(tmp_path, "--steps", "400", "--resume"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not ckpt.is_file() and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.1, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert load_checkpoint(ckpt)["step"] >= 10


def _as_if_in_the_foreground() -> None:
    # A shell without job control starts background jobs with SIGINT ignored, and Python keeps an ignored
    # SIGINT ignored; a suite launched as `make test &` would then test nothing. Ctrl-C reaches a
    # foreground process with SIGINT at its default, so the child starts that way.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_saves_a_checkpoint_before_exiting(tmp_path):
    proc = subprocess.Popen(_train_cmd(tmp_path, "--steps", "2000"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_as_if_in_the_foreground)
    ckpt = tmp_path / "class" / "checkpoint.pt"
    deadline = time.time() + 60
    while not ckpt.is_file() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    step = load_checkpoint(ckpt)["step"]
    assert step > 10 and f"interrupted at step {step}" in err


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/colorlib-pwned",))


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    evil = tmp_path / "model.pt"
    with open(evil, "wb") as fh:
        pickle.dump({"model": _Evil()}, fh)
    if os.path.exists("/tmp/colorlib-pwned"):
        os.remove("/tmp/colorlib-pwned")
    with pytest.raises(ValueError, match="model.pt: refused to load"):
        load_checkpoint(evil)
    run = _cli("colorize", str(evil), "--checkpoint", str(evil), "--out", str(tmp_path / "o"))
    assert run.returncode == 2 and "refused to load" in run.stderr and "Traceback" not in run.stderr
    assert not os.path.exists("/tmp/colorlib-pwned")


def test_paths_from_parameters_cannot_escape_the_run_folder(tmp_path):
    with pytest.raises(ValueError, match="loss"):
        run_dir(tmp_path, "../../etc")
    with pytest.raises(ValueError, match="loss"):
        validate(TrainConfig(loss="../x", profile="smoke", out=str(tmp_path)))


def test_unwritable_or_full_run_folder_is_reported_before_work(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    run = _cli("train", "--loss", "l2", "--profile", "smoke", "--out", str(blocker / "runs"))
    assert run.returncode == 2 and "out: run folder" in run.stderr and "not writable" in run.stderr
    import errno
    from pathlib import Path

    import colorlib.train as T

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(PermissionError, match="No space left on device"):
        T.check_writable(tmp_path / "runs")


def test_bad_notebook_parameter_fails_in_the_first_cell(tmp_path):
    from colorlib.book import NOTEBOOKS, ChapterFailed, run_chapter

    with pytest.raises(ChapterFailed) as info:
        run_chapter(NOTEBOOKS / "05_training_loss.ipynb", {"profile": "smoke", "loss": "nope"}, tmp_path)
    message = str(info.value)
    assert "loss: unknown value 'nope'; allowed: l2, class, full-soft, full-onehot" in message
    executed = json.loads((tmp_path / "05_training_loss.ipynb").read_text())
    ran = [c for c in executed["cells"] if c["cell_type"] == "code" and c.get("execution_count")]
    assert len(ran) <= 3  # parameters, injected parameters, the setup cell: nothing heavy ran
