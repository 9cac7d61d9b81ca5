"""Each chapter's widget redraws when its control moves (the picture bytes change)."""

import ipywidgets as W
from matplotlib.figure import Figure

from colorlib.plots import ab_planes_figure, bins_figure, soft_target_figure
from colorlib.widgets import figure_widget


def _moves(box, name, value):
    before = box.image.value
    box.controls[name].value = value
    return box.image.value != before and len(box.image.value) > 1000


def test_lightness_slider_redraws():
    box = figure_widget(lambda L: ab_planes_figure((L,)), L=W.FloatSlider(value=50, min=1, max=99))
    assert _moves(box, "L", 80)


def test_grid_slider_redraws():
    box = figure_widget(lambda grid: bins_figure(grid), grid=W.IntSlider(value=10, min=5, max=25))
    assert _moves(box, "grid", 20)


def test_sigma_slider_redraws():
    box = figure_widget(lambda sigma: soft_target_figure(23.0, -41.0, sigma=sigma),
                        sigma=W.FloatSlider(value=5.0, min=0.5, max=20))
    assert _moves(box, "sigma", 15.0)


def test_draw_receives_every_control():
    seen = []

    def draw(a, b):
        seen.append((a, b))
        return Figure()

    box = figure_widget(draw, a=W.IntSlider(value=1), b=W.IntSlider(value=2))
    box.controls["b"].value = 5
    assert seen == [(1, 2), (1, 5)]


def _frames(page: str) -> list[str]:
    import html
    import json
    import re

    return json.loads(html.unescape(re.search(r'data-frames="([^"]+)"', page).group(1)))


def test_frames_slider_is_self_contained_html_with_one_picture_per_value():
    from colorlib.plots import annealed_mean_figure
    from colorlib.widgets import frames_slider

    values = [0.1, 0.38, 1.0]
    page = frames_slider(annealed_mean_figure, "T", values, start=1, fmt="{:.2f}")
    frames = _frames(page)
    assert len(frames) == 3 and all(f.startswith("data:image/png;base64,") for f in frames)
    assert len(set(frames)) == 3  # every value draws a different picture
    assert f'src="{frames[1]}"' in page and 'value="1"' in page and "<output>0.38</output>" in page
    assert "<script" not in page and "://" not in page  # nothing to run or fetch but the inline handler


def test_frames_slider_has_a_slider_per_axis_and_a_picture_per_combination():
    from colorlib.widgets import frames_slider

    seen = []

    def draw(a, b):
        seen.append((a, b))
        return _text_figure(f"{a} {b}")

    page = frames_slider(draw, {"a": [1, 2, 3], "b": ["x", "y"]}, start={"a": 2, "b": 1})
    assert seen == [(a, b) for a in (1, 2, 3) for b in ("x", "y")]  # row-major: the last axis fastest
    frames = _frames(page)
    assert len(frames) == 6 and f'src="{frames[2 * 2 + 1]}"' in page  # the start combination (a=3, b=y)
    assert page.count('type="range"') == 2


def _text_figure(text):
    fig = Figure(figsize=(1, 1))
    fig.text(0.5, 0.5, text)
    return fig


def test_knob_is_a_live_widget_in_jupyterlab_and_build_time_sliders_on_the_site(monkeypatch):
    from colorlib.widgets import SITE_ENV, knob

    def draw(lam, rule):
        return _text_figure(f"{lam} {rule}")

    def controls():
        return {"lam": W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05),
                "rule": W.Dropdown(options=["zhang", "margin"], value="margin")}

    monkeypatch.delenv(SITE_ENV, raising=False)
    live = knob(draw, **controls())
    assert isinstance(live, W.VBox) and _moves(live, "lam", 0.25)
    monkeypatch.setenv(SITE_ENV, "1")
    site = knob(draw, frames={"lam": [0.0, 0.5, 1.0]}, **controls()).data
    assert len(_frames(site)) == 6 and "<output>margin</output>" in site and "<output>0.5</output>" in site
    assert "widget-view" not in site
