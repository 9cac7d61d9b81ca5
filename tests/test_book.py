"""The book end to end in the smoke profile: papermill runs every chapter (the same runner as
`make book`), then Jupyter Book renders the executed copies; every chapter page shows its figures."""

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading

import pytest

from colorlib.book import EXECUTED, PER_LOSS, chapters
from colorlib.losses import LOSSES
from colorlib.paths import REPO, SHARED_DATA

from .conftest import write_photo


@pytest.fixture(scope="module")
def built_book():
    # the data folder as `make book` passes it: relative to the repository, not to the notebooks
    data = ["--data", "../shared/datasets/nips17-dev"] if SHARED_DATA.is_dir() else []
    run = subprocess.run([sys.executable, "-m", "colorlib.book", "run", "--profile", "smoke", *data],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (REPO / "book" / "_static" / "vendor" / ".done").is_file(), "run `make assets` first (make test does)"
    jb = shutil.which("jupyter-book", path=str(REPO / ".venv" / "bin")) or "jupyter-book"
    build = subprocess.run([jb, "build", ".", "-W", "--builder", "html", "--path-output", "book"],
                           cwd=REPO, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return REPO / "book" / "_build" / "html"


def test_runner_passes_absolute_paths_to_the_chapters(tmp_path, monkeypatch):
    import colorlib.book as book

    for i in range(12):  # enough for a validation photo, which the credits page lists
        write_photo(tmp_path / "photos" / f"{i}.png", i)
    seen = []
    monkeypatch.setattr(book, "run_chapter", lambda nb, params, out_dir, suffix: seen.append(params))
    monkeypatch.chdir(tmp_path)
    book.run_all("smoke", "photos", "my-runs", only=["01"], out_dir=tmp_path / "out")
    assert seen == [{"profile": "smoke", "data": str(tmp_path / "photos"), "runs": str(tmp_path / "my-runs")}]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        book.run_all("smoke", "missing", None, only=["01"], out_dir=tmp_path / "out")


def _pages():
    for nb in chapters():
        for suffix in ([f"_{loss}" for loss in LOSSES] if nb.stem in PER_LOSS else [""]):
            yield f"{nb.stem}{suffix}"


def test_every_chapter_executed_with_widget_state(built_book):
    for name in _pages():
        executed = json.loads((EXECUTED / f"{name}.ipynb").read_text())
        assert executed["metadata"]["papermill"]["parameters"]["profile"] == "smoke"
        errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, name
        assert "application/vnd.jupyter.widget-state+json" in executed["metadata"].get("widgets", {}), name


def test_chapter_pages_show_figures(built_book):
    index = (built_book / "book" / "intro.html").read_text()  # index.html redirects to the intro
    for name in _pages():
        page = built_book / "book" / "chapters" / f"{name}.html"
        assert page.is_file(), page
        assert f"{name}.html" in index
        html = page.read_text()
        images = re.findall(r'<img[^>]+src="([^"]+)"', html)
        assert len(images) >= 1, f"{name}: {len(images)} images"
        for src in images:
            if not src.startswith("data:"):
                assert (page.parent / src).resolve().is_file(), src
        assert "application/vnd.jupyter.widget-view+json" in html, name
        assert str(REPO) not in html, f"{name}: the build machine's paths are on the page"
    assert "Photo credits" in (built_book / "book" / "chapters" / "credits.html").read_text()


def test_every_page_in_a_real_browser_offline(built_book):
    """Served on localhost, opened in headless Chromium: HTTP 200, no console errors, every image loaded,
    math and widgets rendered, and no request leaves the site (it works with the network off)."""
    node_tools = REPO / "build" / "node" / "node_modules" / "playwright-core"
    if not node_tools.is_dir() or not shutil.which("chromium"):
        pytest.fail("browser tools missing: run `make browser` (make test does)")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pages = ["book/intro.html", "book/references.html", "book/chapters/credits.html"]
    pages += [f"book/chapters/{name}.html" for name in _pages()]
    try:
        run = subprocess.run(["node", str(REPO / "tests" / "browser_check.mjs"), f"http://127.0.0.1:{server.server_port}/",
                              str(built_book.parent / "screenshots"), *pages],
                             capture_output=True, text=True, timeout=600,
                             env={"NODE_TOOLS": str(node_tools.parent.parent), "PATH": "/usr/bin:/bin"})
    finally:
        server.shutdown()
    results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(pages), run.stderr[-2000:]
    bad = [r for r in results if r["problems"]]
    assert not bad, json.dumps(bad, indent=1)
    chapters_with_math = [r for r in results if r["hasMath"]]
    assert chapters_with_math and all(r["mathRendered"] > 0 for r in chapters_with_math)
    assert all(r["widgetsRendered"] > 0 for r in results if "chapters/0" in r["page"])
    moved = {r["page"].rsplit("/", 1)[-1]: r["framesMoved"] for r in results if r["frameSliders"]}
    assert {"03_class_rebalancing.html", "04_model.html", "07_gallery.html"} <= set(moved), moved


def test_show_source_puts_the_library_code_on_the_page():
    from colorlib.book import show_source
    from colorlib.rebalance import rebalance_weights

    text = show_source(rebalance_weights).data
    assert text.startswith("```python\ndef rebalance_weights(") and text.endswith("```")
    assert "return w / (prior * w).sum()" in text
