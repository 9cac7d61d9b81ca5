"""The book end to end in the smoke profile: papermill runs every chapter (the same runner as `make book`), then
Jupyter Book renders the executed copies; a real browser reads every page as a reader would."""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading

import nbformat
import pytest

from colorlib.book import EXECUTED, TAKEAWAY_CLASS, chapters, pages
from colorlib.evaluate import COLUMNS
from colorlib.paths import REPO, SHARED_DATA, runs_for, train_data_for
from colorlib.profiles import get_profile
from colorlib.runs import find_runs

from .conftest import write_photo

NODE_TOOLS = REPO / "build" / "node" / "node_modules" / "playwright-core"
# `make book-check` (COLORBOOK_BUILT=cpu): read the site `make book` already built in that profile instead of
# building the smoke book, so the same checks judge the book as it is published
BUILT = os.environ.get("COLORBOOK_BUILT")
PROFILE = BUILT or "smoke"


@pytest.fixture(scope="module")
def built_book():
    if BUILT:
        html = REPO / "book" / "_build" / "html"
        assert (html / "index.html").is_file(), "no built site: run `make book` first"
        return html
    # the data folder as `make book` passes it: relative to the repository, not to the notebooks
    data = ["--data", "../shared/datasets/nips17-dev"] if SHARED_DATA.is_dir() else []
    run = subprocess.run([sys.executable, "-m", "colorlib.book", "run", "--profile", "smoke", *data],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "without encryption" not in run.stdout + run.stderr, "the kernels' TCP warning is back"
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
    monkeypatch.setattr(book, "run_chapter", lambda nb, params, out_dir, name: seen.append(params))
    monkeypatch.chdir(tmp_path)
    book.run_all("smoke", "photos", "my-runs", only=["01"], out_dir=tmp_path / "out")
    assert seen == [{"profile": "smoke", "data": str(tmp_path / "photos"), "runs": str(tmp_path / "my-runs")}]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        book.run_all("smoke", "missing", None, only=["01"], out_dir=tmp_path / "out")


def _executed(name: str) -> nbformat.NotebookNode:
    return nbformat.read(EXECUTED / f"{name}.ipynb", as_version=4)


def _outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            parts.append(out["text"] if isinstance(out["text"], str) else "".join(out["text"]))
        for mime in ("text/markdown", "text/html", "text/plain"):
            value = out.get("data", {}).get(mime)
            if value:
                parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def test_every_page_executed_for_the_site(built_book):
    titles = set()
    for name in pages():
        nb = _executed(name)
        assert nb["metadata"]["papermill"]["parameters"]["profile"] == PROFILE
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, name
        views = [c for c in nb.cells for o in c.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert not views, f"{name}: an ipywidgets view on the static site"
        title = next(c for c in nb.cells if c.cell_type == "markdown").source.splitlines()[0]
        assert title.startswith("# ") and title not in titles, (name, title)
        titles.add(title)
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert str(REPO.parent) not in params.source, f"{name}: absolute paths in the shown parameters"
        if name.startswith("05_training_"):
            assert f'loss = "{name.removeprefix("05_training_")}"' in params.source.replace("'", '"'), params.source


_NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]\d+)?")


def test_take_away_numbers_are_computed(built_book):
    """Every number in a chapter's take-away box appears in the same chapter's other outputs (or is one of the
    method's constants in its prose), so none was typed by hand."""
    boxes = 0
    for name in pages():
        nb = _executed(name)
        prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        outputs = {i: _outputs_text(c) for i, c in enumerate(nb.cells) if c.cell_type == "code"}
        for i, text in outputs.items():
            if TAKEAWAY_CLASS not in text:
                continue
            boxes += 1
            others = "\n".join(t for j, t in outputs.items() if j != i)
            plain = re.sub(r"<[^>]+>", " ", text)
            for match in _NUMBER.finditer(plain):
                number = match.group().lstrip("+−-")
                before = plain[max(0, match.start() - 8):match.start()].lower()
                if "chapter" in before or number in ("0", "1"):
                    continue
                found = re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", others + "\n" + prose)
                assert found, f"{name}: take-away number {match.group()} appears nowhere else in the chapter"
    assert boxes >= len(chapters()) - 1  # every chapter but the introduction ends with one


