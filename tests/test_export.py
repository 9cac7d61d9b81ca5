"""The in-browser colorizer's graph (chapter 9): ONNX Runtime gives PyTorch's colours."""

import subprocess
import sys

import pytest
import torch

from colorlib.evaluate import BEST_COLORIZERS, default_checkpoint, load_eval_set
from colorlib.export import AB_TOLERANCE, LOGIT_TOLERANCE, choose_weights, export_onnx, parity
from colorlib.paths import RESULTS

from .conftest import write_photo


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Six photos at 128 px: validation photos when nips17-dev is here, else made ones."""
    from colorlib.paths import SHARED_DATA

    if SHARED_DATA.is_dir():
        return load_eval_set(str(SHARED_DATA), 128, limit=6).L
    folder = tmp_path_factory.mktemp("photos")
    for i in range(6):
        write_photo(folder / f"{i}.png", i, size=(160, 140))
    return load_eval_set(str(folder), 128, split="all").L


def test_the_committed_colorizer_exports_and_matches_pytorch(tmp_path, photos):
    assert default_checkpoint() == str(RESULTS / BEST_COLORIZERS[0] / "model.pt")
    exact = export_onnx(default_checkpoint(), tmp_path / "fp32.onnx", fp16=False)
    small = export_onnx(default_checkpoint(), tmp_path / "fp16.onnx")
    assert small["bytes"] < 0.6 * exact["bytes"] and small["weights"] == "fp16" and small["size_multiple"] == 32
    assert len(small["bins"]) == 313 and small["T"] == 0.38
    fp32 = parity(default_checkpoint(), tmp_path / "fp32.onnx", photos)
    assert fp32["max_logit_diff"] < LOGIT_TOLERANCE and fp32["max_ab_diff"] < AB_TOLERANCE, fp32
    fp16 = parity(default_checkpoint(), tmp_path / "fp16.onnx", photos)
    # rounding the weights moves the logits a little everywhere, and the average colour hardly at all
    assert fp16["mean_ab_diff"] < 0.3 and fp16["max_logit_diff"] < 0.25, fp16
    # the page takes fp16 only within the tolerance, else the exact graph
    assert choose_weights(fp16) == ("fp16" if fp16["max_ab_diff"] < AB_TOLERANCE else "fp32")
    assert choose_weights({"max_ab_diff": 2.0}) == "fp32" and choose_weights({"max_ab_diff": 0.5}) == "fp16"


def test_any_size_that_is_a_multiple_of_32(tmp_path):
    from colorlib.export import onnx_logits

    export_onnx(default_checkpoint(), tmp_path / "m.onnx")
    logits = onnx_logits(tmp_path / "m.onnx", torch.rand(1, 1, 96, 160) * 100)
    assert logits.shape == (1, 313, 24, 40)


def test_cli_exports_and_refuses_a_regression_model_in_one_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "colorlib", "export-onnx", "--checkpoint",
                          str(RESULTS / "cpu-nips17-dev" / "l2" / "model.pt"), "--out", str(tmp_path / "x.onnx")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1 and "regression head" in run.stderr
    run = subprocess.run([sys.executable, "-m", "colorlib", "export-onnx", "--checkpoint",
                          str(RESULTS / "cpu-nips17-dev" / "full-soft" / "model.pt"), "--out", str(tmp_path / "y.onnx"),
                          "--json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "y.onnx").is_file() and (tmp_path / "y.json").is_file()
