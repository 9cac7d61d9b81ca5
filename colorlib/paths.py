"""Where things are: data, runs, the repository (one place for every path)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The two roles of data (one home for both): the photos the book SHOWS and scores (credited, nips17-dev) and the
# photos its models TRAIN on (Imagenette: 13 times more, never shown, no per-photo credits). Either may be
# missing; then the book shows the embedded photos and trains on what it shows.
SHARED_DATA = REPO.parent / "shared" / "datasets" / "nips17-dev"  # shown and scored, when present
SHARED_DATASETS = REPO.parent / "shared" / "datasets"  # where a profile's training data set is looked for
RUNS = REPO / "runs"  # default home of training runs (not tracked)
RESULTS = REPO / "results"  # trained models kept in git: RESULTS/<profile>-<data>/<loss>/
SITE_STATIC = REPO / "book" / "_static"  # served as the site's _static/ folder
SITE_GENERATED = SITE_STATIC / "generated"  # made by the build, not tracked: chapter 9's model and example photos
DATA_ENV = "COLORLIB_DATA"
TRAIN_DATA_ENV = "COLORLIB_TRAIN_DATA"

# Colour photographs that ship inside the installed dependencies: the embedded default, offline.
_EMBEDDED = [
    ("skimage", "data", [
        "astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
        "motorcycle_right.png", "hubble_deep_field.jpg",
    ]),
    ("sklearn", "datasets/images", ["china.jpg", "flower.jpg"]),
    ("matplotlib", "mpl-data/sample_data", ["grace_hopper.jpg"]),
]


def embedded_images() -> list[Path]:
    """The colour photos shipped with scikit-image, scikit-learn and matplotlib that exist here. The packages
    are only located, not imported: importing scikit-learn alone costs seconds in every chapter."""
    from importlib.util import find_spec

    found = []
    for package, folder, names in _EMBEDDED:
        spec = find_spec(package)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent / folder
        found += [root / name for name in names if (root / name).is_file()]
    return found


def resolve_data(data: str | os.PathLike | None = None) -> Path | None:
    """The data folder to use: ``data`` if given, else ``$COLORLIB_DATA``, else None (the embedded photos).

    Raises ``FileNotFoundError`` with one line when a named folder does not exist.
    """
    for source, value in (("--data", data), (DATA_ENV, os.environ.get(DATA_ENV) or None)):
        if value is not None:
            path = Path(value).expanduser()
            if not path.is_dir():
                raise FileNotFoundError(f"{source}: data folder {str(path)!r} does not exist")
            return path
    return None


def shared_dataset(name: str) -> Path | None:
    """The data set ``name`` under ``../shared/datasets``, or None where this machine has no such folder."""
    folder = SHARED_DATASETS / name
    return folder if folder.is_dir() else None


def train_data_for(train_on: str, train_data: str | os.PathLike | None = None,
                   data: str | os.PathLike | None = None) -> Path | None:
    """The photos a profile's models train on: ``train_data`` if given, else ``$COLORLIB_TRAIN_DATA``, else the
    profile's data set ``train_on`` under ``../shared/datasets`` when present, else the photos shown
    (:func:`resolve_data` of ``data``; None: the embedded photos). One-line error for a named folder that does
    not exist."""
    value = train_data if train_data is not None else os.environ.get(TRAIN_DATA_ENV) or None
    if value is None:
        return shared_dataset(train_on) or resolve_data(data)
    path = Path(value).expanduser()
    if not path.is_dir():
        source = "--train-data" if train_data is not None else TRAIN_DATA_ENV
        raise FileNotFoundError(f"{source}: data folder {str(path)!r} does not exist")
    return path


def training_photos(profile, train_data: str | os.PathLike | None = None,
                    data: str | os.PathLike | None = None) -> Path | None:
    """The folder the models of ``profile`` (a :class:`colorlib.profiles.Profile`) train on:
    :func:`train_data_for` of its data set; None: the embedded photos."""
    return train_data_for(profile.train_on, train_data, data)


def data_name(data: str | os.PathLike | None) -> str:
    """A data source as runs folders and tables name it: the folder's name, or ``embedded``."""
    return Path(data).name if data else "embedded"


def runs_for(profile: str, train_data: str | os.PathLike | None) -> Path:
    """Where the book keeps the runs of a profile trained on ``train_data``: the committed ``results/`` folder
    when it has them (so the book renders real results without retraining), else ``runs/``."""
    name = f"{profile}-{data_name(train_data)}"
    return RESULTS / name if (RESULTS / name).is_dir() else RUNS / name


def committed_runs(profile: str) -> Path:
    """The folder of ``profile``'s committed models: ``results/<profile>-<the data set it trains on>``."""
    from .profiles import get_profile

    return RESULTS / f"{profile}-{get_profile(profile).train_on}"


def display_path(path: str | os.PathLike | None) -> str:
    """A path as a reader should see it: relative to the repository when it is inside the repository's
    folder or beside it (``results/...``, ``../shared/...``), so pages show no build machine's paths. Symbolic links
    are kept as they are named (a data folder linked from elsewhere shows as the link, not as its target); only
    where the path as named lies elsewhere is its target tried."""
    if path is None:
        return "none"
    named = Path(os.path.abspath(path))  # absolute, with links kept
    for candidate in (named, named.resolve()):
        if candidate.is_relative_to(REPO.parent):
            return os.path.relpath(candidate, REPO)
    return str(named)
