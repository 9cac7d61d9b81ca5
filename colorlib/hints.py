"""Give the colorizer a hint (chapter 10): user-guided colorization.

Colour is ambiguous, and a colorizer that predicts a *distribution* at every pixel says where: a shirt may be red
or blue. Zhang et al.'s follow-up ("Real-Time User-Guided Image Colorization with Learned Deep Priors", 2017)
lets a person resolve it: give a few pixels a colour and the network spreads it over what belongs together.

**How a hint enters and spreads here.** The committed semantic colorizer (chapter 8) stays frozen; a small
*spread* is put on top of it. At every cell ``p`` of its 1/4-resolution grid, the colour distribution becomes a
mixture of the model's own prediction and the hints' colours::

    p_out(p) = π_0(p) · softmax(z(p))  +  Σ_k π_k(p) · q_k
    π(p)     = softmax over [ keep(p),  τ_K · cos(e_p, e_k) − d(p, k)² / (2 r_K²)  for each hint k ]

``e`` is an embedding of the decoder's features (what the encoder recognises there, and the lightness), ``q_k`` the
hint's colour soft-encoded over the 313 bins (a Gaussian of :data:`HINT_COLOUR_SIGMA` Lab units), ``d`` the
distance on the grid in units of its shorter side, ``r`` the reach, ``τ`` the sharpness and ``keep(p)`` how firmly
the model keeps its own colour; with ``K`` hints, ``τ_K = τ·(1 + K)^α`` and ``r_K = r·(1 + K)^−β``, so that each of many
hints reaches less far than a single one. So a hint reaches the pixels that *look like* its own pixel and are not too far
away, and leaves the rest alone; with no hint, ``p_out`` is exactly the model's distribution. The output is
decoded as every class model is, by the annealed mean.

* **Untrained** (:func:`similarity_spread`): ``e`` the normalised decoder features themselves, and fixed ``τ``,
  ``r``, ``keep`` (:data:`UNTRAINED`), ``α = β = 0``: the rule chapter 10 compares with.
* **Trained** (:class:`HintColorizer`, ``arch = "hints"``): the embedding is a learned 1×1 convolution of the
  features and the lightness (starting as the identity) plus a small 3×3 context branch (starting at zero), ``keep``
  a learned 1×1 convolution, ``τ``, ``r``, ``α`` and
  ``β`` learned; trained by the book's trainer on simulated hints, with the ``psnr`` loss on the hinted annealed mean.

Hints are simulated as the paper does (:func:`simulate_hints`): their number is geometric with ``p = 1/8`` (so
1/8 of the samples have none), their places Gaussian around the centre (σ = ¼ of the side), each a square patch
of 1–9 px filled with the mean true ab of that patch. A hint is a :class:`Hint` in the photo's own pixels; the
patch itself is painted with the hint's colour (:func:`paint_patches`), the rest is what the spread gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .color import join_lab, lab_to_rgb, rgb_to_lab
from .encode import DEFAULT_SIGMA, DEFAULT_T, annealed_mean

# --- simulated hints: the paper's parameters, in one place ----------------------------------------------------
HINT_GEOMETRIC_P = 1 / 8  # P(n hints) = (1 − p)^n · p: 1/8 of the samples have none, 7 on average
HINT_CENTRE_SIGMA = 0.25  # places: Gaussian around the centre, σ = ¼ of the side
HINT_PATCH_SIDES = (1, 9)  # each hint a square patch of 1..9 px (uniform), filled with its mean true ab
# The paper's count rarely gives many hints (more than 20 to 7% of the samples, more than 50 to 0.1%), and a spread
# trained on it alone learned to serve a few hints at the cost of many (appendix A.9). So half of the training samples
# draw their count uniformly from 0..HINT_UNIFORM_MAX instead: the range chapter 10's curve measures.
HINT_UNIFORM_SHARE = 0.5
HINT_UNIFORM_MAX = 50
EVAL_HINT_SIDE = 6  # the evaluation's random hints: 6×6 patches (the paper's PSNR curve)
HINT_COUNTS = (0, 1, 2, 5, 10, 20, 50)  # the numbers of hints of the PSNR curve
# The paper's PSNR (dB) against the number of random 6×6 hints, on 1000 ImageNet photos, their full-size network
# (Zhang et al. 2017, Fig. 4): theirs, on their data; chapter 10 draws it beside ours.
PAPER_PSNR = {0: 24.43, 1: 25.37, 2: 26.20, 5: 27.39, 10: 28.42, 20: 29.34, 50: 30.42}
GRID_STRIDE = 4  # pixels of the input per cell of the network's grid (the semantic colorizer predicts at 1/4)
HINT_COLOUR_SIGMA = DEFAULT_SIGMA  # Lab units: a hint's colour over the bins, as wide as the soft targets' kernel
DEFAULT_HINT_SIDE = 6  # px: a hint given in the page or on the command line without a size
# The untrained spread's constants, chosen by colorlib.hints.tune_untrained on the tune photos of the hint profile's
# training data (the record: results/cpu-hints-nips17-dev/tuning/untrained.jsonl); the trained spread starts here.
UNTRAINED = {"tau": 10.0, "reach": 0.5, "keep": 2.0}


@dataclass(frozen=True)
class Hint:
    """One hint: the centre of a ``side``×``side`` patch at row ``y``, column ``x`` (the photo's own pixels, from the
    top-left corner) that has colour (``a``, ``b``) in Lab units."""

    y: int
    x: int
    a: float
    b: float
    side: int = DEFAULT_HINT_SIDE


def patch_bounds(y: int, x: int, side: int, height: int, width: int) -> tuple[int, int, int, int]:
    """Rows ``y0:y1`` and columns ``x0:x1`` of the ``side``-pixel patch centred at (``y``, ``x``), inside the photo."""
    y0, x0 = max(0, y - side // 2), max(0, x - side // 2)
    return y0, min(height, y0 + side), x0, min(width, x0 + side)


def hint_from_hex(x: int, y: int, colour: str, side: int = DEFAULT_HINT_SIDE) -> Hint:
    """A hint at pixel (``x``, ``y``) whose colour is the ab of the sRGB ``#RRGGBB`` ``colour``."""
    text = colour.lstrip("#")
    if len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ValueError(f"hint colour: {colour!r} is not #RRGGBB")
    rgb = torch.tensor([int(text[i:i + 2], 16) / 255 for i in (0, 2, 4)], dtype=torch.float32).view(3, 1, 1)
    _, a, b = rgb_to_lab(rgb).flatten().tolist()
    if side < 1:
        raise ValueError(f"hint size: must be ≥ 1 pixel, got {side}")
    return Hint(y=int(y), x=int(x), a=a, b=b, side=int(side))


