"""Photos in, L and ab tensors out (used from chapter 3 on).

* Any folder of images, searched recursively (jpg/jpeg/png/bmp/gif/tif/tiff/webp, any case), an
  ImageNet-style folder (``nXXXXXXXX/*.JPEG``, optionally filtered by synset), or, with no folder,
  the colour photos embedded in the installed dependencies.
* A deterministic 80/20 train/val split from a stable hash of each file's name, the same on every
  machine; a folder that holds ``train/`` and ``val/`` folders of its own (Imagenette, ImageNet) keeps its own
  split instead. For tuning, the training split is itself cut 90/10 into ``fit`` and ``tune`` by another part
  of the same hash, so that choices can be made without ever looking at ``val``.
* An optional ``labels.csv`` (columns ``file``, ``imagenet_index``) carried through for evaluation; without one,
  photos in a synset folder of :data:`IMAGENET_INDEX` take that class's index.
* Near-gray photos (mean per-pixel max−min of R,G,B, in 0..255, below a threshold) are skipped for
  training and for the prior.
* Unreadable, truncated or non-image files are skipped and reported once each; they never stop a run.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import logging
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from .color import rgb_to_lab, split_lab
from .paths import embedded_images, resolve_data

log = logging.getLogger("colorlib.data")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
SPLITS = ("train", "val", "all", "fit", "tune")
TRAIN_PERCENT = 80
TUNE_PERCENT = 10  # of the training split
TRAIN_SPLITS = ("train", "fit")  # what a model may be trained on: never "val" or "tune"
OWN_SPLITS = ("train", "val")  # a folder holding both keeps its own split (:func:`own_split`)
_SYNSET = re.compile(r"^n\d{8}$")
# ILSVRC-2012 class indices (the order classifiers output) of the synsets whose photos this project trains and
# scores on: Imagenette's ten (its README; nips17-dev's labels.csv agrees on the five it shares).
IMAGENET_INDEX = {"n01440764": 0, "n02102040": 217, "n02979186": 482, "n03000684": 491, "n03028079": 497,
                  "n03394916": 566, "n03417042": 569, "n03425413": 571, "n03445777": 574, "n03888257": 701}
_reported: set[str] = set()


class NoUsableImages(RuntimeError):
    """Raised when a data source holds no usable image."""


def report_skip(path: Path | str, reason: str) -> None:
    """Log a skipped file once per process."""
    key = str(path)
    if key not in _reported:
        _reported.add(key)
        log.warning("skipped %s: %s", path, reason)


def find_images(root: Path) -> list[Path]:
    """All image files under ``root`` (recursive, any case of extension), sorted."""
    return sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


def _name_digest(path: Path | str) -> str:
    """SHA-1 of the file's name (not its folder): the same split on every machine and in any folder."""
    return hashlib.sha1(Path(path).name.encode("utf-8")).hexdigest()


def split_of(path: Path | str) -> str:
    """``"train"`` or ``"val"``: a stable hash of the file's name, 80/20. Same on every machine."""
    return "train" if int(_name_digest(path)[:8], 16) % 100 < TRAIN_PERCENT else "val"


def own_split(root: Path | None) -> bool:
    """Whether ``root`` holds a ``train/`` and a ``val/`` folder: then those are its splits (the data set's
    authors' split, e.g. Imagenette's), not the hash of each name."""
    return root is not None and all((Path(root) / name).is_dir() for name in OWN_SPLITS)


def in_split(path: Path | str, split: str, coarse: str | None = None) -> bool:
    """Whether a file belongs to ``split`` (one of :data:`SPLITS`). ``fit`` and ``tune`` partition ``train``
    (90/10, from hash digits independent of the train/val cut); ``all`` holds everything. ``coarse``: the
    file's train/val split where its folder says it (:func:`own_split`), else from the hash of its name."""
    if split == "all":
        return True
    coarse = coarse or split_of(path)
    if split in ("train", "val"):
        return coarse == split
    tune = int(_name_digest(path)[8:16], 16) % 100 < TUNE_PERCENT
    return coarse == "train" and tune == (split == "tune")


def synset_of(path: Path) -> str | None:
    """The ImageNet synset (``nXXXXXXXX``) of the folder holding ``path``, if it is one."""
    return path.parent.name if _SYNSET.match(path.parent.name) else None


