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


def weights_fingerprint(path: str | Path | None) -> str:
    """Path, size and modification time of a large weights file (hundreds of MB: too slow to hash each time),
    so that weights replaced at the same path are not taken for the old ones; None: no such file."""
    if path is None:
        return "absent"
    stat = os.stat(path)
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def cached(kind: str, key: list, compute: Callable[[], Value]) -> Value:
    """``compute()``, or the value stored for (library code, ``kind``, ``key``) by an earlier call."""
    if os.environ.get(CACHE_ENV) == "0":
        return compute()
    digest = hashlib.sha256(repr([code_digest(), kind, *key]).encode()).hexdigest()[:32]
    path = CACHE / kind / f"{digest}.pkl"
    if path.is_file():
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError):
            path.unlink(missing_ok=True)  # a torn file from a killed run: compute again
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    with open(tmp, "wb") as fh:
        pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return value