def parse_hint(text: str) -> Hint:
    """``X,Y,#RRGGBB[,SIZE]`` (the command line's ``--hint``) as a :class:`Hint`; a one-line error otherwise."""
    parts = text.split(",")
    try:
        if len(parts) not in (3, 4):
            raise ValueError
        x, y = int(parts[0]), int(parts[1])
        side = int(parts[3]) if len(parts) == 4 else DEFAULT_HINT_SIDE
        return hint_from_hex(x, y, parts[2], side)
    except ValueError as exc:
        detail = f" ({exc})" if str(exc) else ""
        raise ValueError(f"--hint {text!r}: expected X,Y,#RRGGBB[,SIZE] with X, Y, SIZE whole pixels{detail}") from None


def random_places(n: int, height: int, width: int, generator: torch.Generator) -> list[tuple[int, int]]:
    """``n`` hint places (row, column): Gaussian around the centre with σ = :data:`HINT_CENTRE_SIGMA` of each side,
    clipped to the photo."""
    z = torch.randn(n, 2, generator=generator, dtype=torch.float64)
    ys = ((0.5 + HINT_CENTRE_SIGMA * z[:, 0]) * height).floor().clamp(0, height - 1)
    xs = ((0.5 + HINT_CENTRE_SIGMA * z[:, 1]) * width).floor().clamp(0, width - 1)
    return list(zip(ys.long().tolist(), xs.long().tolist(), strict=True))


def true_hints(ab: Tensor, places: list[tuple[int, int]], sides: list[int]) -> list[Hint]:
    """Hints that reveal the truth: at each place a patch of its side filled with the mean true ab there.
    ``ab (2,H,W)`` in Lab units."""
    height, width = ab.shape[-2:]
    hints = []
    for (y, x), side in zip(places, sides, strict=True):
        y0, y1, x0, x1 = patch_bounds(y, x, side, height, width)
        a, b = ab[:, y0:y1, x0:x1].double().mean((1, 2)).tolist()
        hints.append(Hint(y, x, a, b, side))
    return hints


def simulate_hints(ab: Tensor, generator: torch.Generator) -> list[list[Hint]]:
    """Training hints for a batch ``ab (N,2,H,W)``, as the paper simulates them: a geometric number of points
    (:data:`HINT_GEOMETRIC_P`), Gaussian places, patches of 1–9 px with their mean true ab; for a share
    :data:`HINT_UNIFORM_SHARE` of the photos the number is uniform on 0..:data:`HINT_UNIFORM_MAX` instead."""
    batch = []
    low, high = HINT_PATCH_SIDES
    for image in ab:
        u = float(torch.rand(1, generator=generator, dtype=torch.float64))
        if float(torch.rand(1, generator=generator, dtype=torch.float64)) < HINT_UNIFORM_SHARE:
            n = int(torch.randint(0, HINT_UNIFORM_MAX + 1, (1,), generator=generator))
        else:
            n = int(math.floor(math.log(max(u, 1e-12)) / math.log(1 - HINT_GEOMETRIC_P)))  # geometric, from 0
        places = random_places(n, *image.shape[-2:], generator)
        sides = torch.randint(low, high + 1, (n,), generator=generator).tolist()
        batch.append(true_hints(image, places, sides))
    return batch


