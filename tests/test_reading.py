"""Reading results: one table of two networks and back, the verdicts that changed, intervals as cells."""

import json

import numpy as np
import pytest
import torch

from colorlib.evaluate import EvalSet, Evaluation, combine, part_of
from colorlib.reading import changed_verdicts, previous_verdicts
from colorlib.tables import markdown_table, paired, with_interval


def _evaluation(methods: dict[str, float], names=("a.jpg", "b.jpg")) -> Evaluation:
    """A table whose rows carry one value each; predictions and per-image statistics are markers of their row."""
    eval_set = EvalSet(torch.zeros(len(names), 1, 4, 4), torch.zeros(len(names), 2, 4, 4),
                       torch.full((len(names),), -1), list(names), np.zeros(len(names)))
    rows = [{"method": m, "auc_raw": v} for m, v in methods.items()]
    return Evaluation(rows, eval_set, {m: f"pred {m}" for m in methods}, {m: f"stats {m}" for m in methods},
                      np.full(3, 1 / 3), "test prior")


def test_part_of_undoes_combine_for_each_network():
    scratch = _evaluation({"ground-truth": 100.0, "gray": 88.0, "random": 80.0, "l2": 88.5, "class": 89.0})
    semantic = _evaluation({"ground-truth": 100.0, "gray": 88.0, "random": 80.0, "l2": 88.9, "full-soft": 85.5})
    both = combine({"from scratch": scratch, "semantic": semantic})
    assert [r["method"] for r in both.rows] == ["ground-truth", "gray", "random", "from scratch l2",
                                                "from scratch class", "semantic l2", "semantic full-soft"]
    for label, alone in (("from scratch", scratch), ("semantic", semantic)):
        back = part_of(both, label)
        assert back.rows == alone.rows
        assert back.predictions == alone.predictions and back.per_image == alone.per_image


def test_combine_refuses_tables_of_other_photos():
    with pytest.raises(ValueError, match="other photos"):
        combine({"x": _evaluation({"gray": 1.0}), "y": _evaluation({"gray": 1.0}, names=("c.jpg", "d.jpg"))})


def test_changed_verdicts_lists_only_the_claims_whose_verdict_moved(tmp_path):
    previous = tmp_path / "previous"
    previous.mkdir()
    record = {"rows": [], "claims": [{"claim": "A beats B", "verdict": "holds"},
                                     {"claim": "C beats D", "verdict": "unclear"}]}
    (previous / "evaluation.json").write_text(json.dumps(record), encoding="utf-8")
    before = previous_verdicts(tmp_path)
    now = [{"claim": "A beats B", "verdict": "holds"}, {"claim": "C beats D", "verdict": "fails"},
           {"claim": "new claim", "verdict": "holds"}]
    assert changed_verdicts(now, before) == [(now[1], "unclear")]
    assert changed_verdicts(now, None) == [] and previous_verdicts(tmp_path / "nothing") is None


def test_intervals_read_the_same_in_a_table_and_in_a_sentence():
    assert with_interval(12.345, 10.1, 14.25) == "12.3 <small>[10.1, 14.2]</small>"
    d = {"difference": 1.25, "low": -0.04, "high": 2.5}
    assert paired(d) == "+1.2 <small>[-0.04, +2.5]</small>"  # a bound never rounds to a signed zero
    assert paired(d, "+.2f", small=False) == "+1.25 [-0.04, +2.50]"


def test_a_table_with_rows_of_the_wrong_length_is_refused():
    assert markdown_table(["a", "b"], [[1, 2]]).splitlines()[1] == "|---|---:|"
    with pytest.raises(ValueError, match="2 columns"):
        markdown_table(["a", "b"], [[1, 2, 3]])


def test_what_changed_names_the_training_photos_and_the_solver_that_moved(tmp_path):
    from colorlib.reading import what_changed

    for loss, lr in (("l2", 1e-3), ("class", 3e-4)):
        (tmp_path / loss).mkdir()
        (tmp_path / loss / "model.pt").write_bytes(b"")
        (tmp_path / loss / "config.json").write_text(json.dumps(
            {"data": "../shared/datasets/imagenette-160", "train_images": 9020, "steps": 1000,
             "profile_settings": {"decay": "coupled", "lr": lr}}))
    before = {"l2": {"data": "nips17-dev", "train_images": 764, "decay": "coupled", "lr": 1e-3, "steps": 1000},
              "class": {"data": "nips17-dev", "train_images": 764, "decay": "decoupled", "lr": 3e-4, "steps": 1000}}
    text = what_changed(before, tmp_path)
    assert "trained on nips17-dev (764 photos), the retrained ones on imagenette-160 (9,020 photos)" in text
    assert "another way of applying weight decay for `class` (decoupled then, coupled now)" in text
    assert "learning rate" not in text and "length" not in text and text.startswith("The previous models trained on")
    same = {loss: {**b, "data": "imagenette-160", "train_images": 9020, "decay": "coupled"} for loss, b in before.items()}
    assert what_changed(same, tmp_path) == "The settings of the previous models were those of the retrained ones."


