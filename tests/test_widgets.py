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