def evaluation_hints(ab: Tensor, n: int, seed: int, side: int = EVAL_HINT_SIDE) -> list[Hint]:
    """The first ``n`` of one photo's random evaluation hints (``side``×``side``, Gaussian places, true colours):
    the hints for ``n`` are the first ``n`` of those for any larger count, so the curve adds hints to the same
    photo. ``ab (2,H,W)``."""
    generator = torch.Generator().manual_seed(seed)
    places = random_places(max(HINT_COUNTS), *ab.shape[-2:], generator)[:n]
    return true_hints(ab, places, [side] * n)


@dataclass
class HintCells:
    """A batch of hints as the spread reads them: for each photo ``index (N,K)`` of the grid cell under each
    hint's centre (row-major), its colour ``ab (N,K,2)`` in Lab units, and ``valid (N,K)`` (False: padding)."""

    index: Tensor
    ab: Tensor
    valid: Tensor

    def to(self, device: torch.device | str) -> HintCells:
        return HintCells(self.index.to(device), self.ab.to(device), self.valid.to(device))


def cell_of(hint: Hint, height: int, width: int, grid_h: int, grid_w: int) -> int:
    """The row-major index of the ``grid_h``×``grid_w`` cell (the network's 1/4 grid over the whole photo) that holds
    the centre of ``hint``, a hint on a ``height``×``width`` photo."""
    row = min(grid_h - 1, int((min(max(hint.y, 0), height - 1) + 0.5) * grid_h / height))
    col = min(grid_w - 1, int((min(max(hint.x, 0), width - 1) + 0.5) * grid_w / width))
    return row * grid_w + col


def hint_cells(hints: list[list[Hint]], height: int, width: int, grid_h: int, grid_w: int) -> HintCells:
    """The hints of a batch (one list per photo, each on a ``height``×``width`` photo) on the network's grid,
    padded to the longest list (at least one entry, invalid, so that shapes never have a zero)."""
    k = max(1, max((len(h) for h in hints), default=0))
    index = torch.zeros(len(hints), k, dtype=torch.long)
    ab = torch.zeros(len(hints), k, 2)
    valid = torch.zeros(len(hints), k, dtype=torch.bool)
    for i, photo in enumerate(hints):
        for j, hint in enumerate(photo):
            index[i, j] = cell_of(hint, height, width, grid_h, grid_w)
            ab[i, j] = torch.tensor([hint.a, hint.b])
            valid[i, j] = True
    return HintCells(index, ab, valid)


def paint_patches(ab: Tensor, hints: list[list[Hint]]) -> Tensor:
    """``ab (N,2,H,W)`` with each hint's own patch set to its colour: what a hint says about its pixels."""
    out = ab.clone()
    height, width = ab.shape[-2:]
    for i, photo in enumerate(hints):
        for hint in photo:
            y0, y1, x0, x1 = patch_bounds(hint.y, hint.x, hint.side, height, width)
            out[i, 0, y0:y1, x0:x1], out[i, 1, y0:y1, x0:x1] = hint.a, hint.b
    return out


# --- the spread ---------------------------------------------------------------------------------------------------
def grid_positions(grid_h: int, grid_w: int, device: torch.device | None = None) -> Tensor:
    """(row, column) of every cell ``(h·w, 2)``, in units of the grid's shorter side."""
    rows, cols = torch.meshgrid(torch.arange(grid_h, device=device), torch.arange(grid_w, device=device), indexing="ij")
    return torch.stack([rows.flatten(), cols.flatten()], 1).float() / min(grid_h, grid_w)


def hint_colour_distribution(ab: Tensor, bins: Tensor) -> Tensor:
    """Each hint's colour over the bins ``(..., Q)``: a Gaussian of :data:`HINT_COLOUR_SIGMA` around ``ab (..., 2)``."""
    d2 = ((ab.unsqueeze(-2) - bins) ** 2).sum(-1)
    return torch.softmax(-d2 / (2 * HINT_COLOUR_SIGMA**2), dim=-1)


