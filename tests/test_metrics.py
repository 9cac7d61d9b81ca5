import numpy as np
import pytest
import torch

from colorlib.metrics import (
    auc,
    bootstrap_ci,
    class_balanced_auc,
    colorfulness,
    cumulative_counts,
    inverse_prior_weights,
    psnr,
)


def test_all_correct_is_100():
    assert auc(torch.zeros(2, 5, 5)) == 100.0


@pytest.mark.parametrize("d, expected", [(10.0, 141 / 151), (10.5, 140 / 151), (150.0, 1 / 151), (151.0, 0.0)])
def test_constant_error_by_hand(d, expected):
    # thresholds t = 0..150; a pixel with error d counts at every t >= d
    assert auc(torch.full((3, 4, 4), d)) == pytest.approx(100 * expected)


def test_half_right_half_wrong_and_weights():
    err = torch.tensor([[0.0, 200.0]])
    assert auc(err) == pytest.approx(50.0)
    # weighting the correct pixel 3x makes it 75 %
    assert auc(err, torch.tensor([[3.0, 1.0]])) == pytest.approx(75.0)
    counts, total = cumulative_counts(err)
    assert counts.shape == (151,) and total == 2.0


def test_class_balanced_counts_each_bin_once():
    err = torch.tensor([0.0] * 9 + [200.0])  # nine right pixels of bin 0, one wrong pixel of bin 1
    bins = torch.tensor([0] * 9 + [1])
    assert auc(err) == pytest.approx(90.0)
    assert class_balanced_auc(err, bins) == pytest.approx(50.0)


def test_floor_bounds_inverse_prior_weights():
    prior = np.full(313, 1 / 313)
    prior[0], prior[1] = 0.0, prior[1] + prior[0]
    w = inverse_prior_weights(prior)
    assert np.isfinite(w).all() and abs((prior * w).sum() - 1) < 1e-12
    assert w.max() / np.median(w) == pytest.approx(100.0, rel=0.02)


def test_colorfulness_and_psnr():
    gray = torch.full((1, 3, 8, 8), 0.5)
    assert colorfulness(gray).item() == pytest.approx(0.0)
    vivid = torch.zeros(1, 3, 8, 8)
    vivid[:, 0, :, :4] = 1.0
    vivid[:, 2, :, 4:] = 1.0
    assert colorfulness(vivid).item() > 100
    assert psnr(gray, gray).item() == 100.0
    assert psnr(gray, gray + 0.1).item() == pytest.approx(20.0, abs=1e-4)  # float32 inputs


def test_bootstrap_interval_contains_the_mean():
    x = np.random.default_rng(0).normal(5, 1, size=(200, 1))
    lo, hi = bootstrap_ci(x, lambda r: r.mean())
    assert lo < x.mean() < hi and hi - lo < 0.5


def test_paired_bootstrap_sees_a_small_shift_that_unpaired_intervals_miss():
    from colorlib.metrics import bootstrap_ci, paired_bootstrap, verdict

    rng = np.random.default_rng(0)
    base = rng.uniform(0, 100, 200)  # photos differ a lot from each other...
    a, b = base + 1.0 + rng.normal(0, 0.5, 200), base  # ...but method a is 1 point better on every photo
    diff, lo, hi = paired_bootstrap(200, lambda i: a[i].mean(), lambda i: b[i].mean())
    assert diff == pytest.approx(a.mean() - b.mean()) and lo < diff < hi
    assert 0.8 < lo and hi < 1.2 and verdict(lo, hi, +1) == "holds" and verdict(lo, hi, -1) == "reversed"
    # unpaired intervals of the two means overlap widely: they could not tell
    (lo_a, hi_a), (lo_b, hi_b) = (bootstrap_ci(x, np.mean) for x in (a, b))
    assert lo_a < hi_b and lo_b < hi_a
    # no difference at all: the interval straddles 0
    same = paired_bootstrap(200, lambda i: base[i].mean() + rng.normal(0, 1e-9), lambda i: base[i].mean())
    assert verdict(same[1], same[2], +1) == "undecided"


def test_class_balanced_auc_from_per_image_counts_equals_the_direct_one():
    from colorlib.metrics import class_balanced_auc_from_counts, counts_per_bin

    g = torch.Generator().manual_seed(0)
    err = torch.rand(5, 8, 8, generator=g) * 60
    bins = torch.randint(0, 7, (5, 8, 8), generator=g)
    per_image = [counts_per_bin(err[i], bins[i], 313) for i in range(5)]
    assert class_balanced_auc_from_counts(per_image) == pytest.approx(class_balanced_auc(err, bins), abs=1e-4)
    sub = [0, 2, 2]  # a bootstrap-like subset with a repeat
    assert class_balanced_auc_from_counts([per_image[i] for i in sub]) == pytest.approx(
        class_balanced_auc(err[sub], bins[sub]), abs=1e-4)


def test_warm_painted_cool_counts_warm_truth_painted_green_or_blue():
    from colorlib.metrics import COOL_AB, WARM_AB, warm_painted_cool

    true = torch.zeros(2, 2, 2, 2)
    true[0, :, 0, :] = WARM_AB + 10  # photo 0: top row warm (skin), bottom row gray
    true[1] = WARM_AB + 1  # photo 1: all warm
    pred = torch.zeros_like(true)
    pred[0, 1, 0, 0] = COOL_AB - 1  # one warm pixel painted blue (b < -2)
    pred[0, 0, 1, :] = COOL_AB - 5  # gray pixels painted green do not count: their truth is not warm
    pred[1] = true[1]  # warm painted warm
    warm, cool = warm_painted_cool(pred, true)
    assert warm.tolist() == [2, 4] and cool.tolist() == [1, 0]
    gray_warm, gray_cool = warm_painted_cool(torch.zeros_like(true), true)
    assert gray_cool.sum() == 0  # gray paints nothing cool


def test_where_colour_goes_measures_gray_right_hue_and_cast():
    from colorlib.gallery import where_colour_goes

    truth = torch.zeros(1, 2, 8, 8)
    truth[:, 0] = 30.0  # red everywhere (a = 30: hue 0°)
    gray, pink, green = torch.zeros_like(truth), truth * 0.5, -truth
    assert where_colour_goes(gray, truth)["object_left_gray"] == 1.0
    assert where_colour_goes(gray, truth)["object_right_hue"] == 0.0
    right = where_colour_goes(pink, truth)
    assert right["object_left_gray"] == 0.0 and right["object_right_hue"] == 1.0
    assert right["cast_a"] == pytest.approx(-15.0) and right["cast_b"] == pytest.approx(0.0)
    wrong = where_colour_goes(green, truth)  # coloured, never gray, in the opposite hue
    assert wrong["object_left_gray"] == 0.0 and wrong["object_right_hue"] == 0.0 and wrong["cast_a"] == pytest.approx(-60.0)


def test_distinct_titles_number_only_the_repeated_ones():
    from colorlib.gallery import distinct_titles

    assert distinct_titles(["lycaenid", "jay", "lycaenid"]) == ["lycaenid 1", "jay", "lycaenid 2"]
    assert distinct_titles(["jay"]) == ["jay"]
