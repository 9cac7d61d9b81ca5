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