class HintSpread(nn.Module):
    """The part that depends on the hints. :meth:`embed` runs once per photo; :meth:`forward` on every change of the
    hints. ``channels``: the decoder's feature channels (the embedding has as many)."""

    def __init__(self, channels: int, tau: float = UNTRAINED["tau"], reach: float = UNTRAINED["reach"],
                 keep: float = UNTRAINED["keep"]):
        super().__init__()
        self.key = nn.Conv2d(channels + 1, channels, 1)  # features and lightness -> embedding
        with torch.no_grad():  # start as the untrained rule: the features themselves, lightness unused
            self.key.weight.zero_()
            self.key.weight[:, :channels, 0, 0] = torch.eye(channels)
            self.key.bias.zero_()
        # what the 1×1 key cannot see: each cell's neighbourhood (a 3×3 convolution), added to the key; its last layer
        # starts at zero, so the spread starts as the untrained rule
        self.context = nn.Sequential(nn.Conv2d(channels + 1, channels, 3, padding=1), nn.ReLU(),
                                     nn.Conv2d(channels, channels, 1))
        with torch.no_grad():
            self.context[-1].weight.zero_()
            self.context[-1].bias.zero_()
        self.keep = nn.Conv2d(channels, 1, 1)
        with torch.no_grad():
            self.keep.weight.zero_()
            self.keep.bias.fill_(keep)
        self.log_tau = nn.Parameter(torch.tensor(math.log(tau)))
        self.log_reach = nn.Parameter(torch.tensor(math.log(reach)))
        # how τ sharpens and r shrinks as hints are added (0: not at all, the untrained rule)
        self.tau_growth = nn.Parameter(torch.tensor(0.0))
        self.reach_growth = nn.Parameter(torch.tensor(0.0))

    def embed(self, features: Tensor, L: Tensor) -> tuple[Tensor, Tensor]:
        """Unit embeddings ``(N,C,h,w)`` and the keep logit ``(N,1,h,w)`` from decoder ``features (N,C,h,w)`` and the
        input ``L (N,1,H,W)`` (0..100, pooled to the grid)."""
        lightness = F.avg_pool2d(L.float(), GRID_STRIDE) / 100  # each cell's mean lightness, 0..1
        x = torch.cat([features.float(), lightness], 1)
        e = self.key(x) + self.context(x)
        return F.normalize(e, dim=1), self.keep(features.float())

    def weights(self, e: Tensor, keep: Tensor, index: Tensor, valid: Tensor) -> Tensor:
        """The mixture weights ``π (N,1+K,h·w)``: the model's own colour first, then each hint's."""
        n, c, h, w = e.shape
        flat = e.flatten(2)  # (N,C,hw)
        keys = torch.gather(flat, 2, index.unsqueeze(1).expand(n, c, -1))  # (N,C,K): the embedding under each hint
        similarity = torch.einsum("nck,ncp->nkp", keys, flat)  # cosine: both are unit vectors
        where = grid_positions(h, w, e.device)  # (hw,2)
        d2 = ((where[index].unsqueeze(2) - where.view(1, 1, -1, 2)) ** 2).sum(-1)  # (N,K,hw)
        # with more hints, each needs to reach less far: τ and r change with the number of hints K as (1 + K)^±growth
        more = torch.log1p(valid.float().sum(1)).view(n, 1, 1)
        tau = self.log_tau.exp() * torch.exp(self.tau_growth * more)
        reach = self.log_reach.exp() * torch.exp(-self.reach_growth * more)
        logits = tau * similarity - d2 / (2 * reach**2)
        logits = logits.masked_fill(~valid.unsqueeze(-1), -1e4)
        return torch.softmax(torch.cat([keep.flatten(2), logits], 1), dim=1)

    def forward(self, logits: Tensor, e: Tensor, keep: Tensor, index: Tensor, ab: Tensor, valid: Tensor,
                bins: Tensor) -> Tensor:
        """The hinted log-distribution ``(N,Q,h,w)`` from the model's ``logits (N,Q,h,w)``, the embedding and keep
        logit of :meth:`embed`, and the hints (``index``, ``ab``, ``valid``: :class:`HintCells`)."""
        n, q, h, w = logits.shape
        pi = self.weights(e, keep, index, valid)
        own = torch.softmax(logits.float(), 1).flatten(2)  # (N,Q,hw)
        colours = hint_colour_distribution(ab.float(), bins.float())  # (N,K,Q)
        mixed = pi[:, :1] * own + torch.einsum("nkp,nkq->nqp", pi[:, 1:], colours)
        return torch.log(mixed.clamp_min(1e-12)).view(n, q, h, w)


