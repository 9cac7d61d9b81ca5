"""What a colorizer believes at one pixel (chapter 8): its predicted distribution over the 313 colours, the
colour each decoder paints from it, and a written rule that picks the pixels worth looking at.

A classification network does not predict a colour; it predicts how likely each of the 313 colours is. Where
that distribution has one peak, every decoder paints about the same colour. Where it has two far-apart peaks
(a shirt that could be red or blue), the mean falls between them, on a colour neither peak suggests, and the
mode picks one of them outright: that is the multimodality the classification formulation exists for.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .encode import DEFAULT_T, annealed_mean

SEPARATION = 40.0  # Lab units: two peaks at least this far apart are two colours, not one colour's spread
MODE_RADIUS = 15.0  # Lab units: a peak's mass is the probability of the colours within this distance of it
COLOURFUL = 15.0  # Lab units of chroma: a peak this saturated is a colour, not a shade of gray


@torch.no_grad()
def distributions(model: torch.nn.Module, L: Tensor) -> Tensor:
    """The predicted distribution of one photo: ``L (1,1,S,S)`` in 0..100 -> probabilities ``(Q,h,w)`` at the
    network's output resolution (a quarter of the input's)."""
    device = next(model.parameters()).device
    return torch.softmax(model(L.to(device)).float(), dim=1)[0].cpu()


def two_peaks(probs: Tensor, bins: Tensor) -> dict[str, Tensor]:
    """The two main peaks of every pixel's distribution, ``probs (Q,h,w)`` over the bin centres ``bins (Q,2)``
    (Lab units): the colour with the most probability within :data:`MODE_RADIUS` around it, and, among the
    colours at least :data:`SEPARATION` away from it, the one with the most. Returns, each ``(h,w)``: their masses
    (``first``, ``second``, probabilities 0..1), their bins (``first_bin``, ``second_bin``) and how far apart
    they are (``distance``, Lab units)."""
    q, h, w = probs.shape
    bins = bins.to(probs)
    apart = torch.cdist(bins, bins)  # (Q,Q), Lab units
    flat = probs.reshape(q, -1)
    around = (apart <= MODE_RADIUS).to(probs) @ flat  # (Q,P): the mass near each colour
    # a peak sits on the colour with the most mass around it; of colours with equal mass around them (neighbours
    # that share the same probabilities), the most probable one
    score = around + 1e-6 * flat
    first = score.argmax(dim=0)  # (P,)
    far = apart[first].T > SEPARATION  # (Q,P): colours far from each pixel's first peak
    second = score.masked_fill(~far, -1.0).argmax(dim=0)
    pixels = torch.arange(around.shape[1])
    return {"first": around[first, pixels].reshape(h, w), "second": around[second, pixels].clamp(min=0).reshape(h, w),
            "first_bin": first.reshape(h, w), "second_bin": second.reshape(h, w),
            "distance": apart[first, second].reshape(h, w)}


def chosen_pixels(probs: Tensor, bins: Tensor) -> dict[str, tuple[int, int]]:
    """The rule that picks three pixels of one photo (``(row, column)`` at the output resolution):

    * ``one colour``: the most confident colourful pixel, where the first peak holds the most mass among the
      pixels whose first peak has a chroma of at least :data:`COLOURFUL`;
    * ``two colours``: the pixel whose second peak (at least :data:`SEPARATION` from the first) holds the most
      mass: the clearest case of a network torn between two colours;
    * ``no idea``: the pixel whose first peak holds the least mass (the flattest distribution).
    """
    peaks = two_peaks(probs, bins)
    chroma = torch.linalg.vector_norm(bins.to(probs)[peaks["first_bin"]], dim=-1)
    confident = peaks["first"].masked_fill(chroma < COLOURFUL, -1.0)
    w = probs.shape[2]
    as_pixel = lambda flat: (int(flat) // w, int(flat) % w)  # noqa: E731
    return {"one colour": as_pixel(confident.argmax()), "two colours": as_pixel(peaks["second"].argmax()),
            "no idea": as_pixel(peaks["first"].argmin())}


def decoded(probs: Tensor, bins: Tensor, T: float = DEFAULT_T) -> dict[str, Tensor]:
    """What each decoder paints from one distribution ``probs (Q,)``: the mean, Zhang's annealed mean at
    temperature ``T`` and the mode, each ``(2,)`` in Lab units."""
    bins = bins.to(probs)
    logits = probs.clamp(min=1e-12).log()[None, :, None, None]
    return {"mean": probs @ bins, "annealed mean": annealed_mean(logits, bins, T)[0, :, 0, 0],
            "mode": bins[probs.argmax()]}


TORN = 0.2  # a pixel is torn between two colours when its second peak holds at least this probability
UNUSUAL = 1.25  # a photo's beliefs are unusual when flatter, or torn more often, by this factor than a typical photo's


def photo_beliefs(model: torch.nn.Module, L: Tensor, bins: Tensor) -> dict[str, float]:
    """How sure the network is over one photo ``L (1,1,S,S)``: the mean mass of its pixels' first peak (``peak``,
    0..1; low where its distributions are flat) and the share of its pixels torn between two far-apart colours
    (``torn``: second peak at least :data:`TORN`)."""
    peaks = two_peaks(distributions(model, L), bins)
    return {"peak": float(peaks["first"].mean()), "torn": float((peaks["second"] >= TORN).float().mean())}


def why_it_failed(photo: dict[str, float], typical: dict[str, float]) -> str:
    """One line on what the network's distributions looked like on a photo it got wrong (``photo``, from
    :func:`photo_beliefs`), against a typical photo's (``typical``: the median of each over the photos): flatter
    than usual, or torn between colours more often, whichever departs more from the typical photo."""
    flatter = typical["peak"] / max(photo["peak"], 1e-9)
    more_torn = photo["torn"] / max(typical["torn"], 1e-9)
    if max(flatter, more_torn) < UNUSUAL:
        # a clause that reads "0% against 0%" says nothing: the torn share is given only where either has some
        torn = (f", torn pixels {100 * photo['torn']:.0f}% against {100 * typical['torn']:.0f}%"
                if round(100 * photo["torn"]) or round(100 * typical["torn"]) else "")
        return (f"its distributions there are like a typical photo's (the main peak holds {100 * photo['peak']:.0f}% "
                f"against {100 * typical['peak']:.0f}%{torn}): no more and no less hesitant than usual, and wrong")
    if flatter >= more_torn:
        return (f"its distributions are flat there: the main peak holds {100 * photo['peak']:.0f}% of the probability "
                f"on average, against {100 * typical['peak']:.0f}% on a typical photo")
    return (f"it is torn between far-apart colours at {100 * photo['torn']:.0f}% of the pixels, against "
            f"{100 * typical['torn']:.0f}% on a typical photo")
