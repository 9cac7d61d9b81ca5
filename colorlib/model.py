"""Zhang et al.'s ECCV16 colorization network (chapter 4).

Eight blocks of 3×3 convolutions with ReLU, BatchNorm at the end of blocks 1–7, no pooling: resolution
drops by striding (blocks 1–3, to 1/8), blocks 5–6 use dilation 2 to widen the receptive field without
losing resolution, and block 8 upsamples once (to 1/4) before a 1×1 convolution to Q = 313 class
logits. At ``width=1`` the layout and parameter names are those of the released PyTorch model
(``model1.0.weight`` … ``model8.6.bias``, ``model_out.weight``), so its weights load directly.

Two regression heads, for two different purposes:

* ``model_out`` is the released model's head: a 1×1 convolution over the *softmax* of the 313 logits,
  ab = 110 · model_out(softmax(z)). In the released weights it is a fixed table (each bin's centre / 110),
  so it decodes the distribution's plain mean: what Zhang's own demo shows. It is never trained here.
* ``ab_head`` is the ``l2`` loss's head, as Zhang's L2 baseline: a 1×1 convolution from the block-8
  features (before the 313-way classifier) straight to 2 channels, ab = 110 · ab_head(features).

Units: the input ``L`` is in 0..100 and is normalised inside as (L − 50)/100; ab outputs are in Lab
units (both heads work in ab/110 and scale by 110, as the released model does).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .color import AB_SCALE
from .encode import DEFAULT_T, annealed_mean
from .profiles import ARCHS
from .quantize import bins_tensor

L_CENTER, L_SCALE = 50.0, 100.0
# (input, output, number of convs, stride of the last conv, dilation) for blocks 1–7
_BLOCKS = [(1, 64, 2, 2, 1), (64, 128, 2, 2, 1), (128, 256, 3, 2, 1), (256, 512, 3, 1, 1),
           (512, 512, 3, 1, 2), (512, 512, 3, 1, 2), (512, 512, 3, 1, 1)]
OFFICIAL_PARAMETERS = 32_236_011  # the released colorization_release_v2 model, width 1 (without ab_head)
DECODERS = ("annealed-mean", "regression", "softmax-head")


def _ch(c: int, width: float) -> int:
    return c if c == 1 else max(8, int(round(c * width)))


def _block(cin: int, cout: int, n: int, stride: int, dilation: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n):
        s = stride if i == n - 1 else 1
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, s, padding=dilation, dilation=dilation), nn.ReLU(True)]
    return nn.Sequential(*layers, nn.BatchNorm2d(cout))


class ColorizationNet(nn.Module):
    """``L (N,1,H,W)`` in 0..100 -> class logits ``(N,Q,H/4,W/4)``. ``width`` scales every channel count."""

    SIZE_MULTIPLE = 8  # three stride-2 blocks: inputs whose sides are multiples of 8 need no padding

    def __init__(self, width: float = 1.0, q: int = 313, bins: Tensor | None = None):
        super().__init__()
        self.width, self.q = width, q
        for i, (cin, cout, n, stride, dil) in enumerate(_BLOCKS, start=1):
            setattr(self, f"model{i}", _block(_ch(cin, width), _ch(cout, width), n, stride, dil))
        c7, c8 = _ch(512, width), _ch(256, width)
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(c7, c8, 4, 2, 1), nn.ReLU(True),
            nn.Conv2d(c8, c8, 3, 1, 1), nn.ReLU(True),
            nn.Conv2d(c8, c8, 3, 1, 1), nn.ReLU(True),
            nn.Conv2d(c8, q, 1, 1, 0),
        )
        # The released model's head over the softmax (a fixed table in the released weights; see above).
        self.model_out = nn.Conv2d(q, 2, 1, bias=False)
        # The l2 loss's head: ab/110 regressed directly from the block-8 features.
        self.ab_head = nn.Conv2d(c8, 2, 1)
        self.register_buffer("bins", bins_tensor() if bins is None else bins.float(), persistent=False)
        if len(self.bins) != q:
            raise ValueError(f"{len(self.bins)} bins for a network with q={q} outputs")

    def features(self, L: Tensor) -> Tensor:
        """Block-8 features ``(N,C8,H/4,W/4)``: everything before the 313-way classifier."""
        x = (L - L_CENTER) / L_SCALE
        for i in range(1, 8):
            x = getattr(self, f"model{i}")(x)
        return self.model8[:-1](x)

    def forward(self, L: Tensor, regression: bool = False) -> Tensor:
        """Class logits ``(N,Q,H/4,W/4)``, or with ``regression=True`` the ``l2`` head's ab
        ``(N,2,H/4,W/4)`` in Lab units (inside ``forward`` so that DDP synchronises its gradients too)."""
        x = self.features(L)
        return AB_SCALE * self.ab_head(x) if regression else self.model8[-1](x)

    def select_heads(self, regression: bool) -> None:
        """Freeze the heads a loss never uses: ``l2`` trains ``ab_head`` and not the 313-way classifier,
        the classification losses the reverse; the released model's ``model_out`` is never trained."""
        self.model_out.requires_grad_(False)
        self.ab_head.requires_grad_(regression)
        self.model8[-1].requires_grad_(not regression)

    def trained_state(self) -> dict[str, Tensor]:
        """The state to save (all of it, for this network)."""
        return self.state_dict()

    def load_trained_state(self, state: dict[str, Tensor]) -> None:
        self.load_state_dict(state)

    def softmax_head_ab(self, logits: Tensor) -> Tensor:
        """The released model's decoding: ``110 · model_out(softmax(logits))``, ab at 1/4 resolution."""
        return AB_SCALE * self.model_out(torch.softmax(logits, dim=1))

    @torch.no_grad()
    def colorize_ab(self, L: Tensor, T: float = DEFAULT_T, decoder: str = "annealed-mean") -> Tensor:
        """ab ``(N,2,H,W)`` at the input's resolution, upsampled bilinearly from 1/4 resolution.

        ``decoder``: ``annealed-mean`` (Zhang's, temperature ``T``), ``regression`` (the ``l2`` head) or
        ``softmax-head`` (the released model's ``model_out``, as in Zhang's demo)."""
        if decoder not in DECODERS:
            raise ValueError(f"decoder: unknown value {decoder!r}; allowed: {', '.join(DECODERS)}")
        if decoder == "regression":
            ab = self(L, regression=True)
        elif decoder == "softmax-head":
            ab = self.softmax_head_ab(self(L))
        else:
            ab = annealed_mean(self(L).float(), self.bins, T)
        return F.interpolate(ab.float(), size=L.shape[-2:], mode="bilinear", align_corners=False)


