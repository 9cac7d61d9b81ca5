"""The book end to end in the smoke profile: papermill runs every chapter (the same runner as
`make book`), then Jupyter Book renders the executed copies; every chapter page shows its figures."""

import json
import re
import subprocess
import sys

import pytest

from colorlib.book import EXECUTED, chapters
from colorlib.paths import REPO


@pytest.fixture(scope="module")
def built_book():
    run = subprocess.run([sys.executable, "-m", "colorlib.book", "run", "--profile", "smoke"],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    build = subprocess.run([str(REPO / ".venv" / "bin" / "jupyter-book") if (REPO / ".venv").exists() else "jupyter-book",
                            "build", ".", "-W", "--builder", "html", "--path-output", "book"],
                           cwd=REPO, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return REPO / "book" / "_build" / "html"


def test_every_chapter_executed_with_widget_state(built_book):
    for nb in chapters():
        executed = json.loads((EXECUTED / nb.name).read_text())
        assert executed["metadata"]["papermill"]["parameters"]["profile"] == "smoke"
        errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, nb.name
        assert "application/vnd.jupyter.widget-state+json" in executed["metadata"].get("widgets", {}), nb.name


def test_chapter_pages_show_figures(built_book):
    index = (built_book / "book" / "intro.html").read_text()  # index.html redirects to the intro
    for nb in chapters():
        page = built_book / "book" / "chapters" / f"{nb.stem}.html"
        assert page.is_file(), page
        assert f"{nb.stem}.html" in index
        html = page.read_text()
        images = re.findall(r'<img[^>]+src="([^"]+)"', html)
        assert len(images) >= 2, f"{nb.stem}: {len(images)} images"
        for src in images:
            if not src.startswith("data:"):
                assert (page.parent / src).resolve().is_file(), src
        assert "application/vnd.jupyter.widget-view+json" in html or "widget-view" in html, nb.stem
