"""Downloads for users with internet: public datasets and pretrained weights, with a progress bar and a
checksum (and extraction for archives).

Weights go where PyTorch's own hub cache keeps them (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``), so a file fetched by Zhang's demo or by torchvision is found too.
They are verified the torch-hub way: the hex digits after the last ``-`` of the file name are the start
of its SHA-256.

Nothing in the tests or the book downloads: the tests exercise this code on files they build
themselves and serve with a ``file://`` URL.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .site import progress as tqdm


@dataclass(frozen=True)
class RemoteDataset:
    name: str
    url: str
    sha256: str | None  # None: printed after download so the user can pin it
    about: str


DATASETS = {
    "imagenette-160": RemoteDataset(
        "imagenette-160",
        "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
        None,
        "Imagenette (fast.ai): 10 easy ImageNet classes, ~13k photos, shorter side 160 px, ~94 MB",
    ),
}


@dataclass(frozen=True)
class RemoteWeights:
    name: str
    url: str
    env: str  # an environment variable that may point at the file instead
    about: str

    @property
    def file(self) -> str:
        return self.url.rsplit("/", 1)[-1]

    @property
    def sha256_prefix(self) -> str:
        """The torch-hub convention: ``name-<first hex digits of the SHA-256>.pth``."""
        return Path(self.file).stem.rsplit("-", 1)[-1]


WEIGHTS = {
    "zhang-eccv16": RemoteWeights(
        "zhang-eccv16",
        "https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth",
        "COLORLIB_ZHANG",
        "Zhang, Isola & Efros (ECCV 2016), the released colorization network (PyTorch port), ~129 MB",
    ),
    "vgg16": RemoteWeights(
        "vgg16",
        "https://download.pytorch.org/models/vgg16-397923af.pth",
        "COLORLIB_VGG16",
        "torchvision's ImageNet VGG-16 (the seed's classifier), ~528 MB",
    ),
}


def weights_dir() -> Path:
    """PyTorch's hub cache for weights: ``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch``)."""
    return Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"


def find_weights(name: str) -> Path | None:
    """The local file of :data:`WEIGHTS` entry ``name``: ``$ENV`` if set, else the hub cache; None if absent."""
    entry = WEIGHTS[name]
    for candidate in (os.environ.get(entry.env), weights_dir() / entry.file):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def fetch_weights(name: str, folder: str | Path | None = None) -> Path:
    """Download :data:`WEIGHTS` entry ``name`` into ``folder`` (default :func:`weights_dir`), verified by
    the SHA-256 prefix in its name; returns the file."""
    entry = WEIGHTS[name]
    return download(entry.url, folder or weights_dir(), entry.sha256_prefix, extract=False)


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _safe_extract(archive: Path, dest: Path) -> None:
    """Extract tar or zip, refusing members that would land outside ``dest``."""
    dest = dest.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if not (dest / name).resolve().is_relative_to(dest):
                    raise ValueError(f"{archive.name}: member {name!r} escapes the target folder")
            zf.extractall(dest)
        return
    with tarfile.open(archive) as tf:
        tf.extractall(dest, filter="data")  # the "data" filter rejects absolute paths, links out, devices


def download(url: str, dest: str | Path, sha256: str | None = None, extract: bool = True) -> Path:
    """Fetch ``url`` into folder ``dest`` with a progress bar, check its SHA-256, extract archives.

    ``sha256`` is the whole hex digest or its start (torch hub names files by the first 8 digits).
    Returns the folder (or the file when ``extract`` is False). A checksum mismatch deletes the
    download and raises ``ValueError``. An existing, verified file is not fetched again.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / url.rstrip("/").rsplit("/", 1)[-1]
    if not (target.is_file() and sha256 and sha256_of(target).startswith(sha256)):
        partial = target.with_name(target.name + ".part")
        with urllib.request.urlopen(url) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name) as bar:
                while block := response.read(1 << 16):
                    out.write(block)
                    bar.update(len(block))
        partial.replace(target)
    digest = sha256_of(target)
    if sha256 and not digest.startswith(sha256):
        target.unlink()
        raise ValueError(f"{target.name}: SHA-256 {digest} does not match the expected {sha256}")
    if sha256 is None:
        print(f"{target.name}: SHA-256 {digest} (pass it as sha256= to pin this download)")
    if not extract or not (zipfile.is_zipfile(target) or tarfile.is_tarfile(target)):
        return target
    out_dir = dest / target.name.split(".")[0]
    if out_dir.exists():
        shutil.rmtree(out_dir)
    _safe_extract(target, out_dir)
    return out_dir


def fetch(name: str, root: str | Path | None = None) -> Path:
    """Download a dataset (under ``root``) or weights (into ``root``, default the hub cache) by name."""
    if name in WEIGHTS:
        return fetch_weights(name, root)
    if name not in DATASETS:
        raise ValueError(f"download: unknown name {name!r}; allowed: {', '.join([*DATASETS, *WEIGHTS])}")
    ds = DATASETS[name]
    return download(ds.url, root or "data", ds.sha256)
