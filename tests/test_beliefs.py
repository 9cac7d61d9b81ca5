import pytest
import torch

from colorlib.beliefs import MODE_RADIUS, SEPARATION, chosen_pixels, decoded, two_peaks
from colorlib.encode import DEFAULT_T
from colorlib.quantize import gamut_bins

BINS = torch.as_tensor(gamut_bins(), dtype=torch.float32)


def _bin(a, b):
    return int(torch.linalg.vector_norm(BINS - torch.tensor([a, b], dtype=torch.float32), dim=1).argmin())


def _pixels(*columns):
    """A 1×N image whose pixels have the given distributions ({bin: probability})."""
    probs = torch.zeros(len(BINS), 1, len(columns))
    for x, dist in enumerate(columns):
        for q, p in dist.items():
            probs[q, 0, x] = p
    return probs


def test_two_far_peaks_are_found_with_their_masses_and_distance():
    red, blue, gray = _bin(50, 20), _bin(-10, -50), _bin(0, 0)
    probs = _pixels({red: 0.55, blue: 0.45}, {red: 0.9, _bin(40, 20): 0.1}, {gray: 1.0})
    peaks = two_peaks(probs, BINS)
    assert peaks["first_bin"][0, 0] == red and peaks["second_bin"][0, 0] == blue
    assert peaks["first"][0, 0] == pytest.approx(0.55) and peaks["second"][0, 0] == pytest.approx(0.45)
    assert peaks["distance"][0, 0] == pytest.approx(float(torch.linalg.vector_norm(BINS[red] - BINS[blue])))
    # one colour with a near neighbour: a single peak (the neighbour is inside its radius), no second
    assert peaks["first"][0, 1] == pytest.approx(1.0) and peaks["second"][0, 1] == pytest.approx(0.0)
    assert float(torch.linalg.vector_norm(BINS[red] - BINS[_bin(40, 20)])) <= MODE_RADIUS < SEPARATION


def test_the_rule_picks_the_confident_colour_the_torn_pixel_and_the_flat_one():
    red, blue, green, gray = _bin(50, 20), _bin(-10, -50), _bin(-40, 40), _bin(0, 0)
    flat = {q: 1 / 40 for q in range(0, 313, 8)}
    probs = _pixels({gray: 1.0}, {red: 0.8, green: 0.2}, {red: 0.5, blue: 0.5}, flat)
    chosen = chosen_pixels(probs, BINS)
    assert chosen == {"one colour": (0, 1), "two colours": (0, 2), "no idea": (0, 3)}  # the gray pixel is not a colour


def test_decoders_of_a_two_peak_distribution():
    red, blue = _bin(50, 20), _bin(-10, -50)
    probs = torch.zeros(len(BINS))
    probs[red], probs[blue] = 0.6, 0.4
    painted = decoded(probs, BINS)
    assert torch.allclose(painted["mean"], 0.6 * BINS[red] + 0.4 * BINS[blue], atol=1e-4)
    assert torch.equal(painted["mode"], BINS[red])
    w = torch.tensor([0.6, 0.4]) ** (1 / DEFAULT_T)
    w = w / w.sum()
    assert torch.allclose(painted["annealed mean"], w[0] * BINS[red] + w[1] * BINS[blue], atol=1e-3)


def test_failure_photos_one_per_rule_never_the_same_photo():
    from colorlib.gallery import failure_photos

    truth = torch.zeros(4, 2, 8, 8)
    truth[:, :] = 20.0  # warm everywhere (a, b > 5)
    pred = truth.clone()
    pred[1] = -20.0  # photo 1: every warm pixel painted cool, and the largest error
    pred[2, :, :4] = -20.0  # photo 2: half of its warm pixels painted cool
    pred[3] = 10.0  # photo 3: warm, a small error
    chosen = failure_photos(pred, truth, [0, 1, 2, 3])
    assert chosen["largest error"][0] == 1 and chosen["largest error"][1] == pytest.approx(float(torch.tensor(40.0 * 2 ** 0.5)))
    assert chosen["warm painted cool"] == (2, pytest.approx(0.5))  # photo 1 is taken by the first rule


def test_why_it_failed_names_the_larger_departure():
    from colorlib.beliefs import why_it_failed

    typical = {"peak": 0.4, "torn": 0.1}
    assert why_it_failed({"peak": 0.1, "torn": 0.12}, typical).startswith("its distributions are flat there")
    assert why_it_failed({"peak": 0.38, "torn": 0.5}, typical).startswith("it is torn between far-apart colours at 50%")


def test_why_it_failed_says_so_when_nothing_was_unusual():
    from colorlib.beliefs import why_it_failed

    usual = why_it_failed({"peak": 0.39, "torn": 0.11}, {"peak": 0.4, "torn": 0.1})
    assert "no more and no less hesitant than usual, and wrong" in usual and "torn pixels 11% against 10%" in usual
    # no torn pixels on either: the clause that would read "0% against 0%" is left out
    assert "torn" not in why_it_failed({"peak": 0.23, "torn": 0.0}, {"peak": 0.22, "torn": 0.001})