def test_run_differences_names_photos_solver_steps_and_the_planned_schedule():
    from colorlib.reading import run_differences

    base = {"data": "../shared/datasets/imagenette-160", "train_images": 8126, "steps": 1000,
            "snapshot_of": {"out": "x", "steps": 1500}, "profile_settings": {"decay": "coupled", "lr": 1e-3}}
    assert run_differences(base, json.loads(json.dumps(base))) == []
    other = {**base, "train_images": 9020, "steps": 1500, "profile_settings": {"decay": "decoupled", "lr": 3e-4}}
    del other["snapshot_of"]
    found = run_differences(base, other)
    assert found[0] == "its training photos (8,126 of imagenette-160 against 9,020 of imagenette-160)"
    assert found[1] == "its solver (coupled decay at 0.001 against decoupled at 0.0003)"
    assert found[2] == "its steps (1,000 against 1,500)" and len(found) == 3  # both schedules planned for 1,500
    assert run_differences({**other, "steps": 1000}, other)[-1] == \
        "the length its learning-rate schedule was planned for (1,000 against 1,500 steps)"


def test_verdicts_on_more_photos_lists_what_more_photos_decided():
    from colorlib.reading import verdicts_on_more_photos

    def claim(name, verdict, low=None, high=None):
        return {"claim": name, "verdict": verdict} if low is None else \
            {"claim": name, "verdict": verdict, "difference": (low + high) / 2, "low": low, "high": high}

    few = [claim("a", "undecided", -1, 3), claim("b", "holds", 0.5, 1.5), claim("c", "holds", 0.5, 1.5),
           claim("d", "not trained")]
    many = [claim("a", "holds", 0.5, 1.5), claim("b", "undecided", -0.1, 0.3), claim("c", "reversed", -1.2, -0.8),
            claim("d", "not trained")]
    r = verdicts_on_more_photos(few, many)
    assert [a["claim"] for a, _ in r["decided"]] == ["a"] and [a["claim"] for a, _ in r["lost"]] == ["b"]
    assert [a["claim"] for a, _ in r["flipped"]] == ["c"]
    assert r["width_ratio"] == pytest.approx(0.4)  # widths 1/4, 0.4/1, 0.4/1: the median
    assert "2 of 4 claims are decided" in r["text"] and "against 2 before" in r["text"]


def test_count_phrase_says_none_for_zero():
    from colorlib.reading import count_phrase

    assert count_phrase(0) == "none" and count_phrase(3) == "3"


def test_a_bound_that_would_round_to_zero_keeps_its_sign_and_its_distance():
    from colorlib.tables import with_interval

    assert with_interval(-6.2, -11.3, -0.3, "+.0f", small=False) == "-6 [-11, -0.3]"
    assert with_interval(0.2, 0.004, 0.4, "+.1f", small=False) == "+0.2 [+0.004, +0.4]"
    assert with_interval(0.2, 0.0, 0.4, "+.1f", small=False) == "+0.2 [0.0, +0.4]"  # a zero bound: no sign
    assert with_interval(-0.45, -0.87, -0.0, "+.2f", small=False) == "-0.45 [-0.87, 0.00]"  # nor "-0.00"
    assert with_interval(-0.001, -0.22, 0.19, "+.2f", small=False) == "0.00 [-0.22, +0.19]"
    assert with_interval(0.001, 0.0004, 0.002, "+.2f", small=False) == "+0.001 [+0.0004, +0.002]"  # clear of 0
    assert with_interval(0.0, -0.01, 0.003, ".1f", small=False) == "0.0 [0.0, 0.0]"  # never "-0.0"
    assert with_interval(0.0, 0.003, 0.003, ".1f", small=False) == "0.0 [0.0, 0.0]"  # a score, not a difference


def test_unseen_classes_counts_the_scored_photos_of_the_training_classes(tmp_path):
    from colorlib.reading import unseen_classes
    from tests.test_data import write_photo

    train = tmp_path / "imagenette"
    write_photo(train / "train" / "n01440764" / "a.JPEG", 0, format="JPEG")  # ImageNet class 0
    shown = tmp_path / "shown"
    shown.mkdir()
    text = unseen_classes([0, 5, 7, -1], train, shown)
    assert "1 of the 4 are of the 1 ImageNet classes" in text and "the other 3 of classes" in text
    assert text.endswith("from other things.")
    assert unseen_classes([0, 0, 5], train, shown).endswith("shows.")  # most are of a training class
    assert unseen_classes([0, 5], train, train) == ""  # shown and trained on the same data set
    assert unseen_classes([0, 5], shown, train) == ""  # training photos without labels


def test_listing_joins_items_as_a_sentence_does():
    from colorlib.reading import listing

    assert listing([]) == "" and listing(["a"]) == "a" and listing(["a", "b"]) == "a and b"
    assert listing(["a", "b", "c"]) == "a, b and c"
