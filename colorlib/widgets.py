"""Widgets for the chapters: a figure redrawn whenever a control moves.

The figure is rendered to PNG into an ``ipywidgets.Image``, so the executed notebook stores the first
picture in its widget state (the static site shows it) and a test can move a control and check that
the picture changed, without a browser.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import ipywidgets as W
from matplotlib.figure import Figure


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """A matplotlib figure as PNG bytes. Figures are made with ``Figure()``, not pyplot, so no
    backend or global state is involved and nothing needs closing."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def show_figures_as_png() -> None:
    """In IPython, display a bare ``Figure`` (the last expression of a cell) as a PNG image."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)


def figure_widget(draw: Callable[..., Figure], **controls: W.ValueWidget) -> W.VBox:
    """Controls above a picture; ``draw(**values)`` returns the figure for the current values.

    The returned box has attributes ``controls`` (dict) and ``image`` (the ``ipywidgets.Image``).
    """
    image = W.Image(format="png")

    def redraw(_change=None) -> None:
        image.value = figure_png(draw(**{name: c.value for name, c in controls.items()}))

    for c in controls.values():
        c.observe(redraw, names="value")
    redraw()
    box = W.VBox([W.HBox(list(controls.values())), image])
    box.controls, box.image = controls, image
    return box


def frames_slider(draw: Callable[..., Figure], name: str, values: list, start: int = 0, fmt: str = "{}",
                  dpi: int = 70) -> str:
    """A knob that moves on the static site too: ``draw(value)`` is rendered for every value in advance,
    and a self-contained HTML range slider swaps the pictures (no kernel, no script file, nothing fetched).

    Returns the HTML; show it with ``IPython.display.HTML``. The slider starts at ``values[start]``."""
    import base64
    import html
    import json

    frames = ["data:image/png;base64," + base64.b64encode(figure_png(draw(v), dpi=dpi)).decode() for v in values]
    labels = [fmt.format(v) for v in values]
    swap = ("const box = this.closest('.cb-frames'); const i = Number(this.value);"
            "box.querySelector('img').src = JSON.parse(box.dataset.frames)[i];"
            "box.querySelector('output').textContent = JSON.parse(box.dataset.labels)[i];")
    return (f'<div class="cb-frames" data-frames="{html.escape(json.dumps(frames))}" '
            f'data-labels="{html.escape(json.dumps(labels))}">'
            f'<label>{html.escape(name)} <input type="range" min="0" max="{len(values) - 1}" step="1" '
            f'value="{start}" oninput="{html.escape(swap)}"></label> <output>{html.escape(labels[start])}</output>'
            f'<br><img alt="{html.escape(name)} = {html.escape(labels[start])}" src="{frames[start]}"></div>')
