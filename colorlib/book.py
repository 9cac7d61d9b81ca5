"""Execute the chapters with papermill and hand the executed copies to Jupyter Book.

``python -m colorlib.book run [--profile P] [--data DIR] [--runs DIR] [--only 01,02]`` executes every
``notebooks/NN_*.ipynb`` in order on a fresh kernel, injecting the parameters into its ``parameters``
cell, and writes the executed copy to ``book/chapters/`` (the sources stay output-free). A failing
chapter stops the run with the chapter's name and the failing cell's traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .losses import LOSSES
from .paths import REPO, SHARED_DATA, runs_for

NOTEBOOKS = REPO / "notebooks"
EXECUTED = REPO / "book" / "chapters"
PER_LOSS = {"05_training"}  # chapters executed once per loss, with a `loss` parameter


class ChapterFailed(RuntimeError):
    pass


def chapters() -> list[Path]:
    """The numbered chapters, in order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def default_data() -> str | None:
    """The shared development photos when this checkout has them, else None (the embedded photos)."""
    return str(SHARED_DATA) if SHARED_DATA.is_dir() else None


def run_chapter(nb: Path, parameters: dict, out_dir: Path = EXECUTED, suffix: str = "") -> Path:
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{nb.stem}{suffix}.ipynb"
    try:
        pm.execute_notebook(str(nb), str(out), parameters=parameters, kernel_name="python3",
                            cwd=str(NOTEBOOKS), progress_bar=False)
    except pm.PapermillExecutionError as exc:
        raise ChapterFailed(f"chapter {nb.stem} failed in cell {exc.exec_count}:\n"
                            f"{exc.ename}: {exc.evalue}\n{''.join(exc.traceback)}") from None
    hide_injected_parameters(out)
    return out


def hide_injected_parameters(path: Path) -> None:
    """Tag papermill's injected-parameters cell ``remove-cell``: the site should not show this build
    machine's absolute paths (the executed notebook keeps them, in the cell and in its metadata)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    nbformat.write(nb, path)


def run_all(profile: str, data: str | None, runs: str | None, only: list[str] | None = None,
            out_dir: Path = EXECUTED, retrain: bool = False) -> list[Path]:
    from .credits import credits_page
    from .paths import resolve_data

    # The chapters run with the notebooks folder as working directory: pass absolute paths, so that
    # `--data ../shared/...` means the same folder there as where the command was typed.
    folder = resolve_data(data)  # a missing folder fails here, before any chapter runs
    data = None if folder is None else str(folder.resolve())
    runs = str(Path(runs).resolve()) if runs else str(runs_for(profile, data))
    params = {"profile": profile, "data": data, "runs": runs}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "credits.md").write_text(credits_page(data), encoding="utf-8")
    done = []
    for nb in chapters():
        if only and nb.name[:2] not in only:
            continue
        variants = [(f"_{loss}", {"loss": loss, "retrain": retrain}) for loss in LOSSES] if nb.stem in PER_LOSS \
            else [("", {})]
        for suffix, extra in variants:
            start = time.time()
            print(f"[book] {nb.stem}{suffix} ...", flush=True)
            done.append(run_chapter(nb, {**params, **extra}, out_dir, suffix))
            print(f"[book] {nb.stem}{suffix} done in {time.time() - start:.0f} s", flush=True)
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m colorlib.book")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="execute the chapters with papermill")
    p.add_argument("--profile", default=None, help="smoke, cpu or gpu (default: gpu with CUDA, else cpu)")
    p.add_argument("--data", default=None, help="image folder (default: ../shared/datasets/nips17-dev if present)")
    p.add_argument("--runs", default=None, help="training runs folder (default: results/PROFILE-DATA if committed, else runs/PROFILE-DATA)")
    p.add_argument("--retrain", action="store_true", help="train again even where a trained model exists")
    p.add_argument("--only", default=None, help="comma-separated chapter numbers, e.g. 01,03")
    args = parser.parse_args(argv)
    from .profiles import get_profile

    profile = get_profile(args.profile).name
    try:
        run_all(profile, args.data or default_data(), args.runs, args.only.split(",") if args.only else None,
                retrain=args.retrain)
    except ChapterFailed as exc:
        print(f"[book] {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


def setup_chapter(profile: str | None, data: str | None, runs: str | None = None):
    """First call of every chapter: check the parameters (one-line errors) and say what will run.

    Returns the :class:`~colorlib.profiles.Profile`, the data folder (None: embedded photos) and the runs
    folder (``runs``, else the book's: :func:`colorlib.paths.runs_for`).
    """
    from .paths import display_path, resolve_data
    from .profiles import get_profile
    from .widgets import show_figures_as_png

    show_figures_as_png()
    prof = get_profile(profile)
    folder = resolve_data(data)
    runs_folder = Path(runs) if runs is not None else runs_for(prof.name, folder)
    where = display_path(folder) if folder else "embedded photos (scikit-image, scikit-learn, matplotlib)"
    print(f"profile: {prof.name} · data: {where} · runs: {display_path(runs_folder)}")
    return prof, folder, runs_folder


def show_source(*objects):
    """The source of library functions or classes as a Markdown code block, so a chapter shows the code it
    is about while the library stays its single, tested home."""
    import inspect

    from IPython.display import Markdown

    return Markdown("\n\n".join(f"```python\n{inspect.getsource(obj)}```" for obj in objects))