def _expected_tables(name: str) -> int:
    """The tables a page displays: Markdown tables in its prose and in its outputs."""
    nb = _executed(name)
    texts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    texts += [_outputs_text(c) for c in nb.cells if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])]
    return sum(len(re.findall(r"^\|[^\n]*\|\s*\n\|\s*:?-{3,}", t, flags=re.M)) for t in texts)


# The chapters that report results teach with figures; the record of how the numbers were made is the appendix's.
FIGURE_CHAPTERS = ("05_training", "06_evaluation")
HISTORY = re.compile(r"\bat first\b|was not the first choice|\brepair\b|what this library did", re.I)


def _figures(name: str) -> int:
    return sum("image/png" in out.get("data", {}) for c in _executed(name).cells if c.cell_type == "code"
               for out in c.get("outputs", []))


def test_results_chapters_show_a_figure_for_every_two_tables(built_book):
    for name in FIGURE_CHAPTERS:
        tables, figures = _expected_tables(name), _figures(name)
        assert figures >= 1 and 2 * figures >= tables, f"{name}: {figures} figures for {tables} tables"


def test_main_chapters_tell_no_project_history(built_book):
    """First-person project history ("at first we…") belongs in appendix A, not in a chapter a student learns from."""
    for name in pages():
        if name.startswith("9"):  # the appendix keeps the record
            continue
        nb = _executed(name)
        text = "\n".join([c.source for c in nb.cells if c.cell_type == "markdown"]
                         + [_outputs_text(c) for c in nb.cells if c.cell_type == "code"])
        found = HISTORY.search(text)
        assert not found, f"{name}: {text[max(0, found.start() - 80):found.end() + 80]!r}"


def test_sentences_that_state_numbers_read_them_from_the_library_and_the_runs(built_book):
    """The sentences a reader once found wrong are computed: chapter 4's receptive field against its crop (from
    the model), chapter 6's note on how long each model trained (from the runs' configs), chapter 5's lengths."""
    from colorlib.model import ColorizationNet, describe_blocks
    from colorlib.runs import read_config

    out_rf = describe_blocks(ColorizationNet(width=1.0), 176)[-1]["receptive_field"]
    ch4 = "\n".join(_outputs_text(c) for c in _executed("04_model").cells if c.cell_type == "code")
    assert f"the output's receptive field: {out_rf} px, {out_rf / 176:.1f} times the 176-pixel crop" in ch4
    shown = SHARED_DATA if SHARED_DATA.is_dir() else None
    runs = runs_for(PROFILE, train_data_for(get_profile(PROFILE).train_on, None, shown))
    steps = {loss: read_config(path.parent)["steps"] for loss, path in find_runs(runs).items()}
    ch6 = "\n".join(_outputs_text(c) for c in _executed("06_evaluation").cells if c.cell_type == "code")
    if len(set(steps.values())) == 1:
        assert f"{next(iter(steps.values())):,} steps" in ch6
    else:
        assert "steps " + ", ".join(f"{loss} {n:,}" for loss, n in steps.items()) in ch6


