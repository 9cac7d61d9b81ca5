import logging

import numpy as np
import pytest
import torch
from PIL import Image

from colorlib.data import ColorDataset, NoUsableImages, in_split, load_rgb, scan, split_of
from colorlib.paths import resolve_data

from .conftest import write_photo


def test_split_is_stable_and_disjoint():
    # fixed expectations: the split must not depend on the machine, the folder or Python's hash seed
    names = ["000b7d55b6184b08.jpg", "astronaut.png", "ünïcode.png", "coffee.png", "china.jpg"]
    assert [split_of(n) for n in names] == [split_of("/elsewhere/sub/" + n) for n in names]
    # int(sha1(name)[:8], 16) % 100 = 23, 28, 60, 88, 89; below 80 is train
    assert [split_of(n) for n in names] == ["train", "train", "train", "val", "val"]
    many = [f"img_{i}.jpg" for i in range(2000)]
    train = {n for n in many if split_of(n) == "train"}
    assert 0.76 < len(train) / 2000 < 0.84


def test_fit_and_tune_partition_train_and_never_touch_val():
    many = [f"img_{i}.jpg" for i in range(4000)]
    for n in many:
        member = [s for s in ("fit", "tune", "val") if in_split(n, s)]
        assert member == ["val"] if split_of(n) == "val" else member in (["fit"], ["tune"])
        assert in_split(n, "train") == (member != ["val"]) and in_split(n, "all")
    # fixed expectations, from int(sha1(name)[8:16], 16) % 100 < 10 inside train
    assert [n for n in many[:40] if in_split(n, "tune")] == ["img_7.jpg", "img_14.jpg", "img_23.jpg"]
    tune = sum(in_split(n, "tune") for n in many) / sum(in_split(n, "train") for n in many)
    assert 0.07 < tune < 0.13


def test_embedded_default_loads_offline(monkeypatch):
    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    s = scan(None, "all", gray_threshold=5.0)
    assert len(s.items) >= 8 and not s.skipped
    ds = ColorDataset(None, split="train", size=32)
    item = ds[0]
    assert item["L"].shape == (1, 32, 32) and item["ab"].shape == (2, 32, 32)
    assert 0 <= item["L"].min() and item["L"].max() <= 100