def load_rgb(path: Path | str) -> np.ndarray:
    """Decode any image to 8-bit sRGB ``(H, W, 3)`` uint8.

    EXIF orientation is applied; alpha is dropped; 16-bit and 32-bit gray are scaled to 8 bits;
    palette, CMYK and gray images are converted. Raises ``OSError``/``ValueError`` on bad files.
    """
    with Image.open(path) as im:
        im.load()
        im = ImageOps.exif_transpose(im)
        if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            arr = np.asarray(im, dtype=np.float64)
            top = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
            gray = np.clip(np.round(arr / top * 255.0), 0, 255).astype(np.uint8)
            return np.repeat(gray[..., None], 3, axis=2)
        if im.mode == "F":
            arr = np.asarray(im)
            gray = np.clip(np.round(arr * (255.0 if arr.max() <= 1 else 1.0)), 0, 255)
            return np.repeat(gray.astype(np.uint8)[..., None], 3, axis=2)
        if im.mode == "P":
            im = im.convert("RGBA")
        rgb = im.convert("RGB")  # drops alpha (RGBA, LA), converts CMYK, L, YCbCr
        arr = np.asarray(rgb, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"unexpected image shape {arr.shape}")
    return arr


def mean_chroma(rgb: np.ndarray) -> float:
    """Mean per-pixel (max − min) of R, G, B in 0..255, as in nips17-dev's ``labels.csv``."""
    return float((rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2)).mean())


