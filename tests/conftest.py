from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib.paths import SHARED_DATA


@pytest.fixture(scope="session")
def nips17() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/datasets/nips17-dev is not present")
    return SHARED_DATA


def write_photo(path: Path, seed: int, size=(48, 40), mode="RGB", **save) -> Path:
    """A small colourful test image: smooth colour gradients plus noise."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / w, y / h, 1 - x / w], axis=-1) * 200 + rng.uniform(0, 55, (h, w, 3))
    img = Image.fromarray(base.astype(np.uint8), "RGB")
    if mode != "RGB":
        img = img.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **save)
    return path


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """A folder of 12 small colour photos (nested, mixed-case extensions) plus a gray one."""
    for i in range(12):
        ext = [".jpg", ".PNG", ".JpEg", ".bmp"][i % 4]
        write_photo(tmp_path / ("sub" if i % 3 else "") / f"photo {i}{ext}", i)
    Image.fromarray(np.full((40, 48, 3), 128, np.uint8)).save(tmp_path / "gray.png")
    return tmp_path