class HintColorizer(nn.Module):
    """A frozen semantic colorizer (:class:`colorlib.semantic.SemanticColorizer`) with a :class:`HintSpread`:
    ``L (N,1,H,W)`` in 0..100 and optional :class:`HintCells` -> log-distributions ``(N,Q,H/4,W/4)``. Without
    hints it *is* the base model (its logits, unchanged)."""

    def __init__(self, encoder: str = "lite2", channels: int = 64, q: int = 313, bins: Tensor | None = None,
                 encoder_scale: int = 1, **untrained: float):
        super().__init__()
        from .semantic import SemanticColorizer

        self.base = SemanticColorizer(encoder, channels, q, bins, encoder_scale=encoder_scale).requires_grad_(False)
        self.spread = HintSpread(channels, **untrained)
        self.SIZE_MULTIPLE = self.base.SIZE_MULTIPLE

    @property
    def bins(self) -> Tensor:
        return self.base.bins

    def parts(self, L: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """What does not depend on the hints, once per photo: the base's logits, the embedding, the keep logit."""
        with torch.no_grad():
            features = self.base.features(L)
            logits = self.base.class_head(features)
        e, keep = self.spread.embed(features, L)
        return logits, e, keep

    def forward(self, L: Tensor, hints: HintCells | None = None, regression: bool = False) -> Tensor:
        """The hinted log-distribution ``(N,Q,h,w)``; with ``regression=True`` its annealed mean, ab ``(N,2,h,w)`` in
        Lab units: what the ``l2`` loss trains the spread on (the paper trains its hint network by regression)."""
        logits, e, keep = self.parts(L)
        if hints is not None and bool(hints.valid.any()):
            logits = self.spread(logits, e, keep, hints.index, hints.ab, hints.valid, self.bins)
        return annealed_mean(logits.float(), self.bins) if regression else logits

    def train(self, mode: bool = True) -> HintColorizer:
        super().train(mode)
        self.base.eval()  # frozen: its BatchNorm statistics are the trained model's
        return self

    def select_heads(self, regression: bool) -> None:
        """Only the spread trains; the base model is frozen whatever the loss (``l2`` trains the spread through the
        annealed mean of its output, not a head of its own)."""

    def trained_state(self) -> dict[str, Tensor]:
        """The base's trained state (not its encoder, rebuilt from PyPI) and the spread's."""
        return {**{f"base.{k}": v for k, v in self.base.trained_state().items()},
                **{f"spread.{k}": v for k, v in self.spread.state_dict().items()}}

    def load_trained_state(self, state: dict[str, Tensor]) -> None:
        self.base.load_trained_state({k[5:]: v for k, v in state.items() if k.startswith("base.")})
        spread = {k[7:]: v for k, v in state.items() if k.startswith("spread.")}
        for name, value in self.spread.state_dict().items():  # a spread saved before a part existed (the growth
            spread.setdefault(name, torch.zeros_like(value))  # terms, the context): that part is off, zero
        self.spread.load_state_dict(spread)

    @torch.no_grad()
    def colorize_ab(self, L: Tensor, T: float = DEFAULT_T, decoder: str = "annealed-mean",
                    hints: list[list[Hint]] | None = None) -> Tensor:
        """ab ``(N,2,H,W)`` at the input's resolution for ``hints`` given in the input's pixels (one list per photo;
        None: none), each hint's own patch painted with its colour (:func:`hinted_ab`). Both decoders give the
        annealed mean: this model's regression output *is* the annealed mean of its hinted distribution."""
        if decoder not in ("annealed-mean", "regression"):
            raise ValueError(f"decoder: {decoder!r} is not available for the hint colorizer; allowed: annealed-mean")
        return hinted_ab(self, self.spread, L, *base_parts(self, L), hints or [[] for _ in L], T)


def from_base(checkpoint: str, trained: bool = False) -> HintColorizer:
    """A hint colorizer around the semantic model of ``checkpoint`` (a ``model.pt``), with the untrained spread
    (:data:`UNTRAINED`); for a hint model's own ``model.pt`` use :func:`colorlib.runs.load_model`."""
    from .runs import float_state, load_checkpoint

    ckpt = load_checkpoint(checkpoint)
    settings = ckpt["config"]["profile_settings"]
    if settings.get("arch") != "semantic" or ckpt["config"]["loss"] == "l2":
        raise ValueError(f"base: {checkpoint} is not a semantic colorizer trained with a classification loss "
                         f"(arch {settings.get('arch')!r}, loss {ckpt['config']['loss']!r})")
    from .model import build_network

    model = build_network({**settings, "arch": "hints"}, bins=ckpt["bins"])  # the base's network, with a spread
    model.base.load_trained_state(float_state(ckpt["model"]))
    return model.eval()


@torch.no_grad()
def photo_hints_ab(model: HintColorizer, L_small: Tensor, hints: list[Hint], photo: tuple[int, int],
                   T: float = DEFAULT_T) -> Tensor:
    """ab ``(1,2,H,W)`` of one photo of ``photo`` = (H, W) pixels, predicted from its lightness resized to
    ``L_small (1,1,h,w)``, with ``hints`` in the photo's own pixels: the hinted annealed mean at the network's grid,
    upsampled bilinearly to (h, w) and then to (H, W) (as the page does), each hint's patch painted with its colour."""
    logits, e, keep = model.parts(L_small)
    cells = hint_cells([hints], *photo, *logits.shape[-2:])
    z = model.spread(logits, e, keep, cells.index, cells.ab, cells.valid, model.bins)
    ab = F.interpolate(annealed_mean(z.float(), model.bins, T), size=L_small.shape[-2:], mode="bilinear",
                       align_corners=False)
    return paint_patches(F.interpolate(ab, size=photo, mode="bilinear", align_corners=False), [hints])


def check_inside(hints: list[Hint], height: int, width: int) -> None:
    """A one-line error for a hint whose centre lies outside a ``width``×``height`` photo."""
    for hint in hints:
        if not (0 <= hint.x < width and 0 <= hint.y < height):
            raise ValueError(f"hint at x={hint.x}, y={hint.y} lies outside the photo ({width}×{height} pixels)")


HINT_RUNS = "cpu-hints-nips17-dev"  # the committed hint colorizer (chapter 10), under results/


def default_hint_checkpoint() -> str:
    """The committed hint colorizer's ``model.pt`` (``colorlib colorize --hint`` without ``--checkpoint``)."""
    from .paths import RESULTS
    from .profiles import HINT_LOSS
    from .runs import FINAL

    path = RESULTS / HINT_RUNS / HINT_LOSS / FINAL
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint: no committed hint colorizer ({path.relative_to(RESULTS.parent)}); "
                                "pass --checkpoint")
    return str(path)


# --- suggested colours --------------------------------------------------------------------------------------------
SWATCH_RADIUS = 20.0  # Lab units: bins closer than this to a swatch's first bin join that swatch
SWATCHES = 4  # at most this many suggestions per pixel


