"""The gallery (chapter 7): photos colorized by every method at their own resolution, laid out for reading,
and the measurements the chapter's prose states about them.

* :func:`colorize_all` colorizes validation photos as ``colorlib colorize`` does (L at full resolution, ab
  predicted at the run's size and upsampled).
* :func:`gallery_html` lays them out: one block per photo, headed by its ImageNet class, one tile per method
  (at least 200 px wide on the page; a click enlarges it).
* :func:`browser_frame` draws one photo and every method as one picture, for the build-time browser.
* :func:`where_colour_goes` measures the position bias the pictures show: mean ab of the top and bottom
  thirds of the frame, and the share of colourful object pixels a method leaves gray.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from .data import label_rows, load_rgb
from .evaluate import colorize_photo, decoder_for
from .runs import run_eval_size

GRAY_CHROMA = 5.0  # Lab units: a predicted pixel with chroma √(a² + b²) below this is "left gray"
COLOURFUL_CHROMA = 15.0  # Lab units: a ground-truth pixel with at least this chroma is colourful
HUE_TOLERANCE = 45.0  # degrees: a coloured pixel whose hue (angle in the ab plane) is this close to the truth's has the right hue


def class_name(root: Path | None, name: str) -> str:
    """The ImageNet class of a photo, from its folder's ``labels.csv`` (underscores as spaces); else its name."""
    rows = label_rows(root)
    row = rows.get(name) or rows.get(Path(name).name)
    return row["class_name"].replace("_", " ") if row and row.get("class_name") else Path(name).stem


def distinct_titles(titles: list[str]) -> list[str]:
    """``titles`` with a number added to each one that occurs more than once ("lycaenid 1", "lycaenid 2"), so that
    two photos of one class get two headings."""
    counts = {t: titles.count(t) for t in titles}
    seen: dict[str, int] = {}
    out = []
    for t in titles:
        seen[t] = seen.get(t, 0) + 1
        out.append(f"{t} {seen[t]}" if counts[t] > 1 else t)
    return out


def gray_of(rgb: np.ndarray) -> np.ndarray:
    """The photo as the network sees it: its lightness alone, shown as neutral gray ``(H,W,3)`` uint8."""
    from .color import join_lab, lab_to_rgb, rgb_to_lab, split_lab
    from .data import rgb_to_tensor

    L = split_lab(rgb_to_lab(rgb_to_tensor(rgb)[None]))[0]
    out = lab_to_rgb(join_lab(L, torch.zeros_like(L).expand(-1, 2, -1, -1)))[0]
    return (out.permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)


def colorizers_of(loaded: dict[str, tuple], label: str = "", losses: Sequence[str] | None = None) -> dict[str, tuple]:
    """The gallery's columns for runs loaded by :func:`colorlib.runs.load_runs` (``{loss: (network, info)}``):
    ``{"{label} {loss}": (network, decoder, size)}``, each decoded as chapter 6 scores it, at its evaluation
    size; ``losses`` keeps only those, in that order."""
    chosen = [loss for loss in (losses or loaded) if loss in loaded]
    return {f"{label} {loss}".strip(): (loaded[loss][0], decoder_for(loss), run_eval_size(loaded[loss][1]))
            for loss in chosen}


def colorize_all(paths: Sequence[Path], colorizers: dict[str, tuple]) -> list[dict[str, np.ndarray]]:
    """For each photo, ``{"input (L)": gray, "ground truth": photo, method: colorization}`` at the photo's own
    resolution; ``colorizers`` maps a method to ``(network, decoder, prediction size)``."""
    out = []
    for path in paths:
        rgb = load_rgb(path)
        tiles = {"input (L)": gray_of(rgb), "ground truth": rgb}
        for method, (model, decoder, size) in colorizers.items():
            tiles[method] = colorize_photo(model, rgb, size, decoder)
        out.append(tiles)
    return out


