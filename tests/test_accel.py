"""The CUDA path, exercised on the CPU: precision choice, memory layout, data kept on the device, and the
``gpu`` profile's own settings at a tiny width and a few steps (a GPU has never run this code here)."""

import json

import pytest
import torch

import colorlib.accel as A
from colorlib.runs import load_checkpoint, read_log
from colorlib.train import TrainConfig, train

CPU, CUDA = torch.device("cpu"), torch.device("cuda")  # a cuda device object needs no GPU to exist
TINY_GPU = {"width": 0.0625, "crop": 64, "eval_size": 64, "batch": 4, "workers": 2}  # the gpu profile, shrunk


def test_precision_is_bf16_where_supported_else_fp16_else_fp32(monkeypatch):
    assert A.resolve_precision(CPU) == "fp32"  # as the committed cpu models were trained
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert A.resolve_precision(CUDA) == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert A.resolve_precision(CUDA) == "fp16"  # a pre-Ampere GPU: fp16 with a gradient scaler
    with pytest.raises(ValueError, match="bf16 is not supported"):
        A.resolve_precision(CUDA, "bf16")
    for forced in ("bf16", "fp16", "fp32"):
        assert A.resolve_precision(CPU, forced) == forced
    with pytest.raises(ValueError, match="allowed: auto, bf16, fp16, fp32"):
        A.resolve_precision(CPU, "fp8")


def test_only_fp16_has_a_gradient_scaler():
    assert A.Precision("fp16", CPU).scaler is not None
    assert A.Precision("bf16", CPU).scaler is None and A.Precision("fp32", CPU).scaler is None
    with A.Precision("bf16", CPU).autocast():
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.bfloat16
    with A.Precision("fp32", CPU).autocast():
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.float32


def test_memory_format_and_data_mode_follow_the_device(monkeypatch):
    assert A.resolve_memory_format(CPU) == "contiguous" and A.resolve_memory_format(CUDA) == "channels-last"
    assert A.resolve_memory_format(CPU, "channels-last") == "channels-last"
    monkeypatch.setattr(A, "device_data_budget", lambda device: 10**9)
    assert A.resolve_data_mode(CUDA, 10**8) == "device" and A.resolve_data_mode(CPU, 10**8) == "device"
    assert A.resolve_data_mode(CUDA, 10**10) == "stream"  # ImageNet-sized: stream
    assert A.resolve_data_mode(CUDA, 10**10, "device") == "device"
    with pytest.raises(ValueError, match="allowed: auto, device, stream"):
        A.resolve_data_mode(CPU, 1, "disk")


def test_plan_sizes_the_data_only_when_it_must(monkeypatch):
    asked = []

    def size(limit) -> int:
        asked.append(limit)
        return 123

    plan = A.plan_run(CPU, data_mode="stream", decoded_bytes=size)
    assert not asked and plan.describe() == "cpu: fp32, contiguous, data streamed by the loader"
    monkeypatch.setattr(A, "device_data_budget", lambda device: 1000)
    plan = A.plan_run(CPU, decoded_bytes=size)
    assert asked == [1000] and plan.data_mode == "device"  # auto: sized against the budget
    plan = A.plan_run(CPU, "bf16", "channels-last", "device", decoded_bytes=size)
    assert asked[-1] is None and plan.torch_memory_format == torch.channels_last
    assert plan.describe() == "cpu: bf16 autocast, channels-last, data on the device (0.00 GB)"


def test_a_large_folder_is_known_to_be_too_large_without_reading_it(photo_folder):
    from colorlib.data import ColorDataset

    dataset = ColorDataset(photo_folder, "all", size=24)
    exact = dataset.decoded_bytes()
    assert dataset.decoded_bytes(limit=10) > 10 and dataset.decoded_bytes(limit=exact) == exact


@pytest.mark.parametrize("precision", ["bf16", "fp16", "fp32"])
def test_the_gpu_profile_code_path_trains_on_cpu(precision, tmp_path, monkeypatch):
    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    from colorlib.model import build_network

    overrides = {**TINY_GPU, "precision": precision, "memory_format": "channels-last", "data_mode": "device"}
    folder = train(TrainConfig(loss="full-soft", profile="gpu", out=str(tmp_path), steps=4, overrides=overrides))
    config = json.loads((folder / "config.json").read_text())
    assert config["profile"] == "gpu" and config["profile_settings"]["lr"] == 3e-4  # the gpu profile's own
    assert config["plan"] == {"device": "cpu", "precision": precision, "memory_format": "channels-last",
                              "data_mode": "device", "decoded_bytes": config["plan"]["decoded_bytes"]}
    assert config["plan"]["decoded_bytes"] > 0
    losses = [row["loss"] for row in read_log(folder)]
    assert len(losses) == 4 and all(map(lambda v: v == v and abs(v) < 100, losses))
    ckpt = load_checkpoint(folder / "checkpoint.pt")
    assert ("scale" in ckpt["scaler"]) == (precision == "fp16")  # the scaler's state is kept for --resume
    torch.manual_seed(0)  # the trainer's seed: the network it started from
    start = build_network(config["profile_settings"]).state_dict()
    moved = [k for k, v in ckpt["model"].items() if v.is_floating_point() and not torch.equal(v, start[k])]
    assert "model1.0.weight" in moved  # the optimizer took steps (through the scaler, for fp16)


def test_resume_is_exact_with_data_on_the_device_and_a_gradient_scaler(tmp_path, monkeypatch):
    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    overrides = {**TINY_GPU, "precision": "fp16", "data_mode": "device"}

    def config(out, resume=False):
        return TrainConfig(loss="class", profile="gpu", out=str(out), steps=6, seed=4, overrides=overrides,
                           resume=resume)

    whole = train(config(tmp_path / "whole"))

    def interrupt(step, value):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path / "cut"), on_step=interrupt)
    assert load_checkpoint(tmp_path / "cut" / "class" / "checkpoint.pt")["step"] == 3
    resumed = train(config(tmp_path / "cut", resume=True))
    a, b = load_checkpoint(whole / "checkpoint.pt"), load_checkpoint(resumed / "checkpoint.pt")
    assert a["step"] == b["step"] == 6 and a["scaler"] == b["scaler"]
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