def build_network(settings: dict, bins: Tensor | None = None) -> nn.Module:
    """The network a profile describes (``settings``: :meth:`Profile.as_dict`, or a run's saved
    ``profile_settings``): ``eccv16`` is :class:`ColorizationNet` at ``width``; ``semantic`` is
    :class:`~colorlib.semantic.SemanticColorizer` with ``encoder`` and a decoder of 256·``width`` channels; ``hints``
    is that network, frozen, with a hint spread (:class:`~colorlib.hints.HintColorizer`)."""
    arch = settings.get("arch", "eccv16")  # runs saved before the field existed are eccv16
    if arch == "eccv16":
        return ColorizationNet(width=settings["width"], bins=bins)
    if arch == "semantic":
        from .semantic import SemanticColorizer

        return SemanticColorizer(settings["encoder"], channels=_ch(256, settings["width"]), bins=bins,
                                 train_blocks=settings.get("encoder_blocks", 0),
                                 encoder_scale=settings.get("encoder_scale", 1))
    if arch == "hints":
        from .hints import HintColorizer

        return HintColorizer(settings["encoder"], channels=_ch(256, settings["width"]), bins=bins,
                             encoder_scale=settings.get("encoder_scale", 1))
    raise ValueError(f"arch: unknown value {arch!r}; allowed: {', '.join(ARCHS)}")


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def load_official(path: str | Path, model: ColorizationNet | None = None) -> ColorizationNet:
    """Load the released ECCV16 weights (``colorization_release_v2-9b330a0b.pth``, which users download
    themselves) into a width-1 network. The file is read with ``weights_only=True``.

    BatchNorm ``num_batches_tracked`` counters may be absent from the file, and so is our ``l2`` head
    (``ab_head``, which the released model does not have); any other missing or unexpected key is an error.
    """
    model = model or ColorizationNet(width=1.0)
    state = torch.load(path, map_location="cpu", weights_only=True)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not (k.endswith("num_batches_tracked") or k.startswith("ab_head."))]
    if missing or result.unexpected_keys:
        raise ValueError(f"{Path(path).name}: missing keys {missing[:5]}, unexpected keys {result.unexpected_keys[:5]}")
    return model


def describe_blocks(net: ColorizationNet, size: int = 176) -> list[dict]:
    """Block by block for a ``size``² input: output shape, parameters, and receptive field (pixels of the
    input that can influence one output unit). The receptive field grows by (k_eff − 1)·jump per conv,
    with k_eff = dilation·(k − 1) + 1 and jump the product of the strides so far."""
    rows, rf, jump = [], 1, 1
    x = (torch.zeros(1, 1, size, size) - L_CENTER) / L_SCALE
    for i in range(1, 9):
        block = getattr(net, f"model{i}")
        convs = [m for m in block if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
        for layer in block:
            if isinstance(layer, nn.ConvTranspose2d):  # ×2 up: finer jump, a 4-tap kernel
                jump /= layer.stride[0]
                rf += (layer.kernel_size[0] - 1) * jump
            elif isinstance(layer, nn.Conv2d):
                k, d, s = layer.kernel_size[0], layer.dilation[0], layer.stride[0]
                rf += (d * (k - 1)) * jump
                jump *= s
        with torch.no_grad():
            x = block(x)
        rows.append({"block": i, "output": f"{x.shape[1]}×{x.shape[2]}×{x.shape[3]}",
                     "resolution": f"1/{size // x.shape[2]}", "parameters": parameter_count(block),
                     "receptive_field": int(rf), "channels": x.shape[1], "side": x.shape[2],
                     "convs": len(convs), "dilation": max(m.dilation[0] for m in convs),
                     "upsamples": any(isinstance(m, nn.ConvTranspose2d) for m in convs),
                     "batchnorm": any(isinstance(m, nn.BatchNorm2d) for m in block)})
    return rows
