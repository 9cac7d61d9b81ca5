"""Widgets for the chapters: a figure redrawn whenever a control moves.

The figure is rendered to PNG into an ``ipywidgets.Image``, so the executed notebook stores the first
picture in its widget state (the static site shows it) and a test can move a control and check that
the picture changed, without a browser.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import ipywidgets as W
import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


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