def _data_uri(rgb: np.ndarray, quality: int = 90) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="jpeg", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def gallery_html(titles: Sequence[str], tiles: Sequence[dict[str, np.ndarray]], per_row: int = 4) -> str:
    """One block per photo (its title above), one tile per method with the method's name as its head; at most
    ``per_row`` tiles a row, the rows as even as they can be (seven tiles: four and three, not three, three and one,
    so that tiles compared side by side stay side by side); a click shows a tile enlarged."""
    blocks = []
    for title, row in zip(titles, tiles, strict=True):
        columns = -(-len(row) // -(-len(row) // per_row))  # the fewest rows, then the fewest columns that fill them
        cells = "".join(
            # a caption that wraps takes the room above its tile, so every tile of a row starts at the same height
            f'<figure class="cb-tile" style="margin:0;display:flex;flex-direction:column">'
            f'<figcaption style="font-size:85%;font-weight:600;flex:1">'
            f'{html.escape(method)}</figcaption><img src="{_data_uri(img)}" alt="{html.escape(title)}: '
            f'{html.escape(method)}" title="click to enlarge" onclick="this.classList.toggle(\'cb-zoomed\')" '
            f'style="width:100%;height:auto;cursor:zoom-in;image-rendering:auto"></figure>'
            for method, img in row.items())
        blocks.append(f'<section class="cb-gallery-photo" style="margin-bottom:1.2em"><h4 style="margin:0.3em 0">'
                      f'{html.escape(title)}</h4><div style="display:grid;grid-template-columns:repeat({columns},'
                      f'minmax(0,1fr));gap:6px">{cells}</div></section>')
    return '<div class="cb-gallery">' + "".join(blocks) + "</div>"


def browser_frame(title: str, row: dict[str, np.ndarray], columns: int = 3) -> Figure:
    """One photo and every method as one picture (method names above the tiles), for the build-time browser."""
    n = len(row)
    rows = -(-n // columns)
    fig = Figure(figsize=(3.0 * columns, 3.1 * rows + 0.4), layout="constrained")
    for i, (method, img) in enumerate(row.items()):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.imshow(img)
        ax.set_title(method, fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=13)
    return fig


def where_colour_goes(pred_ab: Tensor, true_ab: Tensor) -> dict[str, float]:
    """Measurements of one method over photos ``(N,2,S,S)`` (Lab units): mean a and b of the top third and the
    bottom third of the frame (position bias: blue up, yellow-green down); of the centre half of the frame (where
    the photo's object is: the photos are cropped to it), the pixels that are colourful in the ground truth
    (chroma ≥ :data:`COLOURFUL_CHROMA`): the share left gray (chroma < :data:`GRAY_CHROMA`) and the share painted
    in the right hue (coloured, and within :data:`HUE_TOLERANCE` degrees of the truth's hue); and the cast, the
    mean predicted ab minus the mean true ab over every pixel."""
    s = pred_ab.shape[-2]
    third = s // 3
    top, bottom = pred_ab[:, :, :third].double().mean((0, 2, 3)), pred_ab[:, :, -third:].double().mean((0, 2, 3))
    c0, c1 = s // 4, s - s // 4
    pred_c, true_c = pred_ab[:, :, c0:c1, c0:c1].double(), true_ab[:, :, c0:c1, c0:c1].double()
    centre_pred, centre_true = torch.linalg.vector_norm(pred_c, dim=1), torch.linalg.vector_norm(true_c, dim=1)
    colourful = centre_true >= COLOURFUL_CHROMA
    left_gray = (centre_pred < GRAY_CHROMA) & colourful
    hue_gap = torch.remainder(torch.atan2(pred_c[:, 1], pred_c[:, 0]) - torch.atan2(true_c[:, 1], true_c[:, 0])
                              + torch.pi, 2 * torch.pi) - torch.pi
    right_hue = colourful & ~left_gray & (hue_gap.abs() <= torch.deg2rad(torch.tensor(HUE_TOLERANCE)))
    cast = (pred_ab.double() - true_ab.double()).mean((0, 2, 3))
    n = colourful.sum().clamp_min(1)
    return {"top_a": float(top[0]), "top_b": float(top[1]), "bottom_a": float(bottom[0]), "cast_a": float(cast[0]),
            "cast_b": float(cast[1]), "object_right_hue": float(right_hue.sum() / n),
            "bottom_b": float(bottom[1]), "object_left_gray": float(left_gray.sum() / n)}


FAILURE_RULES = ("largest error", "warm painted cool")  # chapter 7, "Where it fails": one photo per rule


def failure_photos(pred_ab: Tensor, true_ab: Tensor, candidates: list[int]) -> dict[str, tuple[int, float]]:
    """The photos a colorizer got most wrong, one per rule of :data:`FAILURE_RULES`, among ``candidates``
    (indices into ``(N,2,S,S)`` ab in Lab units), each with its measure: the largest mean ab error (Lab units), and
    the largest share of warm pixels painted cool (:func:`colorlib.metrics.warm_painted_cool`, of photos with at
    least 1% warm pixels, and some painted cool). A photo chosen by one rule is not chosen again by the next."""
    from .metrics import ab_error, warm_painted_cool

    idx = torch.as_tensor(candidates)
    error = ab_error(pred_ab[idx], true_ab[idx]).mean((1, 2))
    warm, cooled = warm_painted_cool(pred_ab[idx], true_ab[idx])
    pixels = true_ab.shape[-1] * true_ab.shape[-2]
    share = torch.where(warm >= 0.01 * pixels, cooled / warm.clamp_min(1), torch.full_like(error, -1.0))
    chosen: dict[str, tuple[int, float]] = {}
    for rule, measure in zip(FAILURE_RULES, (error, share), strict=True):
        order = [int(k) for k in torch.argsort(measure, descending=True) if float(measure[k]) > 0]
        taken = {i for i, _ in chosen.values()}
        pick = next((k for k in order if candidates[k] not in taken), None)
        if pick is not None:
            chosen[rule] = (candidates[pick], float(measure[pick]))
    return chosen
