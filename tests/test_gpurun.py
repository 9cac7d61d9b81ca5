"""The prepared GPU run, dry-run on the CPU with the network shrunk: the same script, the same code path
(bf16 autocast, channels-last, data on the device), so that its first GPU run cannot fail on a typo."""

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from PIL import Image, JpegImagePlugin

from colorlib.gpurun import pack, planned_steps
from colorlib.paths import REPO

from .conftest import write_photo

# The packages a GPU machine's own Python lacks: the dry run fails if the run imports any of them.
NOT_ON_THE_GPU_MACHINE = ("ipywidgets", "nbformat", "nbclient", "papermill", "jupyter_book", "jupyterlab",
                          "ipykernel", "IPython")
TINY = ["--set", "width=0.0625", "--set", "crop=64", "--set", "eval_size=64", "--set", "batch=4",
        "--set", "workers=2", "--set", "precision=bf16", "--set", "memory_format=channels-last",
        "--set", "data_mode=device", "--bench-steps", "2", "--steps", "3", "--limit", "6"]


def test_pack_keeps_names_labels_and_colour(tmp_path):
    source = tmp_path / "source"
    for i in range(6):
        write_photo(source / "images" / f"p{i}.jpg", i, size=(400, 300), quality=95)
    write_photo(source / "images" / "small.png", 9, size=(100, 80))
    (source / "images" / "broken.jpg").write_text("not an image")
    (source / "labels.csv").write_text("file,imagenet_index\nimages/p0.jpg,3\n")
    report = pack(source, tmp_path / "packed", side=128)
    assert report["photos"] == 7 and report["skipped"] == 1
    packed = tmp_path / "packed"
    assert (packed / "labels.csv").read_text() == (source / "labels.csv").read_text()
    with Image.open(packed / "images" / "p0.jpg") as im:  # same name: same train/val split
        assert im.format == "JPEG" and min(im.size) == 128 and im.size[0] == round(400 * 128 / 300)
        assert JpegImagePlugin.get_sampling(im) == 0  # 4:4:4, chroma at full resolution (no 4:2:0)
    with Image.open(packed / "images" / "small.png") as im:
        assert im.format == "PNG" and im.size == (100, 80)  # never enlarged
    assert pack(source, packed, side=128)["photos"] == 7  # packing again reuses the copies


def test_steps_are_capped_by_the_measured_speed():
    # 4 losses in 7 minutes at 50 steps/s, 20 s of start-up each: (105 − 20) · 50 = 4250 steps
    assert planned_steps(5200, 50.0, 420, 4, 20) == 4250
    assert planned_steps(5200, 500.0, 420, 4, 20) == 5200  # fast enough: the profile's steps
    assert planned_steps(5200, 0.001, 420, 4, 20) == 1


def _dummy_wheel(folder: Path) -> None:
    """A minimal wheel, so that the script's install of carried wheels runs for real."""
    folder.mkdir()
    with zipfile.ZipFile(folder / "colorbook_marker-1.0-py3-none-any.whl", "w") as whl:
        whl.writestr("colorbook_marker.py", "PRESENT = True\n")
        info = "colorbook_marker-1.0.dist-info"
        whl.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: colorbook-marker\nVersion: 1.0\n")
        whl.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        whl.writestr(f"{info}/RECORD", "")


@pytest.mark.slow
def test_the_gpu_script_dry_run_on_cpu(tmp_path, photo_folder):
    (photo_folder / "labels.csv").write_text("file,imagenet_index\n")
    packed = tmp_path / "packed"
    pack(photo_folder, packed, side=96)
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in NOT_ON_THE_GPU_MACHINE))
    _dummy_wheel(tmp_path / "wheels")
    out, work = tmp_path / "out", tmp_path / "work"
    env = {**os.environ, "PYTHON": sys.executable, "GPU_DATA": str(packed), "GPU_WORK": str(work),
           "GPU_WHEELS_DIR": str(tmp_path / "wheels"), "PYTHONPATH": str(blocker)}
    run = subprocess.run(["bash", str(REPO / "scripts" / "gpu_run.sh"), str(out), *TINY], env=env,
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    log = (out / "gpu-run.log").read_text() if (out / "gpu-run.log").is_file() else ""
    assert run.returncode == 0, run.stderr[-2000:] + log[-3000:]
    assert (work / "site" / "colorbook_marker.py").is_file()  # the carried wheels were installed
    # six files come back (the device tool returns at most eight, two folders deep)
    assert sorted(p.name for p in out.iterdir()) == ["bench.json", "gallery.png", "gpu-run.log",
                                                     "gpu-run.tar.gz", "summary.json", "table1.md"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 3 and set(summary["losses"]) == {"l2", "class", "full-soft", "full-onehot"}
    assert all(r["steps"] == 3 and r["minutes"] > 0 for r in summary["losses"].values())
    bench = json.loads((out / "bench.json").read_text())
    assert bench["profile"] == "gpu" and bench["data_mode"] == "device" and bench["images_per_s"] > 0
    with tarfile.open(out / "gpu-run.tar.gz") as tar:
        names = tar.getnames()
        assert not [n for n in names if n.endswith(".pt")]  # the models stay behind
        for loss in ("l2", "class", "full-soft", "full-onehot"):
            config = json.load(tar.extractfile(f"run/runs/{loss}/config.json"))
            assert config["plan"]["precision"] == "bf16" and config["plan"]["data_mode"] == "device"
            assert f"run/runs/{loss}/log.csv" in names
        rows = json.load(tar.extractfile("run/evaluation.json"))
    assert {r["method"] for r in rows} >= {"gray", "ground-truth", "l2", "full-soft"}
    assert "| full-onehot |" in (out / "table1.md").read_text()


def test_the_script_says_what_is_missing(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "GPU_DATA": str(tmp_path / "nothing")}
    run = subprocess.run(["bash", str(REPO / "scripts" / "gpu_run.sh"), str(tmp_path / "out")], env=env,
                         capture_output=True, text=True)
    assert run.returncode == 2 and "make gpu-prepare" in run.stderr