def swatches(probs: Tensor, bins: Tensor, most: int = SWATCHES, radius: float = SWATCH_RADIUS) -> list[dict]:
    """Suggested colours at one pixel from its predicted distribution ``probs (Q,)``: the bins in order of
    probability, each joining the first swatch within ``radius`` Lab units of it (or starting a new one); each swatch
    the probability-weighted mean colour of its bins, with its total probability. The ``most`` most probable."""
    p, ab = probs.double().tolist(), bins.double().tolist()  # plain floats: this loop runs per pixel of a figure
    found: list[list] = []  # [first a, first b, mass, Σ p·a, Σ p·b]
    for k in sorted(range(len(p)), key=lambda i: -p[i]):
        a, b = ab[k]
        for s in found:
            if (s[0] - a) ** 2 + (s[1] - b) ** 2 < radius**2:
                s[2], s[3], s[4] = s[2] + p[k], s[3] + p[k] * a, s[4] + p[k] * b
                break
        else:
            found.append([a, b, p[k], p[k] * a, p[k] * b])
    found.sort(key=lambda s: -s[2])
    return [{"a": s[3] / s[2], "b": s[4] / s[2], "p": s[2]} for s in found[:most] if s[2] > 0]


SUGGESTION_SAMPLES = 1000  # random pixels of the validation photos at which the suggestions are checked (chapter 10)


@torch.no_grad()
def suggestion_hits(model: HintColorizer, L: Tensor, ab: Tensor, samples: int = SUGGESTION_SAMPLES, seed: int = 0,
                    radius: float = SWATCH_RADIUS, batch: int = 32) -> dict[str, dict[str, float]]:
    """How often the suggested colours hold the true one: at ``samples`` pixels drawn at random (``seed``) from the
    photos ``L (N,1,H,W)`` (0..100) with true ``ab (N,2,H,W)`` (Lab units), one per grid cell drawn (its centre
    pixel), the share whose true colour lies within ``radius`` Lab units of the automatic colour (the annealed mean),
    of the most probable swatch, and of any of the :func:`swatches`. Under ``"all"`` every drawn pixel; under
    ``"colourful"`` those whose true colour is at least ``radius`` from gray (where the choice matters)."""
    logits = torch.cat([base_parts(model, L[i:i + batch])[1].float() for i in range(0, len(L), batch)])  # (N,Q,h,w)
    n, _, gh, gw = logits.shape
    H, W = L.shape[-2:]
    cells = np.random.default_rng(seed).choice(n * gh * gw, size=min(samples, n * gh * gw), replace=False)
    hits: dict[str, list[tuple[bool, bool, bool]]] = {"all": [], "colourful": []}
    for c in cells.tolist():
        k, rest = divmod(c, gh * gw)
        i, j = divmod(rest, gw)
        y, x = int((i + 0.5) * H / gh), int((j + 0.5) * W / gw)
        truth = ab[k, :, y, x].double()
        z = logits[k, :, i, j]
        auto = annealed_mean(z.view(1, -1, 1, 1), model.bins)[0, :, 0, 0].double()
        found = swatches(torch.softmax(z, 0), model.bins)
        near = [math.dist((s["a"], s["b"]), truth.tolist()) <= radius for s in found]
        row = (float((auto - truth).norm()) <= radius, near[0], any(near))
        hits["all"].append(row)
        if float(truth.norm()) >= radius:
            hits["colourful"].append(row)
    names = ("automatic colour", "most probable swatch", "any suggested swatch")
    return {group: {"pixels": len(rows), **{name: float(np.mean([r[m] for r in rows])) if rows else float("nan")
                                            for m, name in enumerate(names)}}
            for group, rows in hits.items()}


# --- measuring: PSNR against the number of hints ------------------------------------------------------------------
def rgb_of(L: Tensor, ab: Tensor) -> Tensor:
    """sRGB ``(N,3,H,W)`` in 0..1 of lightness ``L (N,1,H,W)`` and ``ab (N,2,H,W)``."""
    return lab_to_rgb(join_lab(L.float(), ab.float()))


@torch.no_grad()
def base_parts(model: HintColorizer, L: Tensor) -> tuple[Tensor, Tensor]:
    """The frozen base model's decoder features ``(N,C,h,w)`` and logits ``(N,Q,h,w)`` for ``L``: once per photo,
    whatever the hints and whichever spread reads them."""
    features = model.base.features(L)
    return features, model.base.class_head(features)


@torch.no_grad()
def hinted_ab(model: HintColorizer, spread: HintSpread, L: Tensor, features: Tensor, logits: Tensor,
              hints: list[list[Hint]], T: float = DEFAULT_T) -> Tensor:
    """ab ``(N,2,H,W)`` of photos ``L (N,1,H,W)`` with ``hints`` (one list per photo, in its pixels) spread by
    ``spread`` (the model's own, or the untrained :func:`similarity_spread`) over the base model's ``features`` and
    ``logits`` (:func:`base_parts`): the annealed mean, upsampled, each hint's patch painted with its colour."""
    cells = hint_cells(hints, *L.shape[-2:], *logits.shape[-2:]).to(L.device)
    if cells.valid.any():
        e, keep = spread.embed(features, L)
        logits = spread(logits, e, keep, cells.index, cells.ab, cells.valid, model.bins)
    ab = F.interpolate(annealed_mean(logits.float(), model.bins, T), size=L.shape[-2:], mode="bilinear",
                       align_corners=False)
    return paint_patches(ab, hints)


