"""The published Table 1 of both papers, as data (chapter 6 shows them beside ours).

Each table says what it was measured on: the data, the classifier of the top-1 column, and the scale of
training. Values are (AuC raw %, AuC rebalanced %, top-1 %); ``None`` where the paper gives no value.
The method keys are the library's (``gray``, ``l2``, ``class``, …), so rows line up with ours.
"""

from __future__ import annotations

from dataclasses import dataclass


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
          "Adam β = (0.9, 0.99), weight decay 1e-3, about 15k steps, constant learning rate, Q = 322 bins",
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
    labels={"ground-truth": "Ground truth", "gray": "Gray", "random": "Random", "l2": "Ours (L2)",
            "l2-ft": "Ours (L2, ft)", "class": "Ours (class)", "full-soft": "Ours (full)"},
)

PUBLISHED = (SEED, ZHANG)
PUBLISHED_COLUMNS = ("auc_raw", "auc_rebal", "top1")  # the keys of our rows that the papers report