def label_rows(root: Path | None) -> dict[str, dict[str, str]]:
    """The rows of ``labels.csv`` under ``root``, keyed by relative file and by bare file name; {} if absent."""
    if root is None or not (Path(root) / "labels.csv").is_file():
        return {}
    rows: dict[str, dict[str, str]] = {}
    with open(Path(root) / "labels.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            rows[row["file"]] = rows[Path(row["file"]).name] = row
    return rows


def read_labels(root: Path | None) -> dict[str, int]:
    """``labels.csv`` under ``root`` -> {relative file and bare file name: imagenet_index}; {} if absent."""
    labels: dict[str, int] = {}
    for key, row in label_rows(root).items():
        try:
            labels[key] = int(row["imagenet_index"])
        except (KeyError, ValueError):
            continue
    return labels


def photo_classes(data: str | Path | None) -> set[int]:
    """The ImageNet classes (indices) a data source's photos are labelled with, from its ``labels.csv`` and its
    synset folders (:data:`IMAGENET_INDEX`), read without decoding a photo; empty for the embedded photos or an
    unlabelled folder. Chapter 5 uses it to say which validation photos show a class the training photos show."""
    root = resolve_data(data)
    if root is None:
        return set()
    folders = {d.name for d in root.rglob("n*") if d.is_dir() and _SYNSET.match(d.name)}
    return set(read_labels(root).values()) | {IMAGENET_INDEX[f] for f in folders if f in IMAGENET_INDEX}


@dataclass
class Item:
    path: Path
    name: str  # path relative to the data root (or the bare name for embedded photos)
    label: int  # ImageNet index, -1 if unknown
    chroma: float


@dataclass
class Scan:
    """The usable images of a source, and what was skipped and why."""

    root: Path | None
    items: list[Item] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


# Each photo's mean chroma, keyed by (path, modification time, size): decoding every photo of a folder to
# check it for gray costs seconds, and every chapter's kernel scans the same folder; the table is kept on disk
# (colorlib.cache) so that only new or changed photos are decoded again.
_chroma_cache: dict[tuple[str, float, int], float] = {}
CHROMA_TABLE = ("chroma", ["mean chroma per photo"])


def _chroma_of(path: Path) -> float:
    st = path.stat()
    key = (str(path), st.st_mtime, st.st_size)
    if key not in _chroma_cache:
        _chroma_cache[key] = mean_chroma(load_rgb(path))
    return _chroma_cache[key]


def _remember_chromas(compute: Callable[[], Scan]) -> Scan:
    """``compute()`` with the chroma table read from disk before and written back after, if it grew."""
    from .cache import read_table, write_table

    if not _chroma_cache:
        _chroma_cache.update(read_table(*CHROMA_TABLE))
    known = len(_chroma_cache)
    try:
        return compute()
    finally:
        if len(_chroma_cache) > known:
            table = {**read_table(*CHROMA_TABLE), **_chroma_cache}  # another process may have added some
            write_table(*CHROMA_TABLE, {key: c for key, c in table.items() if Path(key[0]).exists()})


def scan(
    data: str | Path | None = None,
    split: str = "all",
    gray_threshold: float | None = None,
    synsets: set[str] | None = None,
    limit: int | None = None,
) -> Scan:
    """Find, check and split the images of a source.

    ``data``: a folder, or None for ``$COLORLIB_DATA`` / the embedded photos. ``split``: one of
    :data:`SPLITS`. ``gray_threshold``: skip photos whose mean chroma is below it (None keeps all).
    ``synsets``: keep only ImageNet-style folders with these names. ``limit``: keep that many of the usable
    photos (:func:`spread_subset`; None keeps all).
    """
    if split not in SPLITS:
        raise ValueError(f"split: unknown value {split!r}; allowed: {', '.join(SPLITS)}")
    result = _remember_chromas(lambda: _scan(data, split, gray_threshold, synsets))
    if limit is not None:
        result.items = spread_subset(result.items, limit)
    return result


def spread_subset(items: list[Item], limit: int) -> list[Item]:
    """``limit`` of ``items`` chosen by the hash of their names (so from every class folder, not the first
    one's), in their original order; the same on every machine."""
    if limit >= len(items):
        return items
    keep = set(sorted(range(len(items)), key=lambda i: _name_digest(items[i].path)[16:])[:limit])
    return [item for i, item in enumerate(items) if i in keep]


def _scan(data, split, gray_threshold, synsets) -> Scan:
    root = resolve_data(data)
    files = find_images(root) if root is not None else embedded_images()
    labels = read_labels(root)
    own = own_split(root)
    result = Scan(root=root)
    for path in files:
        name = path.relative_to(root).as_posix() if root is not None else path.name
        if synsets is not None and synset_of(path) not in synsets:
            continue
        top = name.split("/", 1)[0]
        if own and top not in OWN_SPLITS:
            continue  # beside the data set's own train/ and val/: not part of it
        if not in_split(path, split, top if own else None):
            continue
        try:
            chroma = _chroma_of(path)
        except Exception as exc:  # any decoder error: report and go on
            reason = f"cannot read image ({type(exc).__name__}: {exc})".splitlines()[0]
            result.skipped.append((path, reason))
            report_skip(path, reason)
            continue
        if gray_threshold is not None and chroma < gray_threshold:
            result.skipped.append((path, f"near-gray (mean chroma {chroma:.1f} < {gray_threshold})"))
            continue
        label = labels.get(name, labels.get(path.name, IMAGENET_INDEX.get(synset_of(path) or "", -1)))
        result.items.append(Item(path, name, label, chroma))
    if not result.items:
        where = str(root) if root is not None else "the embedded photos"
        raise NoUsableImages(f"no usable image in {where} (split={split}, {len(result.skipped)} skipped)")
    return result


def resize_shorter(rgb: np.ndarray, size: int) -> Image.Image:
    """Resize so the shorter side is ``size`` pixels (bicubic), keeping the aspect ratio."""
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    new = (max(size, round(w * scale)), max(size, round(h * scale)))
    return Image.fromarray(rgb).resize(new, Image.Resampling.BICUBIC)


def rgb_to_tensor(rgb: np.ndarray | Image.Image) -> torch.Tensor:
    """uint8 ``(H,W,3)`` -> float32 ``(3,H,W)`` in 0..1."""
    return torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).float().div_(255.0)


def resize_side(size: int, train: bool) -> int:
    """The shorter side a photo is resized to before cropping ``size``²: 8/7 of it for training (room for
    random crops), ``size`` itself for evaluation (a centre crop)."""
    return round(size * 8 / 7) if train else size


def crop_window(width: int, height: int, size: int, train: bool, rng: random.Random) -> tuple[int, int, bool]:
    """Where to crop ``size``² from a resized photo of ``width``×``height`` pixels, and whether to flip it
    left-right: random for training (in this order of draws: x, y, flip), centred and unflipped otherwise.
    Both data modes draw their crops here, so they give the same samples for the same seed."""
    if not train:
        return (width - size) // 2, (height - size) // 2, False
    x, y = rng.randint(0, width - size), rng.randint(0, height - size)
    return x, y, rng.random() < 0.5


