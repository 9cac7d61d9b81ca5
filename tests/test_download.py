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


def test_weights_are_verified_by_the_sha256_prefix_in_their_name(tmp_path):
    from colorlib.download import WEIGHTS

    assert WEIGHTS["zhang-eccv16"].sha256_prefix == "9b330a0b" and WEIGHTS["vgg16"].sha256_prefix == "397923af"
    assert WEIGHTS["zhang-eccv16"].url.startswith("https://colorizers.s3.us-east-2.amazonaws.com/")
    payload = tmp_path / "src" / "payload.bin"
    payload.parent.mkdir()
    payload.write_bytes(b"weights" * 1000)
    prefix = hashlib.sha256(payload.read_bytes()).hexdigest()[:8]
    good = payload.rename(payload.with_name(f"net-{prefix}.pth"))
    assert download(good.as_uri(), tmp_path / "hub", sha256=prefix, extract=False).read_bytes() == good.read_bytes()
    with pytest.raises(ValueError, match="does not match"):
        download(good.as_uri(), tmp_path / "other", sha256="00000000", extract=False)
    assert not (tmp_path / "other" / good.name).exists()


def test_find_weights_looks_at_the_variable_then_the_hub_cache(tmp_path, monkeypatch):
    from colorlib.download import WEIGHTS, find_weights, weights_dir

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("COLORLIB_ZHANG", raising=False)
    assert find_weights("zhang-eccv16") is None
    cached = weights_dir() / WEIGHTS["zhang-eccv16"].file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert find_weights("zhang-eccv16") == cached
    elsewhere = tmp_path / "mine.pth"
    elsewhere.write_bytes(b"y")
    monkeypatch.setenv("COLORLIB_ZHANG", str(elsewhere))
    assert find_weights("zhang-eccv16") == elsewhere


def test_colorize_with_zhang_says_how_to_get_the_weights(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "COLORLIB_ZHANG"} | {"TORCH_HOME": str(tmp_path)}
    write_photo(tmp_path / "a.jpg", 1)
    run = subprocess.run([sys.executable, "-m", "colorlib", "colorize", str(tmp_path / "a.jpg"), "--checkpoint",
                          "zhang-eccv16", "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "colorlib colorize: error: zhang-eccv16: the released weights are not on this machine; "
        "run `colorlib download zhang-eccv16` or set COLORLIB_ZHANG"]
