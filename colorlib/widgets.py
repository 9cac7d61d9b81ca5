"""Knobs for the chapters: a figure redrawn whenever a control moves, live and on the static site.

A chapter calls :func:`knob` once per figure it lets the reader move. Where the chapter runs live (JupyterLab,
a kernel behind the page) the knob is an ipywidgets control above the picture, redrawn for any value. Where
the book's builder executes it for the site (``colorlib.book`` sets :data:`SITE_ENV`), a widget could not
move, so the knob is drawn for a grid of values in advance and a self-contained HTML slider per control
swaps the pictures: no kernel, no script file, nothing fetched (:func:`frames_slider`).

Figures are rendered to PNG (``ipywidgets.Image`` live), so a test can move a control and check that the
picture changed, without a browser.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Sequence

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from .profiles import Profile
from .site import SITE_ENV, on_site  # noqa: F401  (SITE_ENV: re-exported for the chapters and tests)

MAX_FRAMES_PER_CONTROL = Profile.knob_frames  # the profiles' default; the smoke profile asks for fewer


def figure_png(fig: Figure, dpi: int = 90) -> bytes:
    """A matplotlib figure as PNG bytes. Figures are made with ``Figure()``, not pyplot, so no
    backend or global state is involved and nothing needs closing."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def figure_bytes(fig: Figure, dpi: int = 90, image_format: str = "png") -> bytes:
    """A figure as PNG, or as JPEG (quality 88) for photographs, where it is several times smaller."""
    if image_format == "png":
        return figure_png(fig, dpi)
    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(figure_png(fig, dpi))).convert("RGB").save(buf, format="jpeg", quality=88)
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


def control_values(control: W.ValueWidget, most: int = MAX_FRAMES_PER_CONTROL) -> list:
    """The values a build-time slider offers for a control: a dropdown's options, or at most ``most`` evenly
    spaced values of a slider's range on its step, always including the control's starting value."""
    if hasattr(control, "options") and not hasattr(control, "step"):
        return [o[1] if isinstance(o, tuple) else o for o in control.options]
    lo, hi, step = control.min, control.max, control.step
    count = int(round((hi - lo) / step)) + 1
    picks = np.unique(np.round(np.linspace(0, count - 1, min(count, most))).astype(int))
    values = [lo + i * step for i in picks]
    values = [int(v) for v in values] if isinstance(control, W.IntSlider) else [round(float(v), 10) for v in values]
    if control.value not in values:
        values = sorted([*values, control.value])
    return values