def sample_rng(seed: int, epoch: int, index: int) -> random.Random:
    """One generator per (seed, epoch, item): the same crops whatever the worker count, order or data mode."""
    return random.Random(f"{seed}-{epoch}-{index}")


class ColorDataset(Dataset):
    """L and ab tensors from a data source.

    ``train=True``: shorter side resized to 8/7 of ``size``, random ``size``² crop and horizontal flip.
    ``train=False``: shorter side resized to ``size``, centre crop. Each item is a dict with
    ``L (1,size,size)`` in 0..100, ``ab (2,size,size)`` in Lab units, ``label`` (int, -1 if unknown)
    and ``index``.
    """

    def __init__(
        self,
        data: str | Path | None = None,
        split: str = "train",
        size: int = 176,
        train: bool = True,
        gray_threshold: float | None = 5.0,
        synsets: set[str] | None = None,
        seed: int = 0,
        limit: int | None = None,
    ):
        self.scan = scan(data, split, gray_threshold, synsets, limit)
        self.items = self.scan.items
        self.size, self.train = size, train
        self.seed, self.epoch = seed, 0

    def __len__(self) -> int:
        return len(self.items)

    def resized(self, rgb: np.ndarray) -> np.ndarray:
        """A decoded photo resized for cropping (:func:`resize_side`), uint8 ``(h, w, 3)``."""
        return np.array(resize_shorter(rgb, resize_side(self.size, self.train)))

    def _crop(self, resized: np.ndarray, rng: random.Random) -> np.ndarray:
        h, w = resized.shape[:2]
        x, y, flip = crop_window(w, h, self.size, self.train, rng)
        arr = resized[y : y + self.size, x : x + self.size]
        return arr[:, ::-1] if flip else arr

    def __getitem__(self, index: int) -> dict:
        rng = sample_rng(self.seed, self.epoch, index)
        item = self.items[index]
        try:
            rgb = load_rgb(item.path)
        except Exception as exc:  # the file changed since the scan: report, use a neighbour
            report_skip(item.path, f"cannot read image ({type(exc).__name__})")
            return self[(index + 1) % len(self)]
        L, ab = split_lab(rgb_to_lab(rgb_to_tensor(self._crop(self.resized(rgb), rng))))
        return {"L": L, "ab": ab, "label": item.label, "index": index}

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch's augmentations (the trainer calls this once per pass over the data)."""
        self.epoch = epoch

    def decoded_bytes(self, limit: int | None = None) -> int:
        """The size of every photo once decoded and resized (:meth:`resized`), from the files' headers
        (nothing is decoded): what keeping the data set on the device costs. With ``limit``, counting
        stops once the total is past it (a large folder is known to be too large without reading all of
        it; every photo takes at least side² pixels)."""
        side = resize_side(self.size, self.train)
        total = len(self.items) * side * side * 3
        if limit is not None and total > limit:
            return total
        total = 0
        for item in self.items:
            try:
                with Image.open(item.path) as im:
                    w, h = im.size
            except Exception:  # unreadable now: it will be reported where it is decoded
                continue
            scale = side / min(w, h)
            total += max(side, round(w * scale)) * max(side, round(h * scale)) * 3
            if limit is not None and total > limit:
                break
        return total


