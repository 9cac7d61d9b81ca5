import numpy as np
import pytest
import torch
from skimage import color as skcolor

from colorlib.color import in_gamut, lab_to_rgb, rgb_to_lab


def _cube_slabs(step: int = 16):
    """All 16,777,216 8-bit sRGB colours, in slabs of `step` red values: (H, W, 3) float64 in 0..1."""
    v = np.arange(256) / 255.0
    g, b = np.meshgrid(v, v, indexing="ij")
    for r0 in range(0, 256, step):
        r = v[r0 : r0 + step]
        yield np.stack(np.broadcast_arrays(r[:, None, None], g[None], b[None]), axis=-1).reshape(-1, 256, 3)


def test_full_8bit_cube_matches_skimage():
    worst64 = worst32 = worst_round = 0.0
    for slab in _cube_slabs():
        ref = skcolor.rgb2lab(slab)
        x = torch.from_numpy(slab).permute(2, 0, 1)
        lab64 = rgb_to_lab(x)
        worst64 = max(worst64, float(np.abs(lab64.permute(1, 2, 0).numpy() - ref).max()))
        lab32 = rgb_to_lab(x.float()).double()
        worst32 = max(worst32, float(np.abs(lab32.permute(1, 2, 0).numpy() - ref).max()))
        worst_round = max(worst_round, float((lab_to_rgb(lab64) - x).abs().max()))
    assert worst64 <= 1e-3
    assert worst32 <= 1e-2
    assert worst_round <= 1e-5


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 3, 4, 4)])
def test_shapes_and_batch_agree(shape):
    x = torch.rand(shape, dtype=torch.float64)
    lab = rgb_to_lab(x)
    assert lab.shape == x.shape
    if x.dim() == 4:
        assert torch.allclose(lab[1], rgb_to_lab(x[1]))


def test_known_colours():
    white = rgb_to_lab(torch.ones(3, 1, 1, dtype=torch.float64))[:, 0, 0]
    # skimage's 6-digit matrix leaves white at ab ≈ (-0.002, 0.005); we match skimage, not the ideal
    assert torch.allclose(white, torch.tensor([100.0, 0.0, 0.0], dtype=torch.float64), atol=1e-2)
    black = rgb_to_lab(torch.zeros(3, 1, 1, dtype=torch.float64))[:, 0, 0]
    assert torch.allclose(black, torch.zeros(3, dtype=torch.float64), atol=1e-9)


def test_gradients_flow():
    x = torch.rand(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rgb_to_lab, (x,))
    # also at the awkward points: black, white, the linear/power seam
    edge = torch.tensor([0.0, 1.0, 0.04045], dtype=torch.float64).view(3, 1, 1).expand(3, 2, 2).clone()
    edge.requires_grad_(True)
    rgb_to_lab(edge).sum().backward()
    assert torch.isfinite(edge.grad).all()
    lab = torch.tensor([50.0, 20.0, -30.0], dtype=torch.float64).view(3, 1, 1).requires_grad_(True)
    assert torch.autograd.gradcheck(lab_to_rgb, (lab,))


def test_out_of_gamut_is_clamped_and_flagged_never_nan():
    lab = torch.tensor([[50.0, 50.0, 0.0, 100.0], [0.0, 120.0, 0.0, 0.0], [0.0, -120.0, 0.0, 0.0]]).view(3, 1, 4)
    rgb, outside = lab_to_rgb(lab, return_mask=True)
    assert torch.isfinite(rgb).all() and (rgb >= 0).all() and (rgb <= 1).all()
    assert outside.tolist() == [[False, True, False, False]]
    assert in_gamut(lab).tolist() == [[True, False, True, True]]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(rgb_to_lab(x.cuda()).cpu(), rgb_to_lab(x), atol=1e-4)