@torch.no_grad()
def hint_weight_map(model: HintColorizer, spread: HintSpread, L: Tensor, hints: list[Hint]) -> Tensor:
    """How much of each pixel's colour comes from the hints ``(H,W)``, 0..1: 1 − π_0 on the grid, upsampled to the
    photo ``L (1,1,H,W)`` (hints in its pixels)."""
    features, logits = base_parts(model, L)
    e, keep = spread.embed(features, L)
    cells = hint_cells([hints], *L.shape[-2:], *logits.shape[-2:])
    share = 1 - spread.weights(e, keep, cells.index, cells.valid)[:, :1]  # (1,1,hw)
    share = share.view(1, 1, *logits.shape[-2:])
    return F.interpolate(share, size=L.shape[-2:], mode="bilinear", align_corners=False)[0, 0]


@torch.no_grad()
def one_hint_reach(model: HintColorizer, spread: HintSpread, L: Tensor, ab: Tensor) -> float:
    """How far one hint travels: the share of a photo where one random evaluation hint (:func:`evaluation_hints`,
    photo ``i``'s own seed ``i``, as the curve places them) outweighs the model's own colour (hint weight above ½),
    averaged over the photos ``L (N,1,H,W)``, ``ab (N,2,H,W)``. Chapter 10 and appendix A.9 read it."""
    return float(np.mean([float((hint_weight_map(model, spread, L[i:i + 1], evaluation_hints(ab[i], 1, i)) > 0.5)
                                .float().mean()) for i in range(len(L))]))