class DevicePhotos:
    """Every photo of a :class:`ColorDataset` decoded once, resized as the dataset resizes it, and kept in
    one flat uint8 tensor on ``device``; :meth:`batch` crops, flips and converts to Lab there.

    The crops are drawn by :func:`crop_window` with the dataset's seed and epoch, so a batch holds the same
    samples as the streaming loader's (test_data checks it). Decoding runs in ``workers`` threads (PIL
    releases the GIL while it decodes and resizes)."""

    def __init__(self, dataset: ColorDataset, device: torch.device, workers: int = 1):
        from concurrent.futures import ThreadPoolExecutor

        from .site import progress as tqdm

        self.dataset = dataset
        with ThreadPoolExecutor(max(1, workers)) as pool:
            decoded = list(tqdm(pool.map(self._decode, dataset.items), total=len(dataset.items),
                                desc="decoding photos once", leave=False, disable=len(dataset.items) < 64))
        readable = [i for i, arr in enumerate(decoded) if arr is not None]
        if not readable:
            raise NoUsableImages("no photo of the data set could be decoded")
        # An unreadable photo is replaced by the next readable one, as the streaming loader does.
        self.source = [next(j for j in itertools.chain(range(i, len(decoded)), readable) if decoded[j] is not None)
                       for i in range(len(decoded))]
        self.shapes = [None if arr is None else arr.shape for arr in decoded]
        sizes = [0 if arr is None else arr.size for arr in decoded]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        flat = torch.empty(self.offsets[-1], dtype=torch.uint8)
        for i, start in enumerate(self.offsets[:-1]):
            if decoded[i] is not None:
                flat[start : start + decoded[i].size] = torch.from_numpy(decoded[i].reshape(-1))
                decoded[i] = None  # one copy of the photos in memory at a time, not two
        self.pixels = flat.to(device)

    def _decode(self, item: Item) -> np.ndarray | None:
        try:
            return self.dataset.resized(load_rgb(item.path))
        except Exception as exc:
            report_skip(item.path, f"cannot read image ({type(exc).__name__})")
            return None

    @property
    def nbytes(self) -> int:
        return self.pixels.numel()

    def photo(self, index: int) -> Tensor:
        """The resized photo ``index`` on the device, uint8 ``(h, w, 3)`` (a view, no copy)."""
        start, shape = self.offsets[index], self.shapes[index]
        return self.pixels[start : start + shape[0] * shape[1] * 3].view(shape)

    def batch(self, indices: list[int]) -> dict:
        """``L (N,1,S,S)`` in 0..100 and ``ab (N,2,S,S)`` in Lab units on the device, for dataset indices."""
        size, crops = self.dataset.size, []
        for index in indices:
            source = self.source[index]
            rng = sample_rng(self.dataset.seed, self.dataset.epoch, source)
            h, w = self.shapes[source][:2]
            x, y, flip = crop_window(w, h, size, self.dataset.train, rng)
            crop = self.photo(source)[y : y + size, x : x + size]
            crops.append(crop.flip(1) if flip else crop)
        rgb = torch.stack(crops).permute(0, 3, 1, 2).float().div_(255.0)
        L, ab = split_lab(rgb_to_lab(rgb))
        return {"L": L, "ab": ab, "index": torch.tensor(indices)}


class DeviceLoader:
    """Batches of :class:`DevicePhotos` in the order of a sampler (what a DataLoader is to a Dataset)."""

    def __init__(self, photos: DevicePhotos, sampler: Sampler[int], batch: int):
        self.photos, self.sampler, self.batch_size = photos, sampler, batch

    def __iter__(self) -> Iterator[dict]:
        order = list(self.sampler)
        for start in range(0, len(order) - self.batch_size + 1, self.batch_size):
            yield self.photos.batch(order[start : start + self.batch_size])

    def __len__(self) -> int:
        return len(self.sampler) // self.batch_size


# --- several data sets as one set of training photos ------------------------------------------------------------


def link_training_photos(out: Path | str, sources: list[Path | str]) -> int:
    """Make ``out`` a data set whose ``train/`` folder holds symbolic links to the training photos of every folder in
    ``sources`` (its own ``train/`` where it has one, else the photos whose name hashes to ``train``), each source in
    a folder of its own with its synset folders kept, and whose ``val/`` folder is empty: validation photos are never
    linked, so nothing a book scores can be trained on. Returns the number of photos linked. Links, not copies: the
    photos stay where they are. Appendix A.10 trains on such a folder (Imagenette and nips17-dev's training photos)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"link_training_photos: {out} is not empty")
    (out / "val").mkdir(parents=True, exist_ok=True)
    linked = 0
    for source in map(Path, sources):
        own = own_split(source)
        root = source / "train" if own else source
        for path in find_images(root):
            if not own and split_of(path) != "train":
                continue
            link = out / "train" / source.name / path.relative_to(root)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path.resolve())
            linked += 1
    return linked


if __name__ == "__main__":  # python -m colorlib.data link OUT SOURCE [SOURCE ...]
    import sys

    if len(sys.argv) < 4 or sys.argv[1] != "link":
        sys.exit("usage: python -m colorlib.data link OUT SOURCE [SOURCE ...]")
    print(f"{link_training_photos(sys.argv[2], sys.argv[3:]):,} training photos linked under {sys.argv[2]}/train")