def test_data_order_argument_then_env(monkeypatch, photo_folder, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    write_photo(other / "x.png", 1)
    monkeypatch.setenv("COLORLIB_DATA", str(other))
    assert resolve_data(None) == other
    assert resolve_data(photo_folder) == photo_folder
    monkeypatch.setenv("COLORLIB_DATA", str(other / "missing"))
    with pytest.raises(FileNotFoundError, match="COLORLIB_DATA"):
        resolve_data(None)


def test_recursive_any_case_and_gray_skipped(photo_folder):
    s = scan(photo_folder, "all", gray_threshold=5.0)
    names = {i.name for i in s.items}
    assert len(names) == 12 and "sub/photo 1.PNG" in names
    assert [str(p.name) for p, r in s.skipped] == ["gray.png"] and "near-gray" in s.skipped[0][1]
    train = {i.name for i in scan(photo_folder, "train").items}
    val = {i.name for i in scan(photo_folder, "val").items}
    assert train.isdisjoint(val) and len(train | val) == 13


def test_bad_files_are_skipped_and_reported_once(photo_folder, caplog):
    (photo_folder / "empty.jpg").write_bytes(b"")
    (photo_folder / "notes.jpg").write_text("not an image")
    good = (photo_folder / "photo 0.jpg").read_bytes()
    (photo_folder / "truncated.jpg").write_bytes(good[: len(good) // 2])
    with caplog.at_level(logging.WARNING, logger="colorlib.data"):
        s1 = scan(photo_folder, "all")
        s2 = scan(photo_folder, "all")
    bad = {"empty.jpg", "notes.jpg", "truncated.jpg"}
    assert {p.name for p, _ in s1.skipped} == bad == {p.name for p, _ in s2.skipped}
    for name in bad:
        assert sum(name in r.getMessage() for r in caplog.records) == 1
    assert len(s1.items) == 13


def test_no_usable_image_is_one_clear_error(tmp_path):
    (tmp_path / "a.jpg").write_text("nope")
    with pytest.raises(NoUsableImages, match="no usable image"):
        scan(tmp_path)


def test_labels_csv_is_carried(photo_folder):
    (photo_folder / "labels.csv").write_text("file,imagenet_index\nsub/photo 1.PNG,817\nphoto 0.jpg,3\n")
    labels = {i.name: i.label for i in scan(photo_folder, "all").items}
    assert labels["sub/photo 1.PNG"] == 817 and labels["photo 0.jpg"] == 3 and labels["sub/photo 2.JpEg"] == -1


def test_photo_classes_come_from_labels_and_synset_folders(tmp_path):
    from colorlib.data import photo_classes

    write_photo(tmp_path / "train" / "n01440764" / "a.JPEG", 0, format="JPEG")
    write_photo(tmp_path / "val" / "n03888257" / "b.JPEG", 1, format="JPEG")
    write_photo(tmp_path / "n99999999" / "c.JPEG", 2, format="JPEG")  # a synset this project has no index for
    assert photo_classes(tmp_path) == {0, 701}
    (tmp_path / "labels.csv").write_text("file,imagenet_index\nx.png,817\ny.png,not a number\n")
    assert photo_classes(tmp_path) == {0, 701, 817}
    assert photo_classes(None) == set()


def test_imagenet_synset_filter(tmp_path):
    for syn in ("n04285008", "n04037443", "n01440764"):
        for i in range(3):
            write_photo(tmp_path / "train" / syn / f"{syn}_{i}.JPEG", i)
    s = scan(tmp_path, "all", synsets={"n04285008", "n04037443"})
    assert len(s.items) == 6 and all("n01440764" not in i.name for i in s.items)


def test_modes_are_converted(tmp_path):
    rgba = write_photo(tmp_path / "rgba.png", 1, mode="RGBA")
    assert load_rgb(rgba).shape == (40, 48, 3)
    cmyk = write_photo(tmp_path / "cmyk.jpg", 2, mode="CMYK")
    assert load_rgb(cmyk).shape == (40, 48, 3)
    arr16 = (np.linspace(0, 65535, 40 * 48).reshape(40, 48)).astype(np.uint16)
    Image.fromarray(arr16).save(tmp_path / "deep.png")  # a 16-bit grayscale PNG
    rgb16 = load_rgb(tmp_path / "deep.png")
    assert rgb16.dtype == np.uint8 and rgb16.max() == 255 and rgb16.min() == 0


def test_train_crops_are_reproducible(photo_folder):
    a = ColorDataset(photo_folder, "all", size=24, seed=3)
    b = ColorDataset(photo_folder, "all", size=24, seed=3)
    assert torch.equal(a[2]["ab"], b[2]["ab"])
    b.set_epoch(1)
    assert not torch.equal(a[2]["ab"], b[2]["ab"])


def test_real_photos_split(nips17):
    train = scan(nips17, "train", gray_threshold=5.0)
    val = scan(nips17, "val")
    assert not {i.name for i in train.items} & {i.name for i in val.items}
    assert all(i.label >= 0 for i in val.items)
    fit, tune = scan(nips17, "fit", gray_threshold=5.0), scan(nips17, "tune", gray_threshold=5.0)
    assert sorted(i.name for i in fit.items + tune.items) == sorted(i.name for i in train.items)
    assert len(tune.items) == 71  # what the cpu profile was tuned on


# --- the device data mode: decoded once, same samples as the streaming loader ---------------------------


def _stream_batch(dataset, indices):
    items = [dataset[i] for i in indices]
    return torch.stack([it["L"] for it in items]), torch.stack([it["ab"] for it in items])


def test_device_photos_give_the_streaming_samples(photo_folder):
    from colorlib.data import DevicePhotos

    dataset = ColorDataset(photo_folder, "all", size=24, seed=5)
    photos = DevicePhotos(dataset, torch.device("cpu"), workers=2)
    for epoch in (0, 3):  # crops and flips differ between epochs; both modes follow
        dataset.set_epoch(epoch)
        indices = list(range(len(dataset)))
        L, ab = _stream_batch(dataset, indices)
        batch = photos.batch(indices)
        # the same uint8 crops; Lab in one batch vs one photo at a time agrees to float rounding
        assert torch.allclose(batch["L"], L, atol=1e-4) and torch.allclose(batch["ab"], ab, atol=1e-4)
    assert photos.nbytes == dataset.decoded_bytes()  # the size the auto mode decides by, from headers only


def test_device_photos_replace_an_unreadable_photo_as_the_stream_does(photo_folder):
    from colorlib.data import DevicePhotos

    dataset = ColorDataset(photo_folder, "all", size=24, seed=1)
    broken = 4
    dataset.items[broken].path.write_bytes(b"changed since the scan")  # unreadable now
    photos = DevicePhotos(dataset, torch.device("cpu"))
    L, ab = _stream_batch(dataset, [broken, broken + 1])
    batch = photos.batch([broken, broken + 1])
    assert torch.allclose(batch["ab"], ab, atol=1e-4)
    assert torch.equal(batch["ab"][0], batch["ab"][1])  # both modes use the next photo, with its crop


def test_both_loaders_give_the_same_batches_in_the_trainer_order(photo_folder):
    from colorlib.profiles import get_profile, with_overrides
    from colorlib.train import make_loader

    profile = with_overrides(get_profile("smoke"), {"crop": 32})
    dataset = ColorDataset(photo_folder, "train", size=profile.crop, seed=2)
    cpu = torch.device("cpu")
    streamed, _ = make_loader(dataset, profile, seed=2, device=cpu, data_mode="stream")
    on_device, _ = make_loader(dataset, profile, seed=2, device=cpu, data_mode="device")
    pairs = list(zip(streamed, on_device, strict=True))
    assert len(pairs) >= 2
    for a, b in pairs:
        assert torch.equal(a["index"], b["index"]) and torch.allclose(a["ab"], b["ab"], atol=1e-4)


def test_a_folder_with_its_own_train_and_val_keeps_that_split_and_its_synset_labels(tmp_path):
    """Imagenette's layout: train/<synset>/*.JPEG and val/<synset>/*.JPEG. Its own split wins over the hash of
    the names; fit and tune cut its train/ folder; the synset folders give the ImageNet index; a file beside the
    two folders is not part of the data set."""
    from colorlib.data import IMAGENET_INDEX, own_split

    for i in range(30):
        write_photo(tmp_path / "train" / "n01440764" / f"n01440764_{i}.JPEG", i, format="JPEG")
        write_photo(tmp_path / "val" / "n03888257" / f"n03888257_{i}.JPEG", 100 + i, format="JPEG")
    write_photo(tmp_path / "extra.png", 7)
    assert own_split(tmp_path) and not own_split(tmp_path / "train")
    train, val = scan(tmp_path, "train"), scan(tmp_path, "val")
    assert {i.name.split("/")[0] for i in train.items} == {"train"} and len(train.items) == 30
    assert {i.name.split("/")[0] for i in val.items} == {"val"} and len(val.items) == 30
    assert {i.label for i in train.items} == {IMAGENET_INDEX["n01440764"]} == {0}
    assert {i.label for i in val.items} == {701}
    fit = scan(tmp_path, "fit")
    tuned = [i for i in train.items if in_split(i.path, "tune", "train")]
    assert len(fit.items) + len(tuned) == 30 and not {i.name for i in fit.items} & {i.name for i in tuned}
    assert len(scan(tmp_path, "all").items) == 60  # extra.png is not part of it


def test_a_limit_keeps_photos_from_every_folder_the_same_everywhere(tmp_path):
    for synset in ("n01440764", "n02102040", "n02979186"):
        for i in range(20):
            write_photo(tmp_path / "train" / synset / f"{synset}_{i}.JPEG", i, format="JPEG")
    (tmp_path / "val").mkdir()
    kept = scan(tmp_path, "train", limit=12).items
    assert len(kept) == 12 and len({i.name.split("/")[1] for i in kept}) == 3
    assert [i.name for i in kept] == [i.name for i in scan(tmp_path, "train", limit=12).items]
    assert [i.name for i in kept] == sorted(i.name for i in kept)  # in the folder's order
    assert len(scan(tmp_path, "train", limit=1000).items) == 60


def test_training_photos_come_from_the_argument_then_env_then_the_profile_then_the_photos_shown(
        monkeypatch, photo_folder, tmp_path):
    from colorlib import paths

    monkeypatch.delenv(paths.TRAIN_DATA_ENV, raising=False)
    monkeypatch.setattr(paths, "SHARED_DATASETS", tmp_path / "datasets")
    assert paths.train_data_for("imagenette-160", None, photo_folder) == photo_folder  # no data set: the photos shown
    (tmp_path / "datasets" / "imagenette-160").mkdir(parents=True)
    assert paths.train_data_for("imagenette-160", None, photo_folder) == tmp_path / "datasets" / "imagenette-160"
    monkeypatch.setenv(paths.TRAIN_DATA_ENV, str(photo_folder))
    assert paths.train_data_for("imagenette-160", None, None) == photo_folder
    assert paths.train_data_for("imagenette-160", str(tmp_path), None) == tmp_path
    with pytest.raises(FileNotFoundError, match="--train-data"):
        paths.train_data_for("imagenette-160", str(tmp_path / "missing"), None)
    assert paths.runs_for("cpu", tmp_path / "datasets" / "imagenette-160").name == "cpu-imagenette-160"


def test_linked_training_photos_hold_every_training_photo_and_no_validation_photo(tmp_path):
    from colorlib.data import find_images, link_training_photos

    own = tmp_path / "own"  # a data set with its own split (as Imagenette)
    for part, n in (("train", 3), ("val", 2)):
        for i in range(n):
            write_photo(own / part / "n01440764" / f"{part}{i}.png", seed=i)
    flat = tmp_path / "flat"  # a folder split by the hash of each name (as nips17-dev)
    for i in range(20):
        write_photo(flat / "images" / f"p{i}.png", seed=i)
    out = tmp_path / "both"
    linked = link_training_photos(out, [own, flat])
    photos = find_images(out)
    flat_train = [p for p in find_images(flat) if split_of(p) == "train"]
    assert linked == len(photos) == 3 + len(flat_train) and 0 < len(flat_train) < 20
    assert all(p.is_symlink() for p in photos) and not find_images(out / "val")
    assert {p.resolve() for p in photos} == {*(p.resolve() for p in find_images(own / "train")), *flat_train}
    assert len(scan(out, "train", gray_threshold=None).items) == linked
    with pytest.raises(NoUsableImages):  # nothing to validate on: the linked folder is for training only
        scan(out, "val", gray_threshold=None)
    with pytest.raises(FileExistsError):
        link_training_photos(out, [own])
