import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from colorlib.classify import load_classifier
from colorlib.data import scan
from colorlib.evaluate import colorize_photo, evaluate, random_baseline
from colorlib.model import ColorizationNet
from colorlib.train import TrainConfig, train

from .conftest import write_photo


def test_classifier_loads_offline_and_recognises_photos(nips17):
    clf = load_classifier("efficientnet")
    assert clf.name == "EfficientNet-Lite0"
    from colorlib.data import load_rgb, rgb_to_tensor, scan

    items = scan(nips17, "val").items[:40]
    x = torch.stack([rgb_to_tensor(load_rgb(i.path)) for i in items])
    top1 = (clf.predict(x) == torch.tensor([i.label for i in items])).float().mean().item()
    assert top1 > 0.6


def test_the_classifier_answers_alike_in_onnx_runtime_and_in_pytorch():
    """On the CPU predict() runs the classifier in ONNX Runtime: the same logits as PyTorch's, to float rounding."""
    from colorlib.classify import onnx_session

    clf = load_classifier("efficientnet")
    x = torch.rand(4, 3, 64, 80, generator=torch.Generator().manual_seed(0))
    resized = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False, antialias=True)
    with torch.no_grad():
        ref = clf.net((resized - 0.5) / 0.5)
    got = onnx_session(clf.net, 224).run(None, {"x": ((resized - 0.5) / 0.5).numpy()})[0]
    assert np.allclose(got, ref.numpy(), atol=1e-3)
    assert torch.equal(clf.predict(x), ref.argmax(1)) and clf.session is not None


def test_random_baseline_never_uses_the_same_image():
    ab = torch.arange(6.0).view(6, 1, 1, 1).expand(6, 2, 2, 2)
    r = random_baseline(ab)
    assert not (r[:, 0, 0, 0] == ab[:, 0, 0, 0]).any()


def test_ground_truth_is_100_and_gray_is_below_on_real_photos(nips17):
    rows = {r["method"]: r for r in evaluate(None, str(nips17), "smoke", limit=48, ci=False).rows}
    gt, gray = rows["ground-truth"], rows["gray"]
    assert [gt["auc_raw"], gt["auc_rebal"], gt["auc_classbal"]] == pytest.approx([100.0] * 3)
    assert gray["auc_raw"] < gt["auc_raw"] and gray["auc_rebal"] < gray["auc_raw"]
    assert gray["colorfulness"] == pytest.approx(0.0, abs=0.01) and gt["colorfulness"] > 10  # ab=0 is neutral to 1e-4
    assert gt["top1_kind"] == "ImageNet label" and gray["top1"] < gt["top1"]


def test_evaluate_finds_trained_runs_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    train(TrainConfig(loss="l2", profile="smoke", out=str(tmp_path), steps=3))
    out = subprocess.run([sys.executable, "-m", "colorlib", "evaluate", "--runs", str(tmp_path), "--profile",
                          "smoke", "--no-ci", "--json"], capture_output=True, text=True, check=True).stdout
    import json

    rows = json.loads(out)
    assert [r["method"] for r in rows] == ["ground-truth", "gray", "random", "l2"]
    for r in rows:
        assert {"auc_raw", "auc_rebal", "top1", "classifier", "colorfulness", "psnr", "images"} <= set(r)
        assert 0 <= r["auc_raw"] <= 100 and 0 <= r["top1"] <= 100
    assert rows[0]["top1_kind"] == "agreement with ground-truth prediction"  # embedded photos: no labels


