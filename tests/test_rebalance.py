import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from colorlib.quantize import gamut_bins
from colorlib.rebalance import bin_histogram, rebalance_weights, smooth_on_bins

BINS = gamut_bins()


def _prior(seed=0):
    rng = np.random.default_rng(seed)
    p = rng.gamma(0.3, size=len(BINS))
    return p / p.sum()


@pytest.mark.parametrize("lam", [0.0, 0.25, 0.5, 1.0])
def test_expected_weight_is_exactly_one(lam):
    p = _prior()
    w = rebalance_weights(p, lam)
    assert abs((p * w).sum() - 1.0) < 1e-12


def test_limits_of_lambda():
    p = _prior()
    assert np.allclose(rebalance_weights(p, 1.0), 1.0)
    w0 = rebalance_weights(p, 0.0)
    assert np.allclose(w0 * p, 1.0 / len(p))  # inverse prior: every bin carries the same expected weight


def test_zero_mass_needs_a_floor():
    p = _prior()
    p[0] = 0.0
    p /= p.sum()
    with pytest.raises(ValueError):
        rebalance_weights(p, 0.0)
    w = rebalance_weights(p, 0.0, floor=1e-6)
    assert np.isfinite(w).all() and abs((p * w).sum() - 1) < 1e-12


def test_smoothing_matches_scipy_gaussian_filter():
    hist = np.zeros(len(BINS))
    hist[[10, 150, 300]] = [5.0, 1.0, 2.0]
    ours = smooth_on_bins(hist, BINS, sigma=5.0)
    # scipy on the 10-unit lattice: sigma = 0.5 cells; keep only the in-gamut cells, renormalise
    cells = ((BINS + 120) / 10).astype(int)
    grid = np.zeros((25, 25))
    grid[cells[:, 0], cells[:, 1]] = hist
    ref = gaussian_filter(grid, sigma=0.5, mode="constant", truncate=20)[cells[:, 0], cells[:, 1]]
    assert np.allclose(ours, ref / ref.sum(), atol=1e-12)


def test_histogram_counts_pixels():
    ab = torch.tensor(BINS[[0, 0, 5]].T.reshape(1, 2, 1, 3), dtype=torch.float32)
    counts = bin_histogram([ab], BINS)
    assert counts[0] == 2 and counts[5] == 1 and counts.sum() == 3


def test_cli_prior_on_embedded_photos():
    out = subprocess.run([sys.executable, "-m", "colorlib", "prior", "--size", "64", "--json"],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    p, w = np.array(data["prior"]), np.array(data["weights"])
    assert len(p) == data["Q"] == 313 and abs(p.sum() - 1) < 1e-9
    assert abs((p * w).sum() - 1) < 1e-9
    assert data["photos"] >= 5
