"""Execute the chapters with papermill and hand the executed copies to Jupyter Book.

``python -m colorlib.book run [--profile P] [--data DIR] [--train-data DIR] [--runs DIR] [--only 01,02]`` executes every
``notebooks/NN_*.ipynb`` on a fresh kernel (the ones that train first, :func:`execution_order`), injecting
the parameters into its ``parameters`` cell, and writes the executed copy to ``book/chapters/`` (the sources
stay output-free). A per-loss template (:data:`PER_LOSS`) gives one page per loss, each with its own title.
The kernels run for the site (:mod:`colorlib.site`): knobs are drawn as build-time sliders and progress bars
are off. A failing chapter stops the run with the chapter's name and the failing cell's traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .losses import LOSS_TITLES, LOSSES
from .paths import REPO, SHARED_DATA, runs_for, training_photos

NOTEBOOKS = REPO / "notebooks"
EXECUTED = REPO / "book" / "chapters"
# chapters executed once per loss, with a `loss` parameter: template -> the prefix of its pages (05_training_l2, …)
PER_LOSS = {"05_training_loss": "05_training"}
CHAPTER_OF_TEMPLATE = {"05_training_loss": 5}  # the pages are numbered 5.1 … 5.4 in the order of LOSSES


class ChapterFailed(RuntimeError):
    pass


def chapters() -> list[Path]:
    """The numbered chapters, in order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def pages() -> list[str]:
    """The names of the executed pages, in the order of :func:`chapters` (a per-loss template gives four)."""
    return [name for nb in chapters() for name, _ in page_variants(nb)]


def page_variants(nb: Path) -> list[tuple[str, dict]]:
    """(page name, extra parameters) of each page a chapter notebook gives."""
    if nb.stem not in PER_LOSS:
        return [(nb.stem, {})]
    return [(f"{PER_LOSS[nb.stem]}_{loss}", {"loss": loss}) for loss in LOSSES]


def execution_order(notebooks: list[Path]) -> list[Path]:
    """The order the runner executes the chapters in: the ones that train first (the per-loss pages, then the
    others with a ``retrain`` parameter), so that every other page (the introduction's table, chapter 5's
    overview) finds the trained models; the rest in their own order. The book's order is the table of contents'."""
    return sorted(notebooks, key=lambda nb: (0 if nb.stem in PER_LOSS else 1 if "retrain" in parameter_names(nb) else 2,
                                             nb.name))


def parameter_names(nb: Path) -> set[str]:
    """The names a chapter's ``parameters`` cell assigns (what papermill can set)."""
    import re

    import nbformat

    cells = [c for c in nbformat.read(nb, as_version=4).cells if "parameters" in c.metadata.get("tags", [])]
    return {m.group(1) for c in cells for m in re.finditer(r"^(\w+)\s*=", c.source, flags=re.M)}


def default_data() -> str | None:
    """The shared development photos when this checkout has them, else None (the embedded photos)."""
    return str(SHARED_DATA) if SHARED_DATA.is_dir() else None


def ipc_kernel_manager():
    """The kernel manager the chapters run under: its kernel talks over local IPC sockets (files in Jupyter's
    runtime folder) instead of TCP, so no other process on the machine can connect to it, and ipykernel has
    no reason for its warning that TCP traffic is unencrypted (which it printed once per chapter)."""
    from jupyter_client.manager import KernelManager

    class IPCKernelManager(KernelManager):
        def __init__(self, **kwargs):
            super().__init__(transport="ipc", **kwargs)

    return IPCKernelManager


def run_chapter(nb: Path, parameters: dict, out_dir: Path = EXECUTED, name: str | None = None) -> Path:
    """Execute one chapter on a fresh kernel with ``parameters``; the executed copy is ``out_dir/name.ipynb``.
    The kernel runs with :data:`colorlib.site.SITE_ENV` set (knobs become build-time sliders, progress
    bars are off: neither could move on a static page)."""
    import papermill as pm

    from .site import SITE_ENV

    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name or nb.stem}.ipynb"
    saved = {SITE_ENV: os.environ.get(SITE_ENV)}
    os.environ[SITE_ENV] = "1"  # the kernel inherits the environment
    try:
        pm.execute_notebook(str(nb), str(out), parameters=parameters, kernel_name="python3",
                            cwd=str(NOTEBOOKS), progress_bar=False, kernel_manager_class=ipc_kernel_manager())
    except pm.PapermillExecutionError as exc:
        raise ChapterFailed(f"chapter {nb.stem} failed in cell {exc.exec_count}:\n"
                            f"{exc.ename}: {exc.evalue}\n{''.join(exc.traceback)}") from None
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    present_page(out, parameters, title=page_title(nb, parameters))
    return out


def page_title(nb: Path, parameters: dict) -> str | None:
    """The heading of a per-loss page ("5.1 Training with L2"); None for a chapter with its own heading."""
    if nb.stem not in PER_LOSS:
        return None
    loss = parameters["loss"]
    return f"{CHAPTER_OF_TEMPLATE[nb.stem]}.{LOSSES.index(loss) + 1} Training with {LOSS_TITLES[loss]}"


def _shown_value(name: str, value) -> str:
    """A parameter as the page shows it: paths relative to the repository (no build machine's paths)."""
    from .paths import display_path

    if name in ("data", "train_data", "runs", "semantic_runs") and value is not None:
        return repr(display_path(value))
    return repr(value)


