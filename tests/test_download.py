import hashlib
import io
import tarfile

import pytest

from colorlib.download import download

from .conftest import write_photo


def _archive(tmp_path):
    src = tmp_path / "src"
    write_photo(src / "photos" / "a.jpg", 1)
    write_photo(src / "photos" / "b.png", 2)
    archive = tmp_path / "tiny.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src / "photos", arcname="photos")
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def test_download_checks_and_extracts(tmp_path):
    archive, digest = _archive(tmp_path)
    out = download(archive.as_uri(), tmp_path / "dl", sha256=digest)
    assert sorted(p.name for p in out.rglob("*.*")) == ["a.jpg", "b.png"]


def test_checksum_mismatch_is_refused(tmp_path):
    archive, _ = _archive(tmp_path)
    with pytest.raises(ValueError, match="does not match"):
        download(archive.as_uri(), tmp_path / "dl", sha256="0" * 64)
    assert not (tmp_path / "dl" / "tiny.tar.gz").exists()


def test_archive_escaping_the_folder_is_refused(tmp_path):
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tf:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(Exception):  # noqa: B017 - tarfile's filter raises its own error types
        download(evil.as_uri(), tmp_path / "dl")
    assert not (tmp_path / "outside.txt").exists()
