"""Figures for the chapters. Each function returns a matplotlib Figure with title, labels and units."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .color import lab_to_rgb
from .losses import LOSS_UNITS
from .quantize import RULES, distance_to_gamut, gamut_bins, lattice

AB_LIMITS = (-115, 115)


def ab_plane_rgb(L: float, n: int = 231) -> tuple[np.ndarray, np.ndarray]:
    """The ab plane at lightness ``L`` as an image ``(n, n, 3)`` (b up, a right) and its out-of-gamut mask."""
    a = torch.linspace(*AB_LIMITS, n, dtype=torch.float64)
    bb, aa = torch.meshgrid(a.flip(0), a, indexing="ij")  # rows: b from high to low
    lab = torch.stack([torch.full_like(aa, float(L)), aa, bb])
    rgb, outside = lab_to_rgb(lab, return_mask=True)
    return rgb.permute(1, 2, 0).numpy(), outside.numpy()


def _ab_axes(ax, title: str) -> None:
    ax.set_xlabel("a (Lab units)")
    ax.set_ylabel("b (Lab units)")
    ax.set_title(title)
    ax.set_xlim(*AB_LIMITS)
    ax.set_ylim(*AB_LIMITS)
    ax.set_aspect("equal")


def ab_planes_figure(lightnesses: tuple[float, ...] = (25, 50, 75)) -> Figure:
    """The ab plane at several L; colours outside the sRGB gamut are shown gray."""
    fig = Figure(layout="constrained", figsize=(4 * len(lightnesses), 4.2))
    for i, L in enumerate(lightnesses):
        ax = fig.add_subplot(1, len(lightnesses), i + 1)
        rgb, outside = ab_plane_rgb(L)
        rgb[outside] = 0.85
        ax.imshow(rgb, extent=(*AB_LIMITS, *AB_LIMITS))
        share = 100 * (1 - outside.mean())
        _ab_axes(ax, f"L = {L:g}: {share:.0f}% of this square in gamut")
    fig.suptitle("The ab plane of CIE Lab at fixed lightness (gray: not an sRGB colour)")
    return fig


def bins_figure(grid: float = 10, rule: str = "margin", L: float = 60) -> Figure:
    """The quantized bins drawn as squares coloured at lightness ``L``, over the sRGB gamut."""
    bins = gamut_bins(grid, rule)
    fig = Figure(layout="constrained", figsize=(5.6, 5.4))
    ax = fig.add_subplot(1, 1, 1)
    rgb, outside = ab_plane_rgb(L)
    rgb[outside] = 1.0
    ax.imshow(rgb, extent=(*AB_LIMITS, *AB_LIMITS), alpha=0.35)
    lab = torch.tensor(np.c_[np.full(len(bins), float(L)), bins].T[:, :, None], dtype=torch.float64)
    colours = lab_to_rgb(lab)[:, :, 0].T.numpy()
    for (a, b), c in zip(bins, colours, strict=True):
        ax.add_patch(Rectangle((a - grid / 2, b - grid / 2), grid, grid, facecolor=c, edgecolor="k", lw=0.3))
    _ab_axes(ax, f"grid {grid:g}, rule '{rule}': Q = {len(bins)} bins (drawn at L = {L:g})")
    return fig


def rule_counts(grid: float = 10) -> dict[str, int]:
    """Q for each rule at one grid size (``knn`` with k = 5)."""
    return {rule: len(gamut_bins(grid, rule)) for rule in RULES}


def margin_curve_figure(grid: float = 10) -> Figure:
    """Q as a function of the margin of the ``margin`` rule, with Zhang's 313 marked."""
    d = np.sort(distance_to_gamut(lattice(grid)))
    margins = np.linspace(0, 2.5 * grid, 400)
    q = np.searchsorted(d, margins, side="right")
    fig = Figure(layout="constrained", figsize=(6, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(margins, q, color="C0")
    ax.axhline(313, color="C3", ls="--", lw=1, label="Zhang et al.: Q = 313")
    if len(d) > 313:
        ax.axvspan(d[312], d[313], color="C3", alpha=0.25, label=f"Q = 313 for margins in [{d[312]:.2f}, {d[313]:.2f})")
    ax.axvline(1.11 * grid, color="k", ls=":", lw=1, label=f"margin rule's default {1.11 * grid:.1f}")
    ax.set_xlabel("margin: L∞ distance from the bin centre to the sRGB gamut (Lab units)")
    ax.set_ylabel("number of bins Q")
    ax.set_title(f"How many bins count as 'in gamut' (grid {grid:g})")
    ax.legend(loc="lower right")
    return fig


def prior_figure(prior: np.ndarray, bins: np.ndarray, title: str = "Empirical prior p̃ (log10)") -> Figure:
    """The prior over the bins on a log colour scale."""
    fig = Figure(layout="constrained", figsize=(5.6, 4.8))
    ax = fig.add_subplot(1, 1, 1)
    sc = ax.scatter(bins[:, 0], bins[:, 1], c=np.log10(np.maximum(prior, 1e-12)), marker="s", s=55, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="log10 probability")
    _ab_axes(ax, title)
    return fig


def weights_vs_lambda_figure(prior: np.ndarray, lams=(0.0, 0.25, 0.5, 0.75, 1.0), floor: float = 1e-6) -> Figure:
    """Rebalancing weights sorted by prior, for several λ (log scale)."""
    from .rebalance import rebalance_weights

    order = np.argsort(prior)[::-1]
    fig = Figure(layout="constrained", figsize=(6.4, 4))
    ax = fig.add_subplot(1, 1, 1)
    for lam in lams:
        ax.plot(rebalance_weights(prior, lam, floor=floor)[order], label=f"λ = {lam:g}")
    ax.set_yscale("log")
    ax.set_xlabel("bins, most common colour first")
    ax.set_ylabel("weight w (Σ p̃·w = 1)")
    ax.set_title("Rebalancing weights: λ = 0 is the inverse prior, λ = 1 uniform")
    ax.legend()
    return fig


def soft_target_figure(a: float, b: float, sigma: float = 5.0, k: int = 5, grid_bins: np.ndarray | None = None) -> Figure:
    """One pixel's soft target: its k nearest bins and their Gaussian weights."""
    from .encode import soft_encode_sparse

    bins = gamut_bins() if grid_bins is None else grid_bins
    ab = torch.tensor([[[[a]], [[b]]]], dtype=torch.float64)
    idx, w = soft_encode_sparse(ab, bins, k=k, sigma=sigma)
    idx, w = idx.reshape(-1).numpy(), w.reshape(-1).numpy()
    fig = Figure(layout="constrained", figsize=(9, 4))
    ax = fig.add_subplot(1, 2, 1)
    ax.scatter(bins[:, 0], bins[:, 1], s=8, c="0.75", marker="s")
    sc = ax.scatter(bins[idx, 0], bins[idx, 1], c=w, s=160, marker="s", cmap="magma_r", vmin=0, vmax=1)
    ax.plot([a], [b], "c*", ms=14, label="pixel")
    fig.colorbar(sc, ax=ax, label="target weight")
    _ab_axes(ax, f"pixel (a, b) = ({a:g}, {b:g}), σ = {sigma:g}")
    ax.set_xlim(a - 40, a + 40)
    ax.set_ylim(b - 40, b + 40)
    ax.legend(loc="upper right")
    ax2 = fig.add_subplot(1, 2, 2)
    ax2.bar(range(k), w, color="C1")
    ax2.set_xticks(range(k), [f"({bins[i, 0]:.0f},{bins[i, 1]:.0f})" for i in idx], rotation=30)
    ax2.set_xlabel("nearest bins (a, b)")
    ax2.set_ylabel("weight")
    ax2.set_ylim(0, 1)
    ax2.set_title(f"{k}-NN soft target, sums to {w.sum():.3f}")
    return fig


TWO_MODES = {"gray-brown": ((10.0, 20.0), 15.0), "blue": ((10.0, -55.0), 10.0)}  # centre (a, b), spread σ


def two_mode_distribution(mix: float = 0.6) -> dict[str, torch.Tensor]:
    """A pixel's predicted distribution over the bins ``(Q,)`` with two modes (:data:`TWO_MODES`): a broad
    gray-brown one holding ``mix`` of the mass and a narrower saturated blue one; also each mode's part."""
    b = torch.tensor(gamut_bins(), dtype=torch.float64)
    parts = {}
    for (name, (centre, sigma)), share in zip(TWO_MODES.items(), (mix, 1 - mix), strict=True):
        bump = torch.exp(-((b - torch.tensor(centre)) ** 2).sum(1) / (2 * sigma**2))
        parts[name] = share * bump / bump.sum()
    return {"p": sum(parts.values()), **parts}


def annealed_mean_figure(T: float, mix: float = 0.6) -> Figure:
    """One pixel whose predicted distribution has two modes (a gray-brown one holding ``mix`` of the mass,
    and a saturated blue one): the mean lands between them, the mode on one, the annealed mean in between."""
    from .encode import annealed_mean, decode_mean, decode_mode

    bins = gamut_bins()
    logits = torch.log(two_mode_distribution(mix)["p"]).view(1, -1, 1, 1)
    points = {"mean (T=1)": decode_mean(logits, bins), "mode (T→0)": decode_mode(logits, bins),
              f"annealed mean (T={T:.2f})": annealed_mean(logits, bins, T)}
    fig = Figure(layout="constrained", figsize=(10, 4.4))
    ax = fig.add_subplot(1, 2, 1)
    sc = ax.scatter(bins[:, 0], bins[:, 1], c=torch.softmax(logits.view(-1) / T, 0).numpy(), marker="s", s=30,
                    cmap="Greys")
    fig.colorbar(sc, ax=ax, label=f"probability after temperature T = {T:.2f}")
    for (name, ab), m in zip(points.items(), ("o", "^", "*"), strict=True):
        ax.plot(*ab.view(2).numpy(), m, ms=12, label=name)
    ax.legend(loc="lower left", fontsize=10)
    _ab_axes(ax, "one pixel's predicted distribution")
    ax2 = fig.add_subplot(1, 2, 2)
    swatches = torch.stack([torch.cat([torch.tensor([60.0], dtype=torch.float64), ab.view(2)]) for ab in points.values()])
    ax2.imshow(lab_to_rgb(swatches.T.reshape(3, 1, 3)).permute(1, 2, 0).numpy(), aspect="auto")
    ax2.set_xticks(range(3), list(points), rotation=10)
    ax2.set_yticks([])
    ax2.set_xlabel("decoding")
    ax2.set_title("the colour each decoding gives (drawn at L = 60)")
    return fig


def _draw_loss(ax, rows: list[dict], smooth: int) -> None:
    """One training log on ``ax``: the loss per step in gray, its moving average over ``smooth`` steps."""
    steps = np.array([r["step"] for r in rows])
    loss = np.array([r["loss"] for r in rows])
    ax.plot(steps, loss, color="0.75", lw=0.8, label="per step")
    if len(loss) >= smooth:
        avg = np.convolve(loss, np.ones(smooth) / smooth, mode="valid")
        ax.plot(steps[smooth - 1:], avg, color="C0", label=f"mean of {smooth} steps")
    ax.set_xlabel("training step")


def loss_label(loss: str | None) -> str:
    """The y-axis label of a training-loss plot: the loss with its unit (:data:`colorlib.losses.LOSS_UNITS`)."""
    return f"training loss\n({LOSS_UNITS[loss]})" if loss in LOSS_UNITS else "training loss"


def loss_curve_figure(rows: list[dict], title: str, smooth: int = 25, loss: str | None = None) -> Figure:
    """Training loss per step with a moving average; ``loss`` (its name) labels the axis with its unit."""
    fig = Figure(layout="constrained", figsize=(6.4, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    _draw_loss(ax, rows, smooth)
    ax.set_ylabel(loss_label(loss))
    ax.set_title(title)
    ax.legend()
    return fig


def loss_curves_figure(logs: dict[str, list[dict]], title: str, parts: int = 25) -> Figure:
    """One panel per training log (``{loss: rows}``), each with its moving average over 1/``parts`` of its
    steps: the losses have different scales, so they do not share an axis."""
    cols = 2 if len(logs) > 2 else len(logs)  # two per row: four side by side shrink their labels to unreadable
    rows_of_panels = -(-len(logs) // max(cols, 1))
    fig = Figure(figsize=(5 * cols, 3.3 * rows_of_panels + 0.4), layout="constrained")
    for i, (loss, rows) in enumerate(logs.items()):
        ax = fig.add_subplot(rows_of_panels, cols, i + 1)
        _draw_loss(ax, rows, max(1, len(rows) // parts))
        ax.set_title(loss)
        ax.set_ylabel(loss_label(loss))
        ax.legend(fontsize=9)  # each panel's own window: 1/parts of that run's steps
    fig.suptitle(title)
    return fig


def row_profile_figure(truth: np.ndarray, profiles: dict[str, tuple[np.ndarray, np.ndarray]],
                       titles: dict[str, str]) -> Figure:
    """Where colour sits by height: the mean b of each image row (Lab units) for the ground truth and, per
    model, for its predictions on the photos upright and upside down (``profiles[name] = (upright, flipped)``,
    each as predicted: row 0 is the top of the picture the model saw). A model that paints by position draws
    the same curve twice; one that paints by content draws mirror images. Every panel has the same x-range."""
    fig = Figure(figsize=(4.6 * max(1, len(profiles)), 3.8), layout="constrained")
    rows = np.arange(len(truth))
    values = [truth, *(v for pair in profiles.values() for v in pair)]
    low, high = min(v.min() for v in values), max(v.max() for v in values)
    pad = 0.1 * (high - low + 1e-9)
    for i, (name, (upright, flipped)) in enumerate(profiles.items()):
        ax = fig.add_subplot(1, len(profiles), i + 1)
        ax.plot(truth, rows, color="k", lw=1, label="ground truth, upright")
        ax.plot(upright, rows, label="upright photo")
        ax.plot(flipped, rows, ls="--", label="upside-down photo")
        ax.set_xlim(low - pad, high + pad)
        ax.invert_yaxis()
        ax.set_title(titles.get(name, name))
        ax.set_xlabel("mean b of the row (Lab units; + yellow, − blue)")
        ax.set_ylabel("image row (pixels from the top)")
        ax.legend(fontsize=10)
    return fig


def colorization_grid(L: torch.Tensor, columns: dict[str, torch.Tensor], titles: list[str] | None = None,
                      title: str | None = None) -> Figure:
    """Rows: photos; columns: the input (L) and one colorization per entry of ``columns`` (name -> ab); ``title``
    above them all."""
    from .color import join_lab

    n, names = len(L), ["input (L)", *columns]
    side = min(2.1, 11 / len(names))  # many columns: smaller panels, so the page does not shrink the labels away
    fig = Figure(layout="constrained", figsize=(side * len(names), (side + 0.1) * n))
    for i in range(n):
        for j, name in enumerate(names):
            ax = fig.add_subplot(n, len(names), i * len(names) + j + 1)
            if j == 0:
                ax.imshow(L[i, 0].numpy(), cmap="gray", vmin=0, vmax=100)
            else:
                ax.imshow(lab_to_rgb(join_lab(L[i], columns[name][i].float())).permute(1, 2, 0).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name, fontsize=11)
            if j == 0 and titles:
                ax.set_ylabel(titles[i], fontsize=10)
    if title:
        fig.suptitle(title)
    return fig


def network_diagram(blocks: list[dict], size: int, title: str) -> Figure:
    """Zhang's network drawn from :func:`colorlib.model.describe_blocks`, input at the top: one bar per block,
    its width the block's output resolution (pixels per side, to scale), its height the log of its channels;
    beside it, its convolutions, dilation, output shape and resolution. The input and the 313-way output at
    the ends. Drawn at the size the page shows it, so that its text reads at the size of the page's own."""
    rows = [{"label": "input L", "channels": 1, "side": size, "text": f"1×{size}×{size}", "colour": "0.85"}]
    for b in blocks:
        convs = b["convs"] - b["upsamples"]  # the transposed convolution is the upsampling
        kind = ("upsample ×2 + " if b["upsamples"] else "") + f"{convs} conv" + ("s" if convs > 1 else "")
        dil = f", dilation {b['dilation']}" if b["dilation"] > 1 else ""
        rows.append({"label": f"block {b['block']}", "channels": b["channels"], "side": b["side"],
                     "text": f"{kind}{dil}: {b['channels']}×{b['side']}×{b['side']} ({b['resolution']})",
                     "colour": "C1" if b["dilation"] > 1 else "C2" if b["upsamples"] else "C0"})
    fig = Figure(layout="constrained", figsize=(7.2, 0.42 * len(rows) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    for i, row in enumerate(rows):
        h = 0.2 + 0.07 * np.log2(max(row["channels"], 1))  # 0.83 at 512 channels: rows stay apart
        ax.add_patch(Rectangle((-row["side"] / 2, -i - h / 2), row["side"], h, facecolor=row["colour"], alpha=0.55,
                               edgecolor="k", lw=0.6))
        ax.text(-size / 2 - 8, -i, row["label"], ha="right", va="center", fontsize=9, weight="bold")
        ax.text(size / 2 + 8, -i, row["text"], ha="left", va="center", fontsize=9)
    ax.set_xlim(-size / 2 - 60, size / 2 + 230)
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("bar width: output resolution (pixels per side, to scale); bar height: log2 of the channels;\n"
                  "orange: dilated convolutions; green: upsampling and the 313-way output", fontsize=8)
    ax.set_title(title, fontsize=10)
    return fig


def width_figure(widths: list[float], counts: list[int], profiles: dict) -> Figure:
    """Parameters of Zhang's network against the width multiplier (log scale), each profile that uses this
    network marked once (profiles of the same width share one label)."""
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(widths, counts, "o-", color="0.5", label="width multiplier → parameters")
    named: dict[float, list[str]] = {}
    for name, prof in profiles.items():
        if prof.arch == "eccv16":
            named.setdefault(prof.width, []).append(name)
    for width, names in named.items():
        count = counts[widths.index(width)] if width in widths else None
        if count is None:
            continue
        ax.plot([width], [count], "s", color="C3", ms=8)
        ax.annotate(", ".join(names), (width, count), textcoords="offset points", xytext=(8, -4), fontsize=9,
                    color="C3")
    ax.set_yscale("log")
    ax.set_xlabel("width multiplier (1 = Zhang et al.)")
    ax.set_ylabel("parameters (log scale)")
    ax.set_title("Zhang's network: size against width, and the profiles that train it")
    ax.set_xlim(0, 1.15)
    return fig


# line styles that stay distinct in gray print and for colour-blind readers
METHOD_STYLES = [("-", "o"), ("--", "s"), ("-.", "^"), (":", "D"), ("-", "v"), ("--", "P"), ("-.", "X"), (":", "*")]


def cumulative_accuracy_figure(curves: dict[str, np.ndarray], thresholds: np.ndarray, zoom: int = 30) -> Figure:
    """Cumulative accuracy (% of pixels with ab error ≤ t) of each method, over every threshold and zoomed on
    the small ones, where the methods differ; a distinct line style and marker per method."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    panels = [(fig.add_subplot(1, 2, 1), thresholds.max(), "every threshold"),
              (fig.add_subplot(1, 2, 2), zoom, f"zoom on t ≤ {zoom}")]
    for ax, limit, what in panels:
        for i, (method, curve) in enumerate(curves.items()):
            line, marker = METHOD_STYLES[i % len(METHOD_STYLES)]
            every = max(1, int(limit) // 6)
            ax.plot(thresholds, curve, ls=line, marker=marker, markevery=every, ms=5, lw=1.4, label=method,
                    color=f"C{i}")
        ax.set_xlim(0, limit)
        ax.set_xlabel("threshold t on the ab error (Lab units)")
        ax.set_ylabel("pixels with error ≤ t (%)")
        ax.set_title(f"Cumulative accuracy, {what}")
        ax.grid(alpha=0.3)
    panels[1][0].set_ylim(0, max(c[thresholds <= zoom].max() for c in curves.values()) * 1.05)
    panels[0][0].legend(loc="lower right", fontsize=10)
    return fig


def reachable_bins_figure(bins: np.ndarray, reachable: np.ndarray, grid: float = 10, L: float = 60) -> Figure:
    """The bins drawn as squares: those some 8-bit sRGB colour has as its nearest bin (the only possible
    one-hot targets) coloured at lightness ``L``, the others hatched gray."""
    fig = Figure(layout="constrained", figsize=(5.8, 5.4))
    ax = fig.add_subplot(1, 1, 1)
    lab = torch.tensor(np.c_[np.full(len(bins), float(L)), bins].T[:, :, None], dtype=torch.float64)
    colours = lab_to_rgb(lab)[:, :, 0].T.numpy()
    for (a, b), c, ok in zip(bins, colours, reachable, strict=True):
        ax.add_patch(Rectangle((a - grid / 2, b - grid / 2), grid, grid, facecolor=c if ok else "0.9",
                               edgecolor="k" if ok else "C3", lw=0.3 if ok else 0.9, hatch=None if ok else "///"))
    _ab_axes(ax, f"{int(reachable.sum())} of {len(bins)} bins are the nearest bin of some sRGB colour;\n"
                 f"the {int((~reachable).sum())} hatched ones can never be a one-hot target")
    return fig


def length_trials_figure(trials: dict[str, list[dict]], chosen: dict[str, int], criterion: str) -> Figure:
    """The length trials of each loss along its one run (chapter 5, "How long to train"): on the left the
    criterion on the tune photos (``criterion``: its column header, in %), on the right how much the colours vary
    within a photo there (Lab units), against the steps trained; the length each loss's rule chose is ringed.
    ``trials``: {loss: [{"steps", "criterion", "spread"}, ...]}."""
    fig = Figure(layout="constrained", figsize=(10, 3.8))
    panels = (("criterion", f"{criterion} on the tune photos (%)"), ("spread", "ab spread within a photo (Lab units)"))
    for i, (key, label) in enumerate(panels):
        ax = fig.add_subplot(1, 2, i + 1)
        for loss, points in trials.items():
            steps = [p["steps"] for p in points]
            line, = ax.plot(steps, [p[key] for p in points], marker="o", label=loss)
            best = next(p for p in points if p["steps"] == chosen[loss])
            ax.plot([best["steps"]], [best[key]], marker="o", markersize=13, fillstyle="none", color=line.get_color())
        ax.set_xlabel("training steps (one run, kept at each candidate)")
        ax.set_ylabel(label)
        ax.set_xticks(sorted({p["steps"] for points in trials.values() for p in points}))
        ax.grid(alpha=0.3)
    fig.axes[0].set_title("On the tune photos (ringed: the rule's choice)")
    fig.axes[1].set_title("Colour variation within a photo")
    fig.legend(*fig.axes[0].get_legend_handles_labels(), title="loss", loc="outside right center", fontsize=10)
    return fig


def table_figure(rows: list[dict], keys: tuple[str, ...], labels: dict[str, str] | None = None,
                 reference: dict[str, float] | None = None) -> Figure:
    """Table 1 drawn (chapter 6): one panel per column ``keys`` (in that column's units), each row of ``rows`` a dot
    at its value with its 95% bootstrap interval as a bar, so that where two rows' bars overlap is visible at a
    glance. Rows without an interval in a column are drawn as a dot alone. ``reference`` ({key: value}) draws the real
    photos' value of a column as a dashed line (where it is a yardstick, not 100 by construction)."""
    from .evaluate import BASELINES, COLUMN

    labels = labels or {}
    names = [labels.get(r["method"], r["method"]) for r in rows]
    fig = Figure(layout="constrained", figsize=(2.6 * len(keys) + 1.6, 0.42 * len(rows) + 1.4))
    y = np.arange(len(rows))[::-1]
    for i, key in enumerate(keys):
        ax = fig.add_subplot(1, len(keys), i + 1)
        for yi, r in zip(y, rows, strict=True):
            low, high = r.get(key + "_ci", (r[key], r[key]))
            ax.plot([low, high], [yi, yi], color="0.55", linewidth=2.5, solid_capstyle="butt")
            ax.plot(r[key], yi, "o", color="0.3" if r["method"] in BASELINES else "C0", markersize=6)
        if reference and key in reference:
            ax.axvline(reference[key], color="C3", linestyle="--", linewidth=1.2)
        ax.set_yticks(y, names if i == 0 else [""] * len(rows))
        ax.set_xlabel(COLUMN[key].axis)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle("Table 1 drawn: each value with its 95% bootstrap interval over the photos")
    handles = [Line2D([], [], marker="o", color="0.3", linestyle="", label="baseline"),
               Line2D([], [], marker="o", color="C0", linestyle="", label="trained model"),
               Line2D([], [], color="0.55", linewidth=2.5, label="95% interval")]
    if reference:
        handles.append(Line2D([], [], color="C3", linestyle="--", label="the real photos"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    return fig


def claims_figure(checked: dict[str, list[dict]]) -> Figure:
    """The seed's claims as intervals (chapter 6): for each evaluation set (``{label: check_claims(...)}``) each
    claim's paired difference and its 95% interval, multiplied by the claim's sign so that the seed's direction is
    always to the right of 0: an interval wholly right of 0 *holds*, wholly left is *reversed*, across 0 is
    *undecided*. One panel per column of Table 1, in that column's units (they differ)."""
    from .evaluate import COLUMN

    keys = list(dict.fromkeys(c["key"] for rows in checked.values() for c in rows))
    counts = [sum(1 for c in next(iter(checked.values())) if c["key"] == key) for key in keys]
    fig = Figure(layout="constrained", figsize=(10, 1.2 + 0.42 * sum(counts)))
    grid = fig.add_gridspec(len(keys), 1, height_ratios=counts)
    offsets = np.linspace(-0.18, 0.18, len(checked)) if len(checked) > 1 else [0.0]
    for row, key in enumerate(keys):
        ax = fig.add_subplot(grid[row])
        for offset, (label, rows) in zip(offsets, checked.items(), strict=True):
            mine = [c for c in rows if c["key"] == key]
            for y, c in enumerate(mine):
                if "difference" not in c:
                    continue
                lo, hi = sorted((c["sign"] * c["low"], c["sign"] * c["high"]))
                color = f"C{list(checked).index(label)}"
                ax.plot([lo, hi], [y + offset] * 2, color=color, lw=2.5, solid_capstyle="butt")
                ax.plot([c["sign"] * c["difference"]], [y + offset], marker="o", color=color,
                        label=label if (y, row) == (0, 0) else None)
        first = [c for c in next(iter(checked.values())) if c["key"] == key]
        ax.set_yticks(range(len(first)), [f"{c['a']} {'>' if c['sign'] > 0 else '<'} {c['b']}" for c in first], fontsize=10)
        ax.set_ylim(len(first) - 0.5, -0.5)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel(f"{COLUMN[key].axis}: difference in the seed's direction (right of 0: the claim holds)", fontsize=10)
    fig.suptitle("The seed's claims: paired differences with 95% intervals")
    if len(checked) > 1:
        fig.legend(fontsize=10, loc="outside lower center", ncols=len(checked))
    return fig


BELIEF_MARKERS = {"truth": ("X", "black"), "mean": ("s", "white"), "annealed mean": ("D", "gold"), "mode": ("^", "red")}


def beliefs_figure(photo: np.ndarray, points: dict[str, tuple[int, int]], probs: dict[str, torch.Tensor],
                   bins: np.ndarray, painted: dict[str, dict[str, np.ndarray]], lightness: dict[str, float],
                   title: str) -> Figure:
    """A colorized photo and, for each marked pixel, the network's predicted distribution on the ab plane.
    ``photo (H,W,3)`` sRGB in 0..1; ``points``: name -> (row, column) in the photo's pixels; ``probs``: name ->
    ``(Q,)`` probabilities over ``bins (Q,2)`` (Lab units); ``painted``: name -> {"truth", "mean", "annealed mean",
    "mode": ab}; ``lightness``: name -> the pixel's L (0..100), at which its ab plane is drawn. Each bin is a
    circle whose area is its probability."""
    n = len(points)
    # two panels a row: the page shows a figure about 7 inches wide, and the ab planes need their size to be read
    cols = 2
    rows = -(-(n + 1) // cols)
    fig = Figure(layout="constrained", figsize=(4.4 * cols, 4.2 * rows))
    ax = fig.add_subplot(rows, cols, 1)
    ax.imshow(photo)
    for i, (row, col) in enumerate(points.values(), start=1):
        ax.plot(col, row, marker="o", markersize=16, fillstyle="none", color="white", markeredgewidth=2)
        ax.annotate(str(i), (col, row), xytext=(9, -9), textcoords="offset points", color="white", fontsize=13,
                    fontweight="bold")
    ax.set_title(title)
    ax.set_axis_off()
    for i, name in enumerate(points, start=1):
        ax = fig.add_subplot(rows, cols, i + 1)
        rgb, outside = ab_plane_rgb(lightness[name])
        rgb[outside] = 1.0
        ax.imshow(rgb, extent=(*AB_LIMITS, *AB_LIMITS), alpha=0.45)
        p = probs[name].numpy()
        shown = p > 1e-3
        ax.scatter(bins[shown, 0], bins[shown, 1], s=2500 * p[shown], facecolors="none", edgecolors="black", linewidths=0.8)
        for decoder, (marker, colour) in BELIEF_MARKERS.items():
            a, b = painted[name][decoder]
            ax.plot(a, b, marker=marker, markersize=10, color=colour, markeredgecolor="black", linestyle="none",
                    label=decoder)
        _ab_axes(ax, f"{i}. {name}")
    fig.axes[1].legend(fontsize=10, loc="lower left")
    return fig


# --- chapter 10: hints ------------------------------------------------------------------------------------------
def _mark_hints(ax, hints, colours: list | None = None) -> None:
    """Circles at hints (objects with ``y``, ``x``), filled with their colour when ``colours`` (sRGB 0..1) are given."""
    for i, h in enumerate(hints):
        face = colours[i] if colours else "none"
        ax.plot(h.x, h.y, marker="o", markersize=9, markerfacecolor=face, markeredgecolor="white", markeredgewidth=1.8)


def hint_reach_figure(truth: np.ndarray, automatic: np.ndarray, hint, reach: dict[str, np.ndarray],
                      hinted: dict[str, np.ndarray], hint_rgb: tuple[float, float, float]) -> Figure:
    """One hint's reach: the true photo and the automatic colorization (the hint marked) in the first column; for each
    spread (name), the weight its hint gets at every pixel (0..1, the share of the colour that comes from the hint)
    and the colorization with the hint. Images ``(H,W,3)`` sRGB in 0..1, weights ``(H,W)``."""
    n = len(reach)
    fig = Figure(layout="constrained", figsize=(3.3 * (n + 1), 6.4))
    for row, (image, title) in enumerate(((truth, "the real photo"), (automatic, "automatic (no hint)"))):
        ax = fig.add_subplot(2, n + 1, row * (n + 1) + 1)
        ax.imshow(image)
        _mark_hints(ax, [hint], [hint_rgb])
        ax.set_title(title, fontsize=10)
        ax.set_axis_off()
    for j, name in enumerate(reach, start=2):
        ax = fig.add_subplot(2, n + 1, j)
        shown = ax.imshow(reach[name], cmap="magma", vmin=0, vmax=1)
        _mark_hints(ax, [hint], [hint_rgb])
        ax.set_title(f"{name}: the hint's weight", fontsize=10)
        ax.set_axis_off()
        fig.colorbar(shown, ax=ax, fraction=0.046, label="weight of the hint's colour (0..1)")
        ax = fig.add_subplot(2, n + 1, n + 1 + j)
        ax.imshow(hinted[name])
        _mark_hints(ax, [hint], [hint_rgb])
        ax.set_title(f"{name}: colorized with the hint", fontsize=10)
        ax.set_axis_off()
    fig.suptitle("How far one hint reaches: the hint's weight at every pixel, and the colours it gives")
    return fig


def hint_curve_figure(counts: list[int], psnr: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                      auc: dict[str, np.ndarray], paper: dict[int, float]) -> Figure:
    """Left: mean PSNR (dB) against the number of random hints, with 95% bootstrap intervals (name -> (mean, low,
    high) per count), beside the paper's curve (theirs: their network, their photos). Right: the rebalanced AuC (%)
    against the number of hints. The x axis is symmetric-log (0 hints is a point)."""
    fig = Figure(layout="constrained", figsize=(10, 4.6))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for name, (mean, low, high) in psnr.items():
        line = left.plot(counts, mean, marker="o", label=f"{name} (this book)")[0]
        left.fill_between(counts, low, high, color=line.get_color(), alpha=0.25)
        right.plot(counts, auc[name], marker="o", label=name, color=line.get_color())
    left.plot(list(paper), list(paper.values()), marker="s", linestyle="--", color="gray",
              label="Zhang et al. 2017 (theirs: full network, their photos)")
    for ax, label in ((left, "PSNR (dB), mean over photos"), (right, "rebalanced AuC (%)")):
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xticks(counts, [str(c) for c in counts])
        ax.set_xlabel("random 6×6 hints of the true colour per photo")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    # one legend for both panels (the same colours), below them: inside, it would cover points of the curves
    fig.legend(*left.get_legend_handles_labels(), fontsize=10, loc="outside lower center", ncols=3, frameon=False)
    left.set_title("How much the hints help: PSNR")
    right.set_title("… and the rebalanced AuC")
    return fig


def hint_gallery_figure(rows: list[dict]) -> Figure:
    """Rows of photos: the real photo, the automatic colorization, then with 1, 2, 3 … hints (each a dict with
    ``truth``, ``columns`` (title -> sRGB ``(H,W,3)``), ``hints`` (title -> the hints shown, with ``colours``) and
    ``label``)."""
    ncol = 1 + max(len(r["columns"]) for r in rows)
    fig = Figure(layout="constrained", figsize=(2.0 * ncol, 2.2 * len(rows)))
    for i, row in enumerate(rows):
        panels = {"the real photo": row["truth"], **row["columns"]}
        for j, (title, image) in enumerate(panels.items()):
            ax = fig.add_subplot(len(rows), ncol, i * ncol + j + 1)
            ax.imshow(image)
            shown = row["hints"].get(title, [])
            _mark_hints(ax, shown, row["colours"][: len(shown)])
            ax.set_title(title, fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(row["label"], fontsize=10)
    fig.suptitle("Hints one at a time, each where the colorization is most wrong (PSNR in dB after each)")
    return fig


def swatches_figure(photo: np.ndarray, point: tuple[int, int], probs: torch.Tensor, bins: np.ndarray,
                    found: list[dict], lightness: float, title: str) -> Figure:
    """What the page suggests at a clicked pixel: the photo with the pixel marked, the model's distribution there on
    the ab plane (circle area = probability) with the suggested swatches, and the swatches as colour chips with
    their probability."""
    from .color import join_lab

    fig = Figure(layout="constrained", figsize=(11, 3.8))
    ax = fig.add_subplot(1, 3, 1)
    ax.imshow(photo)
    ax.plot(point[1], point[0], marker="o", markersize=14, fillstyle="none", color="white", markeredgewidth=2)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
    ax = fig.add_subplot(1, 3, 2)
    rgb, outside = ab_plane_rgb(lightness)
    rgb[outside] = 1.0
    ax.imshow(rgb, extent=(*AB_LIMITS, *AB_LIMITS), alpha=0.45)
    p = probs.numpy()
    shown = p > 1e-3
    ax.scatter(bins[shown, 0], bins[shown, 1], s=2500 * p[shown], facecolors="none", edgecolors="black", linewidths=0.8)
    for i, s in enumerate(found, start=1):
        ax.plot(s["a"], s["b"], marker="*", markersize=15, color="gold", markeredgecolor="black")
        ax.annotate(str(i), (s["a"], s["b"]), xytext=(7, 5), textcoords="offset points", fontsize=11, fontweight="bold")
    _ab_axes(ax, "the model's distribution there (stars: suggestions)")
    ax = fig.add_subplot(1, 3, 3)
    for i, s in enumerate(found):
        chip = lab_to_rgb(join_lab(torch.tensor([[[lightness]]]), torch.tensor([[[s["a"]]], [[s["b"]]]]).float()))
        ax.add_patch(Rectangle((0, -i - 0.9), 1, 0.8, color=chip.flatten().tolist()))
        ax.text(1.15, -i - 0.5, f"{i + 1}. a {s['a']:+.0f}, b {s['b']:+.0f}: {100 * s['p']:.0f}%", va="center", fontsize=10)
    ax.set_xlim(0, 4)
    ax.set_ylim(-len(found) - 0.2, 0.2)
    ax.set_axis_off()
    ax.set_title("suggested colours (probability)", fontsize=10)
    return fig