def test_every_page_in_a_real_browser_offline(built_book):
    """Served on localhost, opened in headless Chromium at 1300 px: HTTP 200, no console errors, every image
    loaded, math rendered, every table a <table> (chapter 6's Table 1 complete), no raw Markdown, no dead
    widget, no build-time slider that does not move, unique titles, nothing wider than its box, no build
    machine's path, no garbled credits, and no request leaves the site. A full-page screenshot of each page
    is left in book/_build/screenshots/."""
    if not NODE_TOOLS.is_dir() or not shutil.which("chromium"):
        pytest.fail("browser tools missing: run `make browser` (make test does)")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    expect = {f"book/chapters/{name}.html": {"tables": _expected_tables(name)} for name in pages()}
    shown = SHARED_DATA if SHARED_DATA.is_dir() else None
    trained = list(find_runs(runs_for(PROFILE, train_data_for(get_profile(PROFILE).train_on, None, shown))))
    table1 = {"headers": [c.header for c in COLUMNS], "methods": ["ground-truth", "gray", "random", *trained]}
    expect["book/chapters/06_evaluation.html"]["table1"] = table1
    expect.update({"book/references.html": {}, "book/chapters/credits.html": {}})
    spec = built_book.parent / "browser-expect.json"
    spec.write_text(json.dumps({"pages": expect, "forbidden": [str(REPO), str(REPO.parent / "shared")]}))
    try:
        run = subprocess.run(["node", str(REPO / "tests" / "browser_check.mjs"), f"http://127.0.0.1:{server.server_port}/",
                              str(built_book.parent / "screenshots"), str(spec)],
                             capture_output=True, text=True, timeout=900,
                             env={"NODE_TOOLS": str(NODE_TOOLS.parent.parent), "PATH": "/usr/bin:/bin"})
    finally:
        server.shutdown()
    results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(expect), run.stderr[-2000:]
    bad = [{k: r[k] for k in ("page", "problems")} for r in results if r["problems"]]
    assert not bad, json.dumps(bad, indent=1)
    titles = [r["title"] for r in results]
    assert len(set(titles)) == len(titles), titles
    assert all(r["mathRendered"] > 0 for r in results if r["hasMath"])
    moved = {r["page"].rsplit("/", 1)[-1]: r["framesMoved"] for r in results if r["frameSliders"]}
    knobs = {"01_lab_color_space.html", "02_gamut_quantization.html", "03_class_rebalancing.html", "04_model.html"}
    if SHARED_DATA.is_dir():  # chapter 7 browses the photos beyond its gallery: the embedded photos leave it one
        knobs.add("07_gallery.html")  # (two validation photos, one in the gallery), shown without a slider
    assert knobs <= set(moved), moved
    credits = (built_book / "book" / "chapters" / "credits.html").read_text()
    assert "Photo credits" in credits and "chapter 8" in credits and "chapter 9" in credits


def test_show_source_puts_the_library_code_on_the_page():
    from colorlib.book import show_source
    from colorlib.rebalance import rebalance_weights

    text = show_source(rebalance_weights).data
    assert text.startswith("```python\ndef rebalance_weights(") and text.endswith("```")
    assert "return w / (prior * w).sum()" in text


IMAGENET_FILE = r"(n\d{8}_\d+|ILSVRC20\d\d_\w+_\d+)\.jpe?g"


