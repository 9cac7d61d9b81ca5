import pytest
import torch

from colorlib.encode import annealed_mean
from colorlib.model import OFFICIAL_PARAMETERS, ColorizationNet, load_official, parameter_count


def test_full_width_has_the_released_parameter_count():
    net = ColorizationNet(width=1.0)
    # the released model has no l2 head: ours adds a 1x1 conv from 256 features to ab (256*2 + 2)
    assert parameter_count(net) - parameter_count(net.ab_head) == OFFICIAL_PARAMETERS == 32_236_011
    assert parameter_count(net.ab_head) == 514


@pytest.mark.parametrize("width", [0.125, 0.25])
def test_shapes_block_by_block(width):
    net = ColorizationNet(width=width).eval()
    L = torch.rand(2, 1, 64, 48) * 100
    sizes = []
    x = (L - 50) / 100
    for i in range(1, 9):
        x = getattr(net, f"model{i}")(x)
        sizes.append(tuple(x.shape[-2:]))
    # strides 2, 2, 2 then constant (dilated blocks keep the size), then ×2 up: logits at 1/4
    assert sizes == [(32, 24), (16, 12), (8, 6), (8, 6), (8, 6), (8, 6), (8, 6), (16, 12)]
    assert net(L).shape == (2, 313, 16, 12)
    assert net(L, regression=True).shape == (2, 2, 16, 12)
    for decoder in ("annealed-mean", "regression", "softmax-head"):
        assert net.colorize_ab(L, decoder=decoder).shape == (2, 2, 64, 48)
    with pytest.raises(ValueError, match="decoder"):
        net.colorize_ab(L, decoder="mode")


def _official_layout_state() -> dict:
    """The released model's keys and shapes, written out from the paper's table (not from our code)."""
    g = torch.Generator().manual_seed(0)
    state = {}
    blocks = {1: [(1, 64), (64, 64)], 2: [(64, 128), (128, 128)], 3: [(128, 256), (256, 256), (256, 256)],
              4: [(256, 512)] + [(512, 512)] * 2, 5: [(512, 512)] * 3, 6: [(512, 512)] * 3, 7: [(512, 512)] * 3}
    for b, convs in blocks.items():
        for j, (cin, cout) in enumerate(convs):
            state[f"model{b}.{2 * j}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * 0.01
            state[f"model{b}.{2 * j}.bias"] = torch.randn(cout, generator=g)
        bn, c = 2 * len(convs), convs[-1][1]
        state[f"model{b}.{bn}.weight"] = torch.rand(c, generator=g)
        state[f"model{b}.{bn}.bias"] = torch.randn(c, generator=g)
        state[f"model{b}.{bn}.running_mean"] = torch.randn(c, generator=g)
        state[f"model{b}.{bn}.running_var"] = torch.rand(c, generator=g) + 0.5
    state["model8.0.weight"] = torch.randn(512, 256, 4, 4, generator=g) * 0.01  # ConvTranspose: (in, out, k, k)
    state["model8.0.bias"] = torch.randn(256, generator=g)
    for j in (2, 4):
        state[f"model8.{j}.weight"] = torch.randn(256, 256, 3, 3, generator=g) * 0.01
        state[f"model8.{j}.bias"] = torch.randn(256, generator=g)
    state["model8.6.weight"] = torch.randn(313, 256, 1, 1, generator=g) * 0.01
    state["model8.6.bias"] = torch.randn(313, generator=g)
    state["model_out.weight"] = torch.randn(2, 313, 1, 1, generator=g)
    return state


def test_official_layout_loads_with_no_missing_or_unexpected_keys(tmp_path):
    state = _official_layout_state()
    assert sum(v.numel() for k, v in state.items() if "running" not in k) == OFFICIAL_PARAMETERS
    path = tmp_path / "colorization_release_v2-9b330a0b.pth"
    torch.save(state, path)
    net = load_official(path)
    for key, value in state.items():
        assert torch.equal(net.state_dict()[key], value), key


def test_official_decoding_returns_the_exact_bin_colours(tmp_path):
    """With the released head (each bin's centre / 110) and Zhang's exact bins, a logit that puts all
    mass on bin q decodes to bin q's colour, by his demo's head and by the annealed mean alike."""
    from colorlib.quantize import gamut_bins

    bins = torch.as_tensor(gamut_bins(), dtype=torch.float32)
    state = _official_layout_state()
    state["model_out.weight"] = (bins.T / 110.0).reshape(2, 313, 1, 1)
    torch.save(state, tmp_path / "colorization_release_v2-9b330a0b.pth")
    net = load_official(tmp_path / "colorization_release_v2-9b330a0b.pth").eval()
    for q in (0, 100, 312):
        logits = torch.full((1, 313, 2, 2), -30.0)
        logits[:, q] = 30.0
        demo = net.softmax_head_ab(logits)[0, :, 0, 0]
        annealed = annealed_mean(logits, net.bins)[0, :, 0, 0]
        assert torch.allclose(demo, bins[q], atol=1e-3) and torch.allclose(annealed, bins[q], atol=1e-3)


def test_wrong_layout_is_refused(tmp_path):
    state = _official_layout_state()
    state["extra.weight"] = torch.zeros(1)
    del state["model3.4.bias"]
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="missing keys"):
        load_official(tmp_path / "bad.pth")
