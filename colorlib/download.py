"""Download a public dataset for users with internet: progress bar, checksum, extraction.

Nothing in the tests or the book downloads: the tests exercise this code on an archive they build
themselves and serve with a ``file://`` URL.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm


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

    Returns the folder (or the file when ``extract`` is False). A checksum mismatch deletes the
    download and raises ``ValueError``. An existing, verified file is not fetched again.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / url.rstrip("/").rsplit("/", 1)[-1]
    if not (target.is_file() and sha256 and sha256_of(target) == sha256):
        partial = target.with_name(target.name + ".part")
        with urllib.request.urlopen(url) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name) as bar:
                while block := response.read(1 << 16):
                    out.write(block)
                    bar.update(len(block))
        partial.replace(target)
    digest = sha256_of(target)
    if sha256 and digest != sha256:
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


def fetch_dataset(name: str, root: str | Path) -> Path:
    """Download one of :data:`DATASETS` under ``root``; returns the extracted folder."""
    if name not in DATASETS:
        raise ValueError(f"dataset: unknown value {name!r}; allowed: {', '.join(DATASETS)}")
    ds = DATASETS[name]
    return download(ds.url, root, ds.sha256)
