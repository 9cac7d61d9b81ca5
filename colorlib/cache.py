"""A disk cache for slow, deterministic results that several chapters need (the evaluation of a runs folder:
chapters 0, 6 and 8 show the same table).

An entry is keyed by everything its value depends on: the library's own source code (any change to
``colorlib`` starts afresh), the bytes of the model files, the photos' names, sizes and modification times,
and the call's arguments. It lives in ``build/cache/`` (ignored by git, removed by ``make clean``); the files
are pickles this library wrote itself, never files from elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from .paths import REPO

CACHE = REPO / "build" / "cache"
CACHE_ENV = "COLORLIB_CACHE"  # "0" turns the cache off
Value = TypeVar("Value")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 of every module of the library: a cached result is only reused by the code that made it."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (a model file: a few megabytes)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def folder_fingerprint(folder: str | Path | None) -> str:
    """The names, sizes and modification times of every file under ``folder`` (None: the embedded photos)."""
    if folder is None:
        return "embedded"
    entries = []
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            stat = os.stat(os.path.join(root, name))
            entries.append(f"{os.path.relpath(os.path.join(root, name), folder)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()


def array_digest(*arrays) -> str:
    """SHA-256 of the bytes, dtypes and shapes of tensors or arrays (predicted ab of a few dozen photos:
    milliseconds), so that a value computed from them is reused only for the very same numbers."""
    import numpy as np
    import torch

    digest = hashlib.sha256()
    for array in arrays:
        array = array.detach().cpu().contiguous().numpy() if isinstance(array, torch.Tensor) else np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode() + b"\0" + array.tobytes())
    return digest.hexdigest()


def weights_fingerprint(path: str | Path | None) -> str:
    """Path, size and modification time of a large weights file (hundreds of MB: too slow to hash each time),
    so that weights replaced at the same path are not taken for the old ones; None: no such file."""
    if path is None:
        return "absent"
    stat = os.stat(path)
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def _entry_path(kind: str, key: list) -> Path:
    digest = hashlib.sha256(repr([code_digest(), kind, *key]).encode()).hexdigest()[:32]
    return CACHE / kind / f"{digest}.pkl"


def _read(path: Path):
    """The pickle at ``path``, or None when there is none (a torn file from a killed run is removed)."""
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError):
        path.unlink(missing_ok=True)
        return None


def _write(path: Path, value) -> None:
    """Store ``value`` at ``path`` atomically (a concurrent reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with open(tmp, "wb") as fh:
        pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def read_table(kind: str, key: list) -> dict:
    """A dictionary stored by :func:`write_table` for (library code, ``kind``, ``key``); {} if none. For
    per-file values whose own keys say when they are stale (a photo's path, size and modification time)."""
    if os.environ.get(CACHE_ENV) == "0":
        return {}
    table = _read(_entry_path(kind, key))
    return table if isinstance(table, dict) else {}


def write_table(kind: str, key: list, table: dict) -> None:
    """Store ``table`` for :func:`read_table`."""
    if os.environ.get(CACHE_ENV) != "0":
        _write(_entry_path(kind, key), table)


def cached(kind: str, key: list, compute: Callable[[], Value]) -> Value:
    """``compute()``, or the value stored for (library code, ``kind``, ``key``) by an earlier call."""
    if os.environ.get(CACHE_ENV) == "0":
        return compute()
    path = _entry_path(kind, key)
    value = _read(path)
    if value is None:
        value = compute()
        _write(path, value)
    return value