def frames_slider(draw: Callable[..., Figure], axes: dict[str, Sequence] | str, values: Sequence | None = None,
                  start: int | dict[str, int] = 0, fmt: str | Callable | dict = "{}", dpi: int = 70,
                  image_format: str = "png", width: int | None = None) -> str:
    """Knobs that move on the static site: ``draw(**{name: value})`` is rendered for every combination of the
    values in ``axes`` (``{name: values}``) in advance, and one self-contained HTML range slider per name
    swaps the pictures (no kernel, no script file, nothing fetched). The old form ``frames_slider(draw,
    name, values)`` draws ``draw(value)`` over one axis.

    ``start``: the starting index of each axis; ``fmt``: how each axis's value is printed (a format string or
    a function of the value); ``width``: the
    picture's width on the page in CSS pixels (default: its natural size). Returns the HTML; show it with
    ``IPython.display.HTML``."""
    import base64
    import html
    import json

    if isinstance(axes, str):  # one axis, positional draw(value)
        name, one = axes, draw
        axes, draw = {name: list(values)}, (lambda **kw: one(kw[name]))
        start = {name: start} if isinstance(start, int) else start
        fmt = fmt if isinstance(fmt, dict) else {name: fmt}
    names = list(axes)
    start = {n: 0 for n in names} | ({} if isinstance(start, int) else start)
    fmt = {n: "{}" for n in names} | fmt if isinstance(fmt, dict) else {n: fmt for n in names}
    mime = "image/png" if image_format == "png" else "image/jpeg"
    frames = ["data:" + mime + ";base64," + base64.b64encode(figure_bytes(draw(**dict(zip(names, combo, strict=True))),
                                                                        dpi, image_format)).decode()
              for combo in itertools.product(*(axes[n] for n in names))]
    labels = [[fmt[n](v) if callable(fmt[n]) else fmt[n].format(v) for v in axes[n]] for n in names]
    index = 0
    for n in names:  # row-major: the last axis varies fastest
        index = index * len(axes[n]) + start[n]
    # each input's handler recomputes the frame index from every slider of its box
    swap = ("const box = this.closest('.cb-frames'); const inputs = [...box.querySelectorAll('input')];"
            "const labels = JSON.parse(box.dataset.labels); let i = 0;"
            "inputs.forEach((s, k) => { i = i * (Number(s.max) + 1) + Number(s.value);"
            "box.querySelectorAll('output')[k].textContent = labels[k][Number(s.value)]; });"
            "const img = box.querySelector('img'); img.src = JSON.parse(box.dataset.frames)[i];"
            "img.alt = inputs.map((s, k) => s.dataset.name + ' = ' + labels[k][Number(s.value)]).join(', ');")
    # an axis with a single value is a fixed setting: its slider is hidden, its value still shown
    controls = "".join(
        f'<label class="cb-frames-control">{html.escape(n)} <input type="range" min="0" max="{len(axes[n]) - 1}" '
        f'step="1" value="{start[n]}" data-name="{html.escape(n)}" oninput="{html.escape(swap)}"'
        f'{" hidden" if len(axes[n]) == 1 else ""}> = <output>{html.escape(labels[k][start[n]])}</output></label> '
        for k, n in enumerate(names))
    alt = ", ".join(f"{n} = {labels[k][start[n]]}" for k, n in enumerate(names))
    style = f' style="width:{width}px;max-width:100%"' if width else ' style="max-width:100%"'
    return (f'<div class="cb-frames" data-frames="{html.escape(json.dumps(frames))}" '
            f'data-labels="{html.escape(json.dumps(labels))}">{controls}'
            f'<br><img alt="{html.escape(alt)}" src="{frames[index]}"{style}></div>')


def around(values: list, start, most: int) -> list:
    """At most ``most`` consecutive ``values`` around ``start`` (all of them when they are few enough)."""
    if len(values) <= most:
        return values
    i = values.index(start) if start in values else 0
    first = min(max(0, i - (most - 1) // 2), len(values) - most)
    return values[first:first + most]


def knob(draw: Callable[..., Figure], frames: dict[str, Sequence] | None = None, fmt: dict[str, str] | None = None,
         dpi: int = 70, image_format: str = "png", width: int | None = None, most: int = MAX_FRAMES_PER_CONTROL,
         **controls: W.ValueWidget):
    """A figure the reader moves: ``draw(**values)`` redrawn by ipywidgets ``controls`` in a live kernel;
    on the static site, :func:`frames_slider` over ``frames`` (default: :func:`control_values` of each
    control), at most ``most`` values per control (the profile's ``knob_frames``), starting at each control's
    value. Returns what to display (the widget box, or HTML)."""
    if not on_site():
        return figure_widget(draw, **controls)
    from IPython.display import HTML

    axes = {name: around(list((frames or {}).get(name) or control_values(c)), c.value, most)
            for name, c in controls.items()}
    start = {name: axes[name].index(c.value) if c.value in axes[name] else 0 for name, c in controls.items()}
    labels = {name: (fmt or {}).get(name, "{:g}" if isinstance(c.value, float) else "{}") for name, c in controls.items()}
    return HTML(frames_slider(draw, axes, start=start, fmt=labels, dpi=dpi, image_format=image_format, width=width))


class LivePicture:
    """A picture that a long computation redraws while it runs (chapter 5's loss curve while training) in a
    live kernel; on the static site it shows nothing (a frozen widget would), and the chapter shows the
    finished figure instead."""

    def __init__(self):
        self.image = None if on_site() else W.Image(format="png")

    def _ipython_display_(self):
        if self.image is not None:
            from IPython.display import display

            display(self.image)

    def update(self, fig: Figure) -> None:
        if self.image is not None:
            self.image.value = figure_png(fig)