def test_every_photo_shown_is_credited_and_none_is_a_training_photo(built_book):
    """The book shows photos of one credited source and trains on another that it never shows (Imagenette: no
    per-photo credits). Every photo a page credits is a validation photo of the source shown, with a real credit;
    no page names an ImageNet-style file (``n01440764_123.JPEG``, ``ILSVRC2012_val_00000293.JPEG``), the forms of
    Imagenette's file names."""
    from colorlib.data import scan

    shown = SHARED_DATA if SHARED_DATA.is_dir() else None
    validation = {i.name for i in scan(shown, "val").items}
    credited = {}
    for nb in sorted(EXECUTED.glob("*.ipynb")):
        text = "\n".join(_outputs_text(c) for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code")
        lines = re.findall(r"^\* `([^`]+)`(.*)$", text, flags=re.M)
        credited[nb.stem] = [name for name, _ in lines]
        assert not [name for name, credit in lines if "credit unknown" in credit], nb.stem
        assert set(credited[nb.stem]) <= validation, (nb.stem, set(credited[nb.stem]) - validation)
        assert not re.search(IMAGENET_FILE, text, flags=re.I), nb.stem
    assert sum(map(len, credited.values())) > 0, credited
    for page in built_book.rglob("*.html"):
        assert not re.search(IMAGENET_FILE, page.read_text(errors="replace"), flags=re.I), page


def test_credits_read_the_names_as_their_owners_write_them(nips17):
    from colorlib.credits import credits_page
    from colorlib.data import label_rows

    page = credits_page(nips17)
    assert "\\3" not in page and "Ã" not in page  # no octal escapes, no UTF-8 read as Latin-1
    written = {row["author"] for row in label_rows(nips17).values() if not row["author"].isascii()}
    assert "Jean-Pierre Dalbéra" in written and any(name in page for name in written)


def _check_served_page(built_book, script: str, page: str, *args) -> dict:
    """Serve the built site on a free local port, run ``tests/<script>`` on chapter ``page`` with ``args``, and return
    the JSON line it printed (a crash before it fails with its stderr)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        run = subprocess.run(["node", str(REPO / "tests" / script),
                              f"http://127.0.0.1:{server.server_port}/book/chapters/{page}.html", *map(str, args)],
                             capture_output=True, text=True, timeout=600,
                             env={"NODE_TOOLS": str(NODE_TOOLS.parent.parent), "PATH": "/usr/bin:/bin"})
    finally:
        server.shutdown()
    line = next((x for x in run.stdout.splitlines() if x.startswith("{")), None)
    assert line, run.stderr[-3000:]
    return json.loads(line)


def test_the_colorize_page_paints_what_colorlib_colorize_paints(built_book, tmp_path):
    """Chapter 9 in a real browser: a photo the test makes is colorized in the page (ONNX Runtime Web), its
    picture matches `colorlib colorize` on the same photo within 1.5 Lab units of ab on average, T moves the
    picture, and a non-image and a huge photo get their messages. The page's time is reported beside PyTorch's."""
    import time

    import numpy as np
    import torch
    from PIL import Image

    from colorlib.color import rgb_to_lab
    from colorlib.data import load_rgb, rgb_to_tensor, scan
    from colorlib.evaluate import colorize_photo, default_checkpoint, load_colorizer

    if not NODE_TOOLS.is_dir() or not shutil.which("chromium"):
        pytest.fail("browser tools missing: run `make browser` (make test does)")
    source = scan(SHARED_DATA if SHARED_DATA.is_dir() else None, "val", gray_threshold=5.0).items[0].path
    photo = tmp_path / "photo.png"  # PNG: the browser and PIL decode it to the same bytes
    Image.fromarray(load_rgb(source)).resize((320, 256)).save(photo)
    (tmp_path / "notes.png").write_text("this is not an image")
    Image.new("RGB", (4500, 300), (90, 140, 200)).save(tmp_path / "huge.png")
    out = tmp_path / "browser.png"
    result = _check_served_page(built_book, "colorize_check.mjs", "09_colorize_your_photo",
                                photo, tmp_path / "notes.png", tmp_path / "huge.png", out)
    assert not result["problems"] and not result["offsite"], result
    assert result["changedWithT"] and result["downloadEnabled"] and "not an image" in result["notImageMessage"]
    assert "downscaled" in result["hugeMessage"], result["hugeMessage"]
    model, decoder, size = load_colorizer(default_checkpoint())
    rgb = load_rgb(photo)
    start = time.perf_counter()
    ours = colorize_photo(model, rgb, size, decoder)
    torch_seconds = time.perf_counter() - start
    browser = np.asarray(Image.open(out).convert("RGB"))
    assert browser.shape == ours.shape

    def ab(x):
        return rgb_to_lab(rgb_to_tensor(x))[1:].double()

    gap = torch.linalg.vector_norm(ab(browser) - ab(ours), dim=0)
    report = {"mean_ab_gap": float(gap.mean()), "max_ab_gap": float(gap.max()), "page_network_ms": result["networkMs"],
              "page_decode_ms": result["decodeMs"], "page_seconds": result["photoSeconds"],
              "pytorch_seconds": torch_seconds, "photo": list(rgb.shape[:2]), "page_load_seconds": result["loadSeconds"]}
    (built_book.parent / "colorize-timing.json").write_text(json.dumps(report, indent=1))
    shutil.copy(out.with_name("browser-example.png"), built_book.parent / "screenshots" / "colorize_an_example.png")
    assert report["mean_ab_gap"] <= 1.5, report


def test_colorize_page_opened_from_disk_says_how_to_open_it(built_book):
    """Opened as file:// (the README's link), the browser refuses the model's fetch: the page says in one line to
    run `make serve` and which address to open, instead of a bare network error."""
    if not NODE_TOOLS.is_dir() or not shutil.which("chromium"):
        pytest.fail("browser tools missing: run `make browser` (make test does)")
    page = built_book / "book" / "chapters" / "09_colorize_your_photo.html"
    run = subprocess.run(["node", str(REPO / "tests" / "file_check.mjs"), page.as_uri()], capture_output=True, text=True,
                         timeout=300, env={"NODE_TOOLS": str(NODE_TOOLS.parent.parent), "PATH": "/usr/bin:/bin"})
    line = next((x for x in run.stdout.splitlines() if x.startswith("{")), None)
    assert line, run.stderr[-3000:]
    result = json.loads(line)
    assert result["state"] == "failed", result
    assert "make serve" in result["message"] and \
        "http://localhost:8000/book/chapters/09_colorize_your_photo.html" in result["message"], result


def test_the_hint_page_moves_the_colour_to_the_hint_and_paints_what_pytorch_paints(built_book, tmp_path):
    """Chapter 10 in a real browser: a photo the test makes (256×256) is colorized, a click in its middle offers the
    model's suggested colours, and choosing the one farthest from the colour painted there moves the colour under and
    around the click towards it (the mean ab distance within 12 px falls by at least half). A hint of a given colour
    through the page's colour picker paints what `colorlib colorize --hint` paints (≤ 1 Lab unit of ab on average).
    The update time is recorded beside the network's and PyTorch's."""
    import statistics
    import time

    import numpy as np
    import torch
    from PIL import Image

    from colorlib.color import rgb_to_lab
    from colorlib.data import load_rgb, rgb_to_tensor, scan
    from colorlib.evaluate import colorize_photo, load_colorizer, prediction_size
    from colorlib.hints import hint_cells, hint_from_hex
    from colorlib.paths import training_photos
    from colorlib.profiles import HINT_LOSS

    if not NODE_TOOLS.is_dir() or not shutil.which("chromium"):
        pytest.fail("browser tools missing: run `make browser` (make test does)")
    meta = json.loads((built_book / "_static" / "generated" / "hints" / "hints.json").read_text())
    source = scan(SHARED_DATA if SHARED_DATA.is_dir() else None, "val", gray_threshold=5.0).items[1].path
    photo = tmp_path / "photo.png"
    Image.fromarray(load_rgb(source)).resize((256, 256)).save(photo)
    out, hex_colour = tmp_path / "hinted.png", "#3070c0"
    result = _check_served_page(built_book, "hints_check.mjs", "10_hints", photo, out, hex_colour)
    assert not result["problems"] and not result["offsite"], result
    assert result["after"] <= result["before"] / 2, result  # the colour moved at least halfway to the hint
    assert result["listed"] == 2 and result["downloadEnabled"], result
    # parity with PyTorch for the same hint, with the book's own hint model (whichever profile built the site)
    hints_profile = get_profile(meta["profile"])
    checkpoint = str(runs_for(hints_profile.name, training_photos(hints_profile)) / HINT_LOSS / "model.pt")
    model, decoder, size = load_colorizer(checkpoint)
    rgb = load_rgb(photo)
    x, y = result["parityPoint"]
    hint = hint_from_hex(x, y, hex_colour, result["paritySide"])
    ours = colorize_photo(model, rgb, size, decoder, hints=[hint])
    browser = np.asarray(Image.open(out).convert("RGB"))

    def ab(image):
        return rgb_to_lab(rgb_to_tensor(image))[1:].double()

    gap = torch.linalg.vector_norm(ab(browser) - ab(ours), dim=0)
    # PyTorch's times for the same work: the network once, then one update (the spread and the decoding)
    L = rgb_to_lab(rgb_to_tensor(rgb)[None])[:, :1]
    small = torch.nn.functional.interpolate(L, size=prediction_size(256, 256, size, model.SIZE_MULTIPLE),
                                            mode="bilinear", antialias=True)
    start = time.perf_counter()
    logits, e, keep = model.parts(small)
    network = time.perf_counter() - start
    cells = hint_cells([[hint]], 256, 256, *logits.shape[-2:])
    start = time.perf_counter()
    with torch.no_grad():
        model.spread(logits, e, keep, cells.index, cells.ab, cells.valid, model.bins)
    update = time.perf_counter() - start
    report = {"photo": [256, 256], "page_update_ms_median": statistics.median(result["updates"][1:]),
              "page_update_ms": result["updates"], "page_network_ms": result["networkMs"],
              "pytorch_network_ms": 1000 * network, "pytorch_spread_ms": 1000 * update,
              "mean_ab_gap": float(gap.mean()), "max_ab_gap": float(gap.max()),
              "distance_before": result["before"], "distance_after": result["after"], "chosen": result["chosen"],
              "page_load_seconds": result["loadSeconds"]}
    (built_book.parent / "hints-timing.json").write_text(json.dumps(report, indent=1))
    shots = built_book.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    shutil.copy(out.with_name("hinted-example.png"), shots / "hints_an_example.png")
    assert report["mean_ab_gap"] <= 1.0, report
