"""The published Table 1 of both papers, as data (chapter 6 shows them beside ours).

Each table says what it was measured on: the data, the classifier of the top-1 column, and the scale of
training. Values are (AuC raw %, AuC rebalanced %, top-1 %); ``None`` where the paper gives no value.
The method keys are the library's (``gray``, ``l2``, ``class``, …), so rows line up with ours.
"""

from __future__ import annotations

from dataclasses import dataclass

SEED_BINS = 322  # the number of ab classes Q the seed study reports (its section on quantization)


@dataclass(frozen=True)
class PublishedTable:
    source: str
    data: str
    classifier: str
    scale: str
    rows: dict[str, tuple[float | None, float | None, float | None]]  # method -> (AuC raw, AuC rebal, top-1)
    labels: dict[str, str]  # method -> the paper's own name for the row


SEED = PublishedTable(
    source="Bothin, Norlin & Reha (KTH), Table 1",
    data="2,512 ImageNet photos of two classes (sports cars, passenger cars); 400 for validation",
    classifier="VGG-16 (ImageNet)",
    scale="Zhang's network from scratch (PyTorch's default Kaiming initialisation, not k-means), batch 8, "
          "Adam β = (0.9, 0.99), weight decay 1e-3, about 15k steps, constant learning rate, "
          f"Q = {SEED_BINS} bins",
    rows={
        "ground-truth": (None, None, 72.3),
        "gray": (90.9, 74.2, 69.3),
        "random": (88.5, 77.6, 58.0),
        "l2": (90.4, 74.0, 70.8),
        "class": (91.9, 77.8, 73.0),
        "full-soft": (85.2, 79.5, 73.0),
        "full-onehot": (84.0, 81.3, 72.0),
    },
    labels={"ground-truth": "Ground truth", "gray": "Gray", "random": "Random", "l2": "L2",
            "class": "Class", "full-soft": "Full (soft)", "full-onehot": "Full (one-hot)"},
)

ZHANG = PublishedTable(
    source="Zhang, Isola & Efros (ECCV 2016), Table 1",
    data="10,000 ImageNet validation photos",
    classifier="VGG-16 (ImageNet)",
    scale="Zhang's network trained on the 1.3 million ImageNet training photos",
    rows={
        "ground-truth": (100.0, 100.0, 68.3),
        "gray": (89.1, 58.0, 52.7),
        "random": (84.2, 57.3, 41.0),
        "l2": (91.2, 64.4, 54.9),
        "l2-ft": (91.5, 66.2, 56.5),
        "class": (91.6, 65.1, 56.6),
        "full-soft": (89.5, 67.3, 56.0),
    },
    # Zhang et al. call their rows "Ours (L2)" etc.; here "ours" would read as this book's
    labels={"ground-truth": "Ground truth", "gray": "Gray", "random": "Random", "l2": "Zhang: L2",
            "l2-ft": "Zhang: L2, ft", "class": "Zhang: class", "full-soft": "Zhang: full"},
)

PUBLISHED = (SEED, ZHANG)
PUBLISHED_COLUMNS = ("auc_raw", "auc_rebal", "top1")  # the keys of our rows that the papers report


def side_by_side_markdown(our_rows: list[dict], ours: PublishedTable) -> str:
    """One Markdown table: for every method, our AuC raw / AuC rebalanced / top-1 (with ``ours`` saying
    what they were measured on) beside each published table's, then what each table was measured on."""
    tables = (ours, *PUBLISHED)
    methods = list(dict.fromkeys([*ours.rows, *(m for t in PUBLISHED for m in t.rows)]))
    short = ("AuC raw", "AuC rebal", "top-1")

    def cell(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}"

    from .tables import markdown_table

    header = ["method", *(f"{t.source.split(',')[0]}: {s}" for t in tables for s in short)]
    rows = [[next((t.labels[m] for t in tables if m in t.labels), m),
             *(cell(v) for t in tables for v in t.rows.get(m, (None, None, None)))] for m in methods]
    notes = [f"* **{t.source}**: {t.data}; top-1 by {t.classifier}; {t.scale}." for t in tables]
    return markdown_table(header, rows) + "\n\n" + "\n".join(notes)


def ours_as_table(rows: list[dict], source: str, data: str, scale: str, labels: dict[str, str]) -> PublishedTable:
    """Our evaluation rows in the shape of a published table (the columns the papers report)."""
    first = rows[0] if rows else {"classifier": "–", "top1_kind": ""}
    return PublishedTable(source=source, data=data, classifier=f"{first['classifier']} ({first['top1_kind']})",
                          scale=scale, rows={r["method"]: tuple(r[k] for k in PUBLISHED_COLUMNS) for r in rows},
                          labels={r["method"]: labels.get(r["method"], r["method"]) for r in rows})
