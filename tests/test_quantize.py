import json
import subprocess
import sys

import numpy as np

from colorlib.quantize import ZHANG_BINS_SHA256, bins_digest, distance_to_gamut, gamut_bins, lattice


def test_default_is_exactly_zhangs_released_table():
    assert bins_digest(gamut_bins()) == ZHANG_BINS_SHA256 == (
        "5fd1ff840bb9504bc08a988f236f60c2c619bf0be531e655c353818fe597d9ce")
    released, margin = ({tuple(b) for b in gamut_bins(rule=r).tolist()} for r in ("zhang", "margin"))
    assert released - margin == {(40, 90), (100, -10), (100, 0)}
    assert margin - released == {(-60, 100), (-20, -60), (20, -90)}
    assert bins_digest(gamut_bins(rule="margin")) != ZHANG_BINS_SHA256


def test_default_is_zhangs_313():
    bins = gamut_bins()
    assert bins.shape == (313, 2)
    assert np.all(bins % 10 == 0)
    assert len({tuple(b) for b in bins}) == 313
    # sorted by a then b, like the released table; its first rows are (-90, 50), (-90, 60)
    assert np.array_equal(bins, bins[np.lexsort((bins[:, 1], bins[:, 0]))])
    assert bins[0].tolist() == [-90, 50] and bins[1].tolist() == [-90, 60]


def test_313_is_not_on_a_knife_edge():
    d = np.sort(distance_to_gamut(lattice(10)))
    assert d[312] < 11.1 < d[313]
    assert d[313] - d[312] > 0.1  # the default margin sits inside a gap wider than the sampling error


def test_other_rules_give_other_counts():
    assert len(gamut_bins(rule="center")) == 229
    assert len(gamut_bins(rule="nearest")) == 261
    assert len(gamut_bins(rule="knn", k=5)) == 322  # the count reported by the seed
    # every real 8-bit colour's nearest bin is in the margin set
    assert {tuple(b) for b in gamut_bins(rule="nearest")} <= {tuple(b) for b in gamut_bins(rule="margin")}


def test_grid_size_changes_count():
    counts = [len(gamut_bins(g)) for g in (20, 15, 10, 8)]
    assert counts == sorted(counts)


def test_cli_bins_json():
    out = subprocess.run([sys.executable, "-m", "colorlib", "bins", "--grid", "10", "--json"],
                         capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    assert data["grid"] == 10 and data["Q"] == 313 and len(data["bins"]) == 313
    assert bins_digest(np.array(data["bins"])) == ZHANG_BINS_SHA256


def test_every_rule_works_at_grids_that_do_not_divide_the_lattice_extent():
    # at grid 25 the lattice ends at ±100, inside the gamut's reach: the 8-bit rules must stay on it
    for grid in (7.5, 25):
        margin = {tuple(b) for b in gamut_bins(grid, "margin").tolist()}
        for rule in ("nearest", "knn"):
            bins = gamut_bins(grid, rule)
            assert len(bins) and {tuple(b) for b in bins} <= {tuple(b) for b in lattice(grid).tolist()}
        assert {tuple(b) for b in gamut_bins(grid, "nearest").tolist()} <= margin | set(map(tuple, lattice(grid).tolist()))
