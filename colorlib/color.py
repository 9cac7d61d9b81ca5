"""CIE Lab <-> sRGB in PyTorch (chapter 1).

Conventions used throughout colorlib:

* RGB is non-linear sRGB in 0..1, channels first: ``(3, H, W)`` or ``(N, 3, H, W)``.
* Lab uses the D65 white point and the 2° observer: ``L`` in 0..100, ``a`` and ``b`` in
  Lab units (roughly -110..110 for sRGB colours).

The constants are the ones scikit-image uses, so ``rgb_to_lab`` agrees with
``skimage.color.rgb2lab`` to float precision on every 8-bit colour. Everything is plain tensor
arithmetic, so it runs on CPU or CUDA, in float32 or float64, and is differentiable.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

# sRGB (D65) -> XYZ, as in skimage.color.colorconv.xyz_from_rgb.
_XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
# D65 reference white, 2° observer.
WHITE_D65 = (0.95047, 1.0, 1.08883)
# CIE thresholds in scikit-image's (rounded) form: t > EPSILON uses the cube root.
_EPSILON = 0.008856
_KAPPA_SLOPE = 7.787
# Linear-RGB slack for "in gamut": the rounded matrix puts Lab white at linear RGB 1.00002.
GAMUT_TOL = 1e-4
AB_SCALE = 110.0  # ab / 110 lies in about [-1, 1]: the scale of both regression heads and the l2 loss


def _channel_dim(x: Tensor) -> int:
    if x.dim() not in (3, 4) or x.shape[-3] != 3:
        raise ValueError(f"expected a (3,H,W) or (N,3,H,W) tensor, got shape {tuple(x.shape)}")
    return x.dim() - 3


def _mix(x: Tensor, matrix: Tensor) -> Tensor:
    """Apply a 3x3 colour matrix along the channel axis."""
    return torch.einsum("ij,...jhw->...ihw", matrix, x)


def _matrix(x: Tensor, inverse: bool = False) -> Tensor:
    return _constant("inverse" if inverse else "forward", x.device, x.dtype)


def _white(x: Tensor) -> Tensor:
    return _constant("white", x.device, x.dtype)


@functools.lru_cache(maxsize=64)
def _constant(name: str, device: torch.device, dtype: torch.dtype) -> Tensor:
    """The colour constants on a device, made once: a host-to-device copy per call would make every
    training step wait for the device (the Lab conversion runs on the GPU in ``device`` data mode)."""
    if name == "white":
        return torch.tensor(WHITE_D65, dtype=dtype, device=device).view(3, 1, 1)
    m = torch.tensor(_XYZ_FROM_RGB, dtype=torch.float64)
    return (torch.linalg.inv(m) if name == "inverse" else m).to(device=device, dtype=dtype)


def srgb_to_linear(rgb: Tensor) -> Tensor:
    """Undo the sRGB transfer curve. Input is clamped to 0..1 first (gradients stay finite)."""
    rgb = rgb.clamp(0.0, 1.0)
    # Clamp inside the power branch so torch.where never differentiates pow at a bad point.
    high = ((rgb.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4
    return torch.where(rgb > 0.04045, high, rgb / 12.92)


def linear_to_srgb(lin: Tensor) -> Tensor:
    """Apply the sRGB transfer curve to linear light in 0..1."""
    high = 1.055 * lin.clamp_min(0.0031308) ** (1 / 2.4) - 0.055
    return torch.where(lin > 0.0031308, high, lin * 12.92)


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in 0..1, ``(3,H,W)`` or ``(N,3,H,W)`` -> Lab of the same shape (L 0..100, ab in Lab units)."""
    _channel_dim(rgb)
    xyz = _mix(srgb_to_linear(rgb), _matrix(rgb)) / _white(rgb)
    f = torch.where(
        xyz > _EPSILON,
        xyz.clamp_min(_EPSILON) ** (1 / 3),  # clamp: the cube root's slope is infinite at 0
        _KAPPA_SLOPE * xyz + 16 / 116,
    )
    fx, fy, fz = f.unbind(-3)
    lab = torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-3)
    return lab


def lab_to_linear(lab: Tensor) -> Tensor:
    """Lab -> linear-light RGB *without* clamping (values outside 0..1 mean out of gamut)."""
    _channel_dim(lab)
    L, a, b = lab.unbind(-3)
    fy = (L + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], dim=-3)
    cube = f**3
    xyz = torch.where(cube > _EPSILON, cube, (f - 16 / 116) / _KAPPA_SLOPE) * _white(lab)
    return _mix(xyz, _matrix(lab, inverse=True))


def lab_to_rgb(lab: Tensor, return_mask: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Lab, ``(3,H,W)`` or ``(N,3,H,W)`` -> sRGB in 0..1.

    Colours outside the sRGB gamut are clamped to it, never NaN. With ``return_mask=True`` also
    returns a boolean ``(..., H, W)`` mask that is True where clamping changed the colour.
    """
    lin = lab_to_linear(lab)
    out_of_gamut = ((lin < -GAMUT_TOL) | (lin > 1 + GAMUT_TOL)).any(dim=-3)
    rgb = linear_to_srgb(lin.clamp(0.0, 1.0))
    return (rgb, out_of_gamut) if return_mask else rgb


def in_gamut(lab: Tensor, tol: float = GAMUT_TOL) -> Tensor:
    """True where a Lab colour ``(..., 3, H, W)`` is a displayable sRGB colour (linear RGB within 0..1 ± tol)."""
    lin = lab_to_linear(lab)
    return ((lin >= -tol) & (lin <= 1 + tol)).all(dim=-3)


def split_lab(lab: Tensor) -> tuple[Tensor, Tensor]:
    """Split Lab ``(…,3,H,W)`` into ``L (…,1,H,W)`` and ``ab (…,2,H,W)``."""
    return lab[..., :1, :, :], lab[..., 1:, :, :]


def join_lab(L: Tensor, ab: Tensor) -> Tensor:
    """Inverse of :func:`split_lab`."""
    return torch.cat([L, ab], dim=-3)
