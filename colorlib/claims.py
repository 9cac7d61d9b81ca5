"""The seed study's claims, as checks on our numbers (chapter 6).

Each claim compares two methods on one column of Table 1. The direction the seed found comes from its
published table (:data:`colorlib.published.SEED`) where the table has the column, else from its text
(colourfulness, which the seed judged by eye). The check is a **paired** bootstrap over the same photos
(:meth:`colorlib.evaluate.Evaluation.compare`): the claim *holds* when the whole 95% interval of the
difference has the seed's sign, is *reversed* when it has the opposite sign, and is *undecided* otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .evaluate import COLUMN, METHOD_LABELS, Evaluation
from .metrics import verdict
from .published import PUBLISHED_COLUMNS, SEED
from .tables import paired


@dataclass(frozen=True)
class Claim:
    a: str  # method
    b: str  # method
    key: str  # column of Table 1
    sign: int  # +1: the seed found a above b; -1: below
    evidence: str  # where the direction comes from

    @property
    def text(self) -> str:
        relation = "higher" if self.sign > 0 else "lower"
        return f"{_label(self.a)} has a {relation} {COLUMN[self.key].header} than {_label(self.b)}"


def _label(method: str) -> str:
    return METHOD_LABELS.get(method, SEED.labels.get(method, method))


def _from_table(a: str, b: str, key: str) -> Claim:
    """A claim whose direction is read off the seed's Table 1."""
    column = PUBLISHED_COLUMNS.index(key)
    va, vb = SEED.rows[a][column], SEED.rows[b][column]
    return Claim(a, b, key, 1 if va > vb else -1, f"seed's Table 1: {va:.1f} vs {vb:.1f}")  # as published: one decimal


SEED_TEXT = "the seed's text (judged by eye)"
CLAIMS: tuple[Claim, ...] = (
    # "class" is the most accurate per pixel; rebalancing trades that for rare colours
    _from_table("class", "l2", "auc_raw"),
    _from_table("class", "full-soft", "auc_raw"),
    _from_table("class", "full-onehot", "auc_raw"),
    _from_table("full-soft", "class", "auc_rebal"),
    _from_table("full-onehot", "class", "auc_rebal"),
    _from_table("full-onehot", "full-soft", "auc_rebal"),
    # rebalancing buys saturation; L2 regresses to the mean and is the dullest
    Claim("full-soft", "class", "colorfulness", 1, SEED_TEXT),
    Claim("full-onehot", "class", "colorfulness", 1, SEED_TEXT),
    Claim("l2", "class", "colorfulness", -1, SEED_TEXT),
    # colorized photos are easier to recognise than gray ones
    *(_from_table(loss, "gray", "top1") for loss in ("l2", "class", "full-soft", "full-onehot")),
)


def check_claims(evaluation: Evaluation, photos: np.ndarray | None = None) -> list[dict]:
    """Every claim with our paired difference, its interval and the verdict (``not trained`` when a
    method has no row)."""
    methods = set(evaluation.per_image)
    out = []
    for claim in CLAIMS:
        row = {"claim": claim.text, "evidence": claim.evidence, "a": claim.a, "b": claim.b, "key": claim.key,
               "sign": claim.sign}
        if claim.a not in methods or claim.b not in methods:
            out.append({**row, "verdict": "not trained"})
            continue
        paired = evaluation.compare(claim.a, claim.b, claim.key, photos)
        out.append({**row, **{k: paired[k] for k in ("difference", "low", "high")},
                    "verdict": verdict(paired["low"], paired["high"], claim.sign)})
    return out


def claims_markdown(checked: list[dict], before: dict[str, str] | None = None,
                    before_label: str = "previous models") -> str:
    """The claim checks as a Markdown table; with ``before`` ({claim text: verdict} of earlier models, e.g.
    :func:`colorlib.reading.previous_verdicts`, or of the same models on other photos), a last column with
    that verdict, headed ``before_label``."""
    from .tables import markdown_table

    extra = before is not None
    rows = []
    for c in checked:
        ours = (paired(c) if "difference" in c else "–")
        rows.append([c["claim"], c["evidence"], ours, f"**{c['verdict']}**", *([before.get(c["claim"], "–")] if extra else [])])
    header = ["the seed's claim", "evidence", "ours: first named − second [paired 95% interval]", "verdict"]
    return markdown_table(header + ([before_label] if extra else []), rows, "llrl" + ("l" if extra else ""))