def test_colorize_keeps_size_and_survives_a_broken_file(tmp_path, monkeypatch):
    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    run = train(TrainConfig(loss="full-soft", profile="smoke", out=str(tmp_path / "runs"), steps=2))
    photos = tmp_path / "in"
    write_photo(photos / "wide.jpg", 1, size=(123, 45))
    write_photo(photos / "rgba.png", 2, size=(40, 64), mode="RGBA")
    Image.fromarray(np.full((30, 50), 90, np.uint8)).save(photos / "gray.png")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    res = subprocess.run([sys.executable, "-m", "colorlib", "colorize", str(photos), "--checkpoint",
                          str(run / "model.pt"), "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert res.returncode == 1
    assert len([ln for ln in res.stderr.splitlines() if "error" in ln and "broken.jpg" in ln]) == 1
    sizes = {p.stem: Image.open(p).size for p in (tmp_path / "out").iterdir()}
    assert sizes == {"wide": (123, 45), "rgba": (40, 64), "gray": (50, 30)}


def test_colorize_photo_keeps_lightness():
    from colorlib.color import rgb_to_lab
    from colorlib.data import rgb_to_tensor

    rgb = (np.random.default_rng(0).uniform(0, 255, (33, 47, 3))).astype(np.uint8)
    net = ColorizationNet(0.125).eval()
    for decoder, ab in (("regression", (0.0, 0.0)), ("regression", (8.0, -6.0)), ("annealed-mean", None)):
        if ab is not None:  # a head that paints one known colour: (a, b) everywhere
            torch.nn.init.zeros_(net.ab_head.weight)
            net.ab_head.bias.data = torch.tensor(ab) / 110
        out = colorize_photo(net, rgb, 32, decoder)
        assert out.shape == rgb.shape and out.dtype == np.uint8
        lab_in, lab_out = (rgb_to_lab(rgb_to_tensor(x)) for x in (rgb, out))
        # the output's L is the input's (up to 8-bit rounding; colours near the gamut edge may clip a little)
        assert (lab_out[0] - lab_in[0]).abs().median() < 0.3 and (lab_out[0] - lab_in[0]).abs().max() < 3
        if ab == (0.0, 0.0):
            assert lab_out[1:].abs().max() < 1.0  # gray: the original lightness and no colour
        elif ab is not None:
            assert torch.allclose(lab_out[1:].mean((1, 2)), torch.tensor(ab), atol=1.5)


def test_another_folder_is_scored_on_its_validation_photos_with_the_runs_prior(photo_folder, tmp_path, monkeypatch):
    """A folder the runs never trained on is scored like any other: its validation photos (the book scores every
    network, whatever it trained on, on the same photos), with the prior the runs trained with; ``--split all``
    scores it whole."""
    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    run = train(TrainConfig(loss="full-soft", profile="smoke", out=str(tmp_path / "runs"), steps=2))
    res = subprocess.run([sys.executable, "-m", "colorlib", "evaluate", "--runs", str(tmp_path / "runs"), "--data",
                          str(photo_folder), "--profile", "smoke", "--no-ci", "--json", "--compare", "full-soft",
                          "gray", "--compare-key", "auc_raw"], capture_output=True, text=True, check=True)
    import json

    out = json.loads(res.stdout)
    from colorlib.data import find_images

    every = len(find_images(photo_folder))
    validation = len(scan(photo_folder, "val").items)
    assert 0 < validation < every and all(r["images"] == validation for r in out["rows"])
    assert f"val split: {validation} of the source's {every} photos scored" in res.stderr
    whole = subprocess.run([sys.executable, "-m", "colorlib", "evaluate", "--runs", str(tmp_path / "runs"), "--data",
                            str(photo_folder), "--profile", "smoke", "--no-ci", "--json", "--split", "all"],
                           capture_output=True, text=True, check=True)
    assert all(r["images"] == every for r in json.loads(whole.stdout))  # without --compare: the rows alone
    assert "training prior saved in the runs' model.pt" in res.stderr
    (paired,) = out["paired"]
    assert paired["a"] == "full-soft" and paired["low"] <= paired["difference"] <= paired["high"]
    by = {r["method"]: r for r in out["rows"]}
    assert paired["difference"] == pytest.approx(by["full-soft"]["auc_raw"] - by["gray"]["auc_raw"])
    from colorlib.evaluate import evaluate as evaluate_fn
    from colorlib.runs import load_checkpoint

    result = evaluate_fn(tmp_path / "runs", str(photo_folder), "smoke", ci=False)
    assert np.array_equal(result.prior, load_checkpoint(run / "model.pt")["prior"].double().numpy())
    assert result.eval_set.split == "val"


def test_washes_are_the_predictions_that_vary_less_than_a_third_of_the_truth():
    from colorlib.evaluate import WASH_SHARE, is_wash, washes
    from colorlib.metrics import ab_spread

    truth = torch.zeros(2, 2, 8, 8)
    truth[:, 0, :4] = 30.0  # the top half red, the bottom half gray: 15 Lab units of spread within each photo
    tint = torch.zeros(2, 2, 8, 8)
    tint[:, 1] = 12.0  # one yellow tint over every pixel: no spread within a photo
    faint = truth / 4  # the right pattern, a quarter as strong: 3.75 Lab units, under a third of 15
    varied = truth / 2  # half as strong: 7.5 Lab units, over a third
    found = washes({"tint": tint, "faint": faint, "varied": varied}, truth)
    assert list(found) == ["tint", "faint"]
    assert found["tint"] == pytest.approx(0.0) and found["faint"] == pytest.approx(3.75)
    assert ab_spread(truth)["within"] == pytest.approx(15.0) and WASH_SHARE == pytest.approx(1 / 3)
    assert is_wash(3.75, 15.0) and not is_wash(7.5, 15.0)