@torch.no_grad()
def corrective_hints(model: HintColorizer, spread: HintSpread, L: Tensor, ab: Tensor, n: int,
                     side: int = EVAL_HINT_SIDE) -> list[tuple[list[Hint], Tensor]]:
    """Hints a user would give, by a written rule: where the colorization is most wrong. Each next hint goes to the
    ``side``×``side`` patch whose mean ab error (against the truth ``ab (1,2,H,W)``) is largest *given the hints so
    far*, with that patch's true mean colour. Returns (hints, ab ``(1,2,H,W)``) for 0, 1, …, ``n`` hints."""
    from .metrics import ab_error

    parts = base_parts(model, L)
    hints: list[Hint] = []
    steps = []
    for i in range(n + 1):
        pred = hinted_ab(model, spread, L, *parts, [hints])
        steps.append((list(hints), pred))
        if i == n:
            break
        err = F.avg_pool2d(ab_error(pred, ab)[:, None].float(), side, stride=1)[0, 0]  # each patch's mean error
        y0, x0 = divmod(int(err.flatten().argmax()), err.shape[-1])
        hints = hints + true_hints(ab[0], [(y0 + side // 2, x0 + side // 2)], [side])
    return steps


def similarity_spread(channels: int) -> HintSpread:
    """The untrained rule: each hint's colour goes to the cells whose decoder features resemble its own (cosine
    similarity, sharpened by τ), fading with distance (reach r), the model's own colour kept elsewhere
    (:data:`UNTRAINED`). It is the trained spread at its first step."""
    return HintSpread(channels).eval()


@torch.no_grad()
def hint_curves(model: HintColorizer, spreads: dict[str, HintSpread], L: Tensor, ab: Tensor,
                counts: tuple[int, ...] = HINT_COUNTS, seed: int = 0, weights: np.ndarray | None = None,
                batch: int = 16) -> dict[str, dict[str, np.ndarray]]:
    """How each spread (by name) does with ``counts`` random 6×6 hints of the true colour per photo
    (:func:`evaluation_hints`, photo ``i`` seeded ``seed + i``), for photos ``L (N,1,S,S)`` with true ``ab (N,2,S,S)``:
    ``psnr`` per photo ``(N, len(counts))`` in dB, and with ``weights (Q,)`` (the λ = 0 weights of chapter 6's
    rebalanced AuC) ``auc_rebal`` per count ``(len(counts),)`` in %, over the pixels of all the photos."""
    from .metrics import ab_error, auc_from_counts, cumulative_counts, psnr, true_bins

    truth = rgb_of(L, ab)
    out = {name: {"psnr": np.zeros((len(L), len(counts))), "rebal": np.zeros((len(counts), 151)),
                  "total": np.zeros(len(counts))} for name in spreads}
    for start in range(0, len(L), batch):
        chunk = slice(start, start + batch)
        parts = base_parts(model, L[chunk])
        pixel_weight = None if weights is None else torch.as_tensor(weights)[true_bins(ab[chunk], model.bins)]
        for j, n in enumerate(counts):
            hints = [evaluation_hints(ab[i], n, seed + i) for i in range(start, min(start + batch, len(L)))]
            for name, spread in spreads.items():
                pred = hinted_ab(model, spread, L[chunk], *parts, hints)
                out[name]["psnr"][chunk, j] = psnr(rgb_of(L[chunk], pred), truth[chunk]).numpy()
                if pixel_weight is not None:
                    counted, total = cumulative_counts(ab_error(pred, ab[chunk]), pixel_weight)
                    out[name]["rebal"][j] += counted
                    out[name]["total"][j] += total
    return {name: {"psnr": r["psnr"], **({"auc_rebal": np.array([auc_from_counts(r["rebal"][j], r["total"][j])
                                                                 for j in range(len(counts))])}
                                         if weights is not None else {})} for name, r in out.items()}


# --- choosing the untrained rule's constants ----------------------------------------------------------------------
UNTRAINED_GRID = {"tau": (5.0, 10.0, 20.0, 40.0), "reach": (0.25, 0.5, 1.0, 2.0), "keep": (-2.0, 0.0, 2.0)}
UNTRAINED_HINTS = 10  # the grid is scored at this many random hints (the acceptance's count)


@torch.no_grad()
def tune_untrained(model: HintColorizer, L: Tensor, ab: Tensor, grid: dict = UNTRAINED_GRID,
                   hints: int = UNTRAINED_HINTS, seed: int = 0) -> list[dict]:
    """Every combination of ``grid`` for the untrained rule, scored by its mean PSNR (dB) with ``hints`` random
    hints on photos ``L``, ``ab`` (the tune photos: never the validation photos); one record per combination."""
    records = []
    for tau in grid["tau"]:
        for reach in grid["reach"]:
            for keep in grid["keep"]:
                spread = HintSpread(model.base.class_head.in_channels, tau=tau, reach=reach, keep=keep).eval()
                psnr = hint_curves(model, {"rule": spread}, L, ab, counts=(hints,), seed=seed)["rule"]["psnr"][:, 0]
                records.append({"tau": tau, "reach": reach, "keep": keep, "hints": hints, "photos": len(L),
                                "psnr": float(psnr.mean())})
    return records


def best_untrained(records: list[dict]) -> dict[str, float]:
    """The constants of the record with the highest PSNR."""
    best = max(records, key=lambda r: r["psnr"])
    return {k: best[k] for k in ("tau", "reach", "keep")}


# --- the records behind the spread's choices (appendix A.9) -------------------------------------------------------
TUNE_PHOTOS = 300  # the tune photos the choices are scored on (the first of the split, at the profile's size)


def spread_trials(spreads: dict[str, tuple[HintColorizer, HintSpread]], L: Tensor, ab: Tensor,
                  weights: np.ndarray | None = None, counts: tuple[int, ...] = HINT_COUNTS) -> list[dict]:
    """One record per spread (name -> (model, spread)): the mean PSNR and rebalanced AuC at each of ``counts`` random
    hints on photos ``L``, ``ab`` (the tune photos)."""
    records = []
    for name, (model, spread) in spreads.items():
        curve = hint_curves(model, {name: spread}, L, ab, counts=counts, weights=weights)[name]
        records.append({"spread": name, "photos": len(L), "counts": list(counts),
                        "psnr": [round(float(x), 4) for x in curve["psnr"].mean(0)],
                        **({"auc_rebal": [round(float(x), 4) for x in curve["auc_rebal"]]} if weights is not None else {})})
    return records


def main(argv: list[str] | None = None) -> None:
    """``python -m colorlib.hints untrained|compare``: write the records of appendix A.9, on the tune photos of the
    hint profile's training data. ``untrained OUT BASE``: the untrained rule's grid (:func:`tune_untrained`) around the
    semantic model ``BASE``. ``compare OUT NAME=MODEL…``: each hint model's spread against the untrained rule."""
    import argparse
    import json
    from pathlib import Path

    from .evaluate import load_eval_set
    from .metrics import inverse_prior_weights
    from .paths import training_photos
    from .profiles import get_profile
    from .runs import load_model

    parser = argparse.ArgumentParser(prog="python -m colorlib.hints")
    parser.add_argument("what", choices=("untrained", "compare"))
    parser.add_argument("out", help="the JSONL file to write")
    parser.add_argument("models", nargs="+", help="untrained: the base model.pt; compare: NAME=model.pt (hint models)")
    parser.add_argument("--profile", default="cpu-hints")
    args = parser.parse_args(argv)
    profile = get_profile(args.profile)
    tune = load_eval_set(training_photos(profile), profile.eval_size, limit=TUNE_PHOTOS, split="tune")
    if args.what == "untrained":
        records = tune_untrained(from_base(args.models[0]), tune.L, tune.ab)
    else:
        loaded = {name: load_model(path)[0] for name, path in (m.split("=", 1) for m in args.models)}
        first = next(iter(loaded.values()))
        prior = load_model(next(m.split("=", 1)[1] for m in args.models))[1]["prior"].double().numpy()
        spreads = {"untrained rule": (first, similarity_spread(first.base.class_head.in_channels)),
                   **{name: (model, model.spread) for name, model in loaded.items()}}
        records = spread_trials(spreads, tune.L, tune.ab, weights=inverse_prior_weights(prior))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in records))


if __name__ == "__main__":
    main()