def present_page(path: Path, parameters: dict, title: str | None = None) -> None:
    """Make an executed copy read as its own page: the ``parameters`` cell shows the values this page was
    executed with (paths relative to the repository), papermill's injected cell (absolute paths) is tagged
    ``remove-cell``, and a per-loss page gets its own ``title`` in place of its template's first heading."""
    import re

    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
        if "parameters" in tags:
            lines = []
            for line in cell.source.splitlines():
                m = re.match(r"^(\w+) = (.*?)(\s+#.*)?$", line)
                if m and m.group(1) in parameters:
                    line = f"{m.group(1)} = {_shown_value(m.group(1), parameters[m.group(1)])}{m.group(3) or ''}"
                lines.append(line)
            cell.source = "\n".join(lines)
    if title is not None:
        first = next(c for c in nb.cells if c.cell_type == "markdown")
        first.source = re.sub(r"^# .*$", f"# {title}", first.source, count=1, flags=re.M)
    nbformat.write(nb, path)


def run_all(profile: str, data: str | None, runs: str | None, only: list[str] | None = None,
            out_dir: Path = EXECUTED, retrain: bool = False, train_data: str | None = None) -> list[Path]:
    """Execute the chapters: ``data`` the photos they show and score, ``train_data`` the photos their models
    train on (None: each profile's own, :func:`colorlib.paths.train_data_for`)."""
    from .credits import credits_page
    from .paths import resolve_data, train_data_for
    from .profiles import get_profile

    # The chapters run with the notebooks folder as working directory: pass absolute paths, so that
    # `--data ../shared/...` means the same folder there as where the command was typed.
    folder = resolve_data(data)  # a missing folder fails here, before any chapter runs
    data = None if folder is None else str(folder.resolve())
    trains_on = train_data_for(get_profile(profile).train_on, train_data, data)
    if train_data is not None:
        train_data = str(Path(train_data).resolve())
    runs = str(Path(runs).resolve()) if runs else str(runs_for(profile, trains_on))
    params = {"profile": profile, "data": data, "runs": runs}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "credits.md").write_text(credits_page(data), encoding="utf-8")
    done = []
    for nb in execution_order(chapters()):
        if only and nb.name[:2] not in only:
            continue
        for name, extra in page_variants(nb):
            names = parameter_names(nb)
            extra = {**extra, "retrain": retrain} if "retrain" in names else extra
            extra = {**extra, "train_data": train_data} if train_data and "train_data" in names else extra
            start = time.time()
            print(f"[book] {name} ...", flush=True)
            done.append(run_chapter(nb, {**params, **extra}, out_dir, name))
            print(f"[book] {name} done in {time.time() - start:.0f} s", flush=True)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m colorlib.book")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="execute the chapters with papermill")
    p.add_argument("--profile", default=None, help="smoke, cpu or gpu (default: gpu with CUDA, else cpu)")
    p.add_argument("--data", default=None, help="the photos the book shows and scores (default: "
                   "../shared/datasets/nips17-dev if present)")
    p.add_argument("--train-data", default=None, help="the photos the models train on (default: each profile's "
                   "data set under ../shared/datasets if present, e.g. imagenette-160, else --data)")
    p.add_argument("--runs", default=None, help="training runs folder (default: results/PROFILE-TRAINING_DATA if "
                   "committed, else runs/PROFILE-TRAINING_DATA)")
    p.add_argument("--retrain", action="store_true", help="train again even where a trained model exists")
    p.add_argument("--only", default=None, help="comma-separated chapter numbers, e.g. 01,03")
    args = parser.parse_args(argv)
    from .profiles import get_profile

    profile = get_profile(args.profile).name
    try:
        run_all(profile, args.data or default_data(), args.runs, args.only.split(",") if args.only else None,
                retrain=args.retrain, train_data=args.train_data)
    except ChapterFailed as exc:
        print(f"[book] {exc}", file=sys.stderr)
        return 1
    return 0



def setup_chapter(profile: str | None, data: str | None, runs: str | None = None, train_data: str | None = None):
    """First call of every chapter: check the parameters (one-line errors) and say what will run.

    Returns the :class:`~colorlib.profiles.Profile`, the folder of the photos shown and scored (None: embedded
    photos) and the runs folder (``runs``, else the book's for the profile's training data:
    :func:`colorlib.paths.runs_for`). The training photos: :func:`colorlib.paths.training_photos`.
    """
    from .paths import display_path, resolve_data
    from .profiles import get_profile
    from .widgets import show_figures_as_png

    show_figures_as_png()
    prof = get_profile(profile)
    folder = resolve_data(data)
    trains_on = training_photos(prof, train_data, folder)
    runs_folder = Path(runs) if runs is not None else runs_for(prof.name, trains_on)
    print(f"profile: {prof.name} · shows: {data_label(folder)} · trains on: {data_label(trains_on)} · "
          f"runs: {display_path(runs_folder)}")
    return prof, folder, runs_folder


def data_label(folder: str | Path | None) -> str:
    """A data source as a page names it: its path relative to the repository, or the embedded photos."""
    from .paths import display_path

    return display_path(folder) if folder else "embedded photos (scikit-image, scikit-learn, matplotlib)"


def show_source(*objects):
    """The source of library functions or classes as a Markdown code block, so a chapter shows the code it
    is about while the library stays its single, tested home."""
    import inspect

    from IPython.display import Markdown

    return Markdown("\n\n".join(f"```python\n{inspect.getsource(obj)}```" for obj in objects))


TAKEAWAY_CLASS = "cb-takeaway"  # the tests find the take-away boxes by this class


def takeaway(markdown: str, title: str = "What to take away"):
    """A chapter's closing box, from Markdown that the chapter formats with this build's numbers (so that
    every number in it is computed, never typed). HTML with the theme's admonition classes: a box on the
    site, a titled paragraph in JupyterLab."""
    from IPython.display import HTML
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").render(markdown)
    return HTML(f'<div class="admonition tip {TAKEAWAY_CLASS}"><p class="admonition-title">{title}</p>{body}</div>')


if __name__ == "__main__":
    sys.exit(main())
