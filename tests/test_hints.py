"""Chapter 10's hint colorizer: simulated hints as the paper draws them, the spread's promises (no hint: the base
model exactly; a hint's own cell takes its colour), suggestions, the command line, and the exported graphs."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from colorlib.hints import (
    HINT_CENTRE_SIGMA,
    HINT_GEOMETRIC_P,
    HINT_PATCH_SIDES,
    HINT_UNIFORM_MAX,
    HINT_UNIFORM_SHARE,
    UNTRAINED,
    Hint,
    HintColorizer,
    HintSpread,
    base_parts,
    best_untrained,
    cell_of,
    evaluation_hints,
    hint_cells,
    hint_from_hex,
    hinted_ab,
    one_hint_reach,
    parse_hint,
    patch_bounds,
    simulate_hints,
    suggestion_hits,
    swatches,
)
from colorlib.paths import REPO, RESULTS
from colorlib.quantize import bins_tensor


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return HintColorizer("lite0", channels=16, bins=bins_tensor()).eval()


def test_simulated_hints_follow_the_paper():
    ab = torch.randn(1, 2, 64, 64).expand(4000, -1, -1, -1) * 20
    hints = simulate_hints(ab, torch.Generator().manual_seed(0))
    counts = np.array([len(h) for h in hints])
    share, top, p = HINT_UNIFORM_SHARE, HINT_UNIFORM_MAX, HINT_GEOMETRIC_P
    # the paper's geometric count (1/8 with none, 7 on average), mixed with a uniform one on 0..50
    assert abs((counts == 0).mean() - ((1 - share) * p + share / (top + 1))) < 0.02
    assert abs(counts.mean() - ((1 - share) * (1 - p) / p + share * top / 2)) < 0.8
    every = [h for photo in hints for h in photo]
    sides = {h.side for h in every}
    assert sides == set(range(HINT_PATCH_SIDES[0], HINT_PATCH_SIDES[1] + 1))
    ys = np.array([h.y for h in every]) / 64
    assert abs(ys.mean() - 0.5) < 0.01 and abs(ys.std() - HINT_CENTRE_SIGMA) < 0.02
    h = every[0]  # a hint's colour is its patch's mean true colour
    y0, y1, x0, x1 = patch_bounds(h.y, h.x, h.side, 64, 64)
    assert np.allclose([h.a, h.b], ab[0, :, y0:y1, x0:x1].double().mean((1, 2)).numpy())


def test_evaluation_hints_for_n_are_the_first_n_for_fifty():
    ab = torch.randn(2, 32, 32) * 10
    assert evaluation_hints(ab, 5, seed=3) == evaluation_hints(ab, 50, seed=3)[:5]
    assert all(h.side == 6 for h in evaluation_hints(ab, 50, seed=3))


def test_a_hint_lands_in_the_cell_of_its_centre():
    assert cell_of(Hint(0, 0, 0, 0), 64, 64, 16, 16) == 0
    assert cell_of(Hint(63, 63, 0, 0), 64, 64, 16, 16) == 255
    assert cell_of(Hint(8, 4, 0, 0), 64, 64, 16, 16) == 2 * 16 + 1
    cells = hint_cells([[Hint(8, 4, 10.0, -5.0)], []], 64, 64, 16, 16)
    assert cells.index.shape == (2, 1) and cells.valid.tolist() == [[True], [False]]
    assert cells.ab[0, 0].tolist() == [10.0, -5.0]


def test_no_hint_is_the_base_model_and_a_hint_takes_its_own_cell(model):
    L = torch.rand(2, 1, 64, 64) * 100
    assert torch.equal(model(L), model.base(L))
    assert torch.equal(model(L, hint_cells([[], []], 64, 64, 16, 16)), model.base(L))
    hint = Hint(30, 30, 60.0, 40.0, side=4)
    parts = base_parts(model, L[:1])
    ab = hinted_ab(model, model.spread, L[:1], *parts, [[hint]])
    assert ab[0, :, 28:32, 28:32].allclose(torch.tensor([60.0, 40.0]).view(2, 1, 1))  # the patch is painted
    cells = hint_cells([[hint]], 64, 64, 16, 16)
    logits, e, keep = model.parts(L[:1])
    pi = model.spread.weights(e, keep, cells.index, cells.valid)
    assert pi.shape == (1, 2, 256) and torch.allclose(pi.sum(1), torch.ones(1, 256))
    assert pi[0, 1, cells.index[0, 0]] > 0.5  # its own cell: similarity 1, distance 0


def test_one_hints_reach_runs_from_nothing_to_the_whole_photo_with_how_firmly_the_model_keeps_its_colour(model):
    torch.manual_seed(1)
    L, ab = torch.rand(2, 1, 64, 64) * 100, (torch.rand(2, 2, 64, 64) - 0.5) * 60
    channels = model.base.class_head.in_channels
    firm, yielding = HintSpread(channels, keep=1e3).eval(), HintSpread(channels, keep=-1e3).eval()
    assert one_hint_reach(model, firm, L, ab) == 0.0  # the model's own colour outweighs the hint everywhere
    assert one_hint_reach(model, yielding, L, ab) == 1.0  # the hint outweighs it everywhere
    assert 0.0 <= one_hint_reach(model, HintSpread(channels).eval(), L, ab) <= 1.0


def test_the_suggestions_hold_the_truth_where_the_model_is_sure_of_it_and_miss_a_colour_far_from_it():
    torch.manual_seed(0)
    sure = HintColorizer("lite0", channels=16, bins=bins_tensor()).eval()
    k = int((sure.bins - torch.tensor([40.0, 40.0])).norm(dim=1).argmin())  # a warm bin, far from gray
    with torch.no_grad():  # the same certain belief in bin k at every pixel
        sure.base.class_head.weight.zero_()
        sure.base.class_head.bias.fill_(-30.0)
        sure.base.class_head.bias[k] = 30.0
    L = torch.rand(2, 1, 64, 64) * 100
    right = sure.bins[k].view(1, 2, 1, 1).expand(2, 2, 64, 64).clone()
    names = ("automatic colour", "most probable swatch", "any suggested swatch")
    hits = suggestion_hits(sure, L, right, samples=20)
    assert hits["all"]["pixels"] == hits["colourful"]["pixels"] == 20
    assert all(hits[group][name] == 1.0 for group in hits for name in names)
    missed = suggestion_hits(sure, L, -right, samples=20)  # the opposite colour: 113 Lab units away
    assert all(missed[group][name] == 0.0 for group in missed for name in names)


def test_the_trained_state_round_trips(model):
    state = model.trained_state()
    assert not any(k.startswith("base.encoder.") for k in state) and "spread.log_tau" in state
    other = HintColorizer("lite0", channels=16, bins=bins_tensor())
    other.load_trained_state(state)
    L = torch.rand(1, 1, 64, 64) * 100
    cells = hint_cells([[Hint(10, 10, 20.0, 20.0)]], 64, 64, 16, 16)
    assert torch.allclose(other.eval()(L, cells), model(L, cells))


def test_the_spread_starts_as_the_untrained_rule():
    spread = HintSpread(8)
    assert spread.log_tau.exp().item() == pytest.approx(UNTRAINED["tau"])
    assert spread.log_reach.exp().item() == pytest.approx(UNTRAINED["reach"])
    features = torch.randn(1, 8, 4, 4)
    e, keep = spread.embed(features, torch.zeros(1, 1, 16, 16))
    assert torch.allclose(e, torch.nn.functional.normalize(features, dim=1), atol=1e-6)  # identity on the features
    assert torch.allclose(keep, torch.full_like(keep, UNTRAINED["keep"]))


def test_the_untrained_constants_are_the_best_of_their_recorded_grid():
    record = RESULTS / "cpu-hints-nips17-dev" / "tuning" / "untrained.jsonl"
    rows = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(rows) == 48 and best_untrained(rows) == UNTRAINED


def test_a_hex_colour_becomes_its_lab_ab():
    hint = hint_from_hex(3, 4, "#d04030", 8)
    a, b = rgb2lab(np.array([[[0xD0, 0x40, 0x30]]]) / 255)[0, 0, 1:]
    assert (hint.x, hint.y, hint.side) == (3, 4, 8) and hint.a == pytest.approx(a, abs=1e-3) and hint.b == pytest.approx(b, abs=1e-3)
    assert parse_hint("3,4,#d04030").side == 6
    for bad in ("3,4", "3,4,red", "x,4,#d04030", "3,4,#d04030,0", "3,4,#d04030,6,7"):
        with pytest.raises(ValueError, match="--hint"):
            parse_hint(bad)


def test_swatches_group_a_two_mode_distribution():
    bins = bins_tensor()
    probs = torch.zeros(len(bins))
    red = int(torch.linalg.vector_norm(bins - torch.tensor([50.0, 40.0]), dim=1).argmin())
    blue = int(torch.linalg.vector_norm(bins - torch.tensor([0.0, -50.0]), dim=1).argmin())
    near_red = int(torch.linalg.vector_norm(bins - torch.tensor([60.0, 40.0]), dim=1).argmin())
    probs[red], probs[near_red], probs[blue] = 0.4, 0.2, 0.4
    found = swatches(probs, bins)
    assert len(found) == 2 and sum(s["p"] for s in found) == pytest.approx(1.0)
    reds = next(s for s in found if s["a"] > 30)
    assert reds["p"] == pytest.approx(0.6) and 50 < reds["a"] < 60  # the two red bins joined, their weighted mean


def test_colorize_with_a_hint_on_the_command_line(tmp_path):
    from PIL import Image

    from colorlib.color import rgb_to_lab
    from colorlib.data import rgb_to_tensor

    if not (RESULTS / "cpu-hints-nips17-dev").is_dir():
        pytest.skip("no committed hint model")
    photo = tmp_path / "gray.png"
    Image.fromarray(np.full((96, 128, 3), 128, np.uint8)).save(photo)
    (tmp_path / "broken.png").write_text("not an image")
    run = subprocess.run([sys.executable, "-m", "colorlib", "colorize", str(photo), str(tmp_path / "broken.png"),
                          "--hint", "40,30,#2060d0,10", "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if "broken.png" in line]
    assert len(errors) == 1, run.stderr  # reported once
    out = np.asarray(Image.open(tmp_path / "out" / "gray.png").convert("RGB"))
    lab = rgb_to_lab(rgb_to_tensor(out))
    hint = hint_from_hex(40, 30, "#2060d0")
    patch = lab[1:, 27:33, 37:43].mean((1, 2))
    assert torch.linalg.vector_norm(patch - torch.tensor([hint.a, hint.b])) < 3  # the hinted patch has its colour
    far = subprocess.run([sys.executable, "-m", "colorlib", "colorize", str(photo), "--hint", "400,30,#2060d0",
                          "--out", str(tmp_path / "out2")], capture_output=True, text=True, cwd=REPO)
    assert far.returncode == 1 and "outside the photo" in far.stderr


def test_the_exported_graphs_compute_what_pytorch_computes(tmp_path):
    from colorlib.export import export_hints_onnx, hint_parity
    from colorlib.train import TrainConfig, train

    base = train(TrainConfig(loss="full-soft", profile="smoke-semantic", data=None, out=str(tmp_path / "semantic"),
                             steps=2, device="cpu"))
    folder = train(TrainConfig(loss="psnr", profile="smoke-hints", data=None, out=str(tmp_path / "hints"), steps=3,
                               device="cpu", base=str(base / "model.pt")))
    config = json.loads((folder / "config.json").read_text())
    assert config["profile"] == "smoke-hints" and config["base"].endswith("model.pt")
    meta = export_hints_onnx(folder / "model.pt", tmp_path / "onnx", fp16=False)
    assert set(meta["graphs"]) == {"hint-parts", "hint-spread"}
    L = torch.rand(2, 1, 64, 96) * 100
    ab = torch.randn(2, 2, 64, 96) * 20
    hints = [evaluation_hints(ab[0], 3, 0), evaluation_hints(ab[1], 7, 1)]
    parity = hint_parity(folder / "model.pt", tmp_path / "onnx", L, hints)
    assert parity["max_ab_diff"] < 1e-2, parity


def test_the_psnr_loss_averages_each_photos_log_error():
    from colorlib.losses import LOSSES, check_loss, compute_loss, uses_regression

    assert "psnr" not in LOSSES and check_loss("psnr") == "psnr" and uses_regression("psnr")
    truth = torch.zeros(2, 2, 4, 4)
    pred = torch.zeros(2, 2, 4, 4)
    pred[0] += 11.0  # photo 0: every pixel off by 11 in a and in b; photo 1: exact
    value = compute_loss("psnr", pred, truth, bins_tensor())
    mse0 = 2 * (11.0 / 110) ** 2
    assert float(value) == pytest.approx((10 * np.log10(mse0 + 1e-8) + 10 * np.log10(1e-8)) / 2, rel=1e-5)


def test_the_committed_hint_model_names_its_data_its_base_and_its_command():
    from colorlib.hints import default_hint_checkpoint
    from colorlib.profiles import HINT_LOSS
    from colorlib.runs import load_model, read_config

    path = default_hint_checkpoint()
    config = read_config(RESULTS / "cpu-hints-nips17-dev" / HINT_LOSS)
    assert config["profile"] == "cpu-hints" and config["loss"] == HINT_LOSS
    assert config["data"].endswith("nips17-dev") and config["split"] == "train" and config["train_images"] > 700
    assert config["base"] == "results/cpu-semantic-imagenette-160/full-soft/model.pt"
    assert config["command"][:2] == ["colorlib", "train"]
    model, info = load_model(path)
    assert info["model"]["spread.log_tau"].dtype == torch.float16  # fp16, as every committed model
    base, _ = load_model(REPO / config["base"])
    L = torch.rand(2, 1, 64, 64) * 100
    assert torch.allclose(model(L), base(L), atol=1e-5)  # with no hint it is the model it started from
