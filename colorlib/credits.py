"""Photo credits: every photo the book shows is credited (CC BY requires attribution)."""

from __future__ import annotations

from pathlib import Path

from .data import label_rows, scan
from .paths import resolve_data

EMBEDDED_CREDITS = {
    "astronaut.png": "NASA (public domain), via scikit-image",
    "chelsea.png": "Stefan van der Walt (CC0), via scikit-image",
    "coffee.png": "Rachel Michetti (CC0), via scikit-image",
    "rocket.jpg": "SpaceX (CC0), via scikit-image",
    "motorcycle_left.png": "Middlebury stereo dataset (Scharstein et al.), via scikit-image",
    "motorcycle_right.png": "Middlebury stereo dataset (Scharstein et al.), via scikit-image",
    "hubble_deep_field.jpg": "NASA/ESA (public domain), via scikit-image",
    "china.jpg": "scikit-learn sample image (CC BY 2.0, see sklearn/datasets/images/README.txt)",
    "flower.jpg": "scikit-learn sample image (CC BY 2.0, see sklearn/datasets/images/README.txt)",
    "grace_hopper.jpg": "U.S. Navy (public domain), via matplotlib",
}


def credit_line(name: str, rows: dict[str, dict]) -> str:
    r = rows.get(name) or rows.get(Path(name).name)
    if r:
        lic = "CC BY 2.0" if "by/2.0" in r.get("license", "") else r.get("license", "")
        return f"`{name}` ({r.get('class_name', '')}): photo by {r.get('author', '?')}, [{lic}]({r.get('license', '')}), [source]({r.get('source_url', '')})"
    return f"`{name}`: {EMBEDDED_CREDITS.get(Path(name).name, 'credit unknown')}"


def credits_markdown(data: str | Path | None, names: list[str]) -> str:
    """A Markdown list crediting each named photo of a data source."""
    rows = label_rows(resolve_data(data))
    return "\n".join(f"* {credit_line(n, rows)}" for n in names)


def credits_page(data: str | Path | None) -> str:
    """The book's photo-credits page: every validation photo (any of them can be shown)."""
    names = [i.name for i in scan(data, "val").items]
    return ("# Photo credits\n\nThe book shows photos of the validation split: " + ", ".join(PAGES_WITH_PHOTOS)
            + ". Each is credited here (and the ones a chapter shows, at its end too).\n\n" + credits_markdown(data, names) + "\n")


# Every page that shows photos of the data (tests/test_book.py checks this list against the executed pages).
PAGES_WITH_PHOTOS = ("the introduction", "chapter 1 (Lab)", "the four sections of chapter 5 (one per loss)",
                     "chapter 7 (the gallery and its browser)", "chapter 8 (the semantic colorizer)",
                     "chapter 9 (the in-browser colorizer's examples)")
