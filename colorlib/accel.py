"""How a training run uses its device, decided once per run (:func:`plan_run`) and logged in the run's
``config.json`` as ``plan`` (chapter 5, ``colorlib bench``).

Three choices, each a profile field that ``auto`` resolves from the device (and that ``--set`` or a test
can force on a CPU, so that every branch a GPU takes also runs in ``make test``):

``precision``      ``bf16`` autocast where the GPU supports it (no loss scaling needed: bf16 has
                   fp32's exponent range), else ``fp16`` autocast with a gradient scaler (fp16 gradients
                   underflow without one). ``auto`` is ``fp32`` on a CPU: the committed ``cpu`` models were
                   trained so, and what bf16 gains there depends on the processor's instructions
                   (``colorlib bench --profile cpu --set precision=bf16`` measures it).
``memory_format``  ``channels-last`` (NHWC, what tensor cores want for convolutions) on CUDA, else
                   ``contiguous``.
``data_mode``      ``device``: every photo decoded once and kept in the device's memory (the GPU's, or
                   RAM on a CPU; :class:`colorlib.data.DevicePhotos`), crops, flips and Lab computed there;
                   or ``stream``: decoded per step by DataLoader workers. ``auto`` keeps the data on the
                   device when the decoded photos fit in :data:`DEVICE_DATA_SHARE` of its free memory
                   (nips17-dev at the ``gpu`` profile: 0.09 GB), and streams large folders (ImageNet).
                   On a CPU it is faster too: no loader process competes with training for the cores.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

PRECISIONS = ("auto", "bf16", "fp16", "fp32")
MEMORY_FORMATS = ("auto", "channels-last", "contiguous")
DATA_MODES = ("auto", "device", "stream")
DEVICE_DATA_SHARE = 0.25  # at most this share of the device's free memory holds the decoded photos
DEVICE_DATA_MAX_BYTES = 16 * 2**30  # and never more than this

# Dense bf16 peak FLOP/s by device name (the vendors' specifications), for model FLOP utilisation.
BF16_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12, "RTX 4090": 165e12}


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast runs on ``device`` (CUDA: compute capability 8.0 and up)."""
    return device.type == "cpu" or torch.cuda.is_bf16_supported()


class Precision:
    """Autocast dtype and, for fp16, the gradient scaler (whose state belongs in the checkpoint)."""

    DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}

    def __init__(self, name: str, device: torch.device):
        self.name = name
        self.device_type = device.type
        self.scaler = torch.amp.GradScaler(device.type) if name == "fp16" else None

    def autocast(self) -> contextlib.AbstractContextManager:
        """The forward pass's context: autocast to bf16/fp16, or nothing for fp32."""
        if self.name == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.DTYPES[self.name])

    def backward_and_step(self, value: Tensor, optimizer: torch.optim.Optimizer) -> None:
        """``value.backward()`` and one optimizer step; with fp16, through the scaler (which skips the step
        and lowers its scale when a gradient overflowed)."""
        if self.scaler is None:
            value.backward()
            optimizer.step()
            return
        self.scaler.scale(value).backward()
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict:
        return {} if self.scaler is None else self.scaler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)

    def __repr__(self) -> str:
        return f"Precision({self.name!r}, {self.device_type!r})"


def resolve_precision(device: torch.device, requested: str = "auto") -> str:
    """bf16 where supported, else fp16 with a gradient scaler, else fp32 (see the module docstring)."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision: unknown value {requested!r}; allowed: {', '.join(PRECISIONS)}")
    if requested == "auto":
        if device.type != "cuda":
            return "fp32"
        return "bf16" if bf16_supported(device) else "fp16"
    if requested == "bf16" and not bf16_supported(device):
        raise ValueError("precision: bf16 is not supported by this device; allowed here: fp16, fp32")
    return requested


def resolve_memory_format(device: torch.device, requested: str = "auto") -> str:
    """``channels-last`` on CUDA (or when asked for), else ``contiguous``."""
    if requested not in MEMORY_FORMATS:
        raise ValueError(f"memory_format: unknown value {requested!r}; allowed: {', '.join(MEMORY_FORMATS)}")
    if requested == "auto":
        return "channels-last" if device.type == "cuda" else "contiguous"
    return requested


def free_memory(device: torch.device) -> int:
    """Bytes free on ``device``: the GPU's free memory, or the available RAM for a CPU (0 if unknown)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on this system: stream
        return 0


def device_data_budget(device: torch.device) -> int:
    """Bytes of decoded photos the ``auto`` data mode keeps on ``device``."""
    return int(min(DEVICE_DATA_SHARE * free_memory(device), DEVICE_DATA_MAX_BYTES))


def resolve_data_mode(device: torch.device, decoded_bytes: int, requested: str = "auto",
                      budget: int | None = None) -> str:
    """``device`` or ``stream`` for a data set whose decoded, resized photos take ``decoded_bytes``
    (``budget``: :func:`device_data_budget` unless given)."""
    if requested not in DATA_MODES:
        raise ValueError(f"data_mode: unknown value {requested!r}; allowed: {', '.join(DATA_MODES)}")
    if requested != "auto":
        return requested
    budget = device_data_budget(device) if budget is None else budget
    return "device" if 0 < decoded_bytes <= budget else "stream"


@dataclass(frozen=True)
class RunPlan:
    """What a run does on its device, resolved once (and written to ``config.json`` as ``plan``)."""

    device: str
    precision: str  # "bf16", "fp16" or "fp32"
    memory_format: str  # "channels-last" or "contiguous"
    data_mode: str  # "device" or "stream"
    decoded_bytes: int  # the photos' size once decoded and resized (what ``device`` mode keeps)

    @property
    def torch_memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.memory_format == "channels-last" else torch.contiguous_format

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """One line for the log: ``cuda: bf16 autocast, channels-last, data on the device (0.12 GB)``."""
        precision = {"bf16": "bf16 autocast", "fp16": "fp16 autocast + gradient scaler", "fp32": "fp32"}
        data = (f"data on the device ({self.decoded_bytes / 1e9:.2f} GB)" if self.data_mode == "device"
                else "data streamed by the loader")
        return f"{self.device}: {precision[self.precision]}, {self.memory_format}, {data}"


def plan_run(device: torch.device, precision: str = "auto", memory_format: str = "auto", data_mode: str = "auto",
             decoded_bytes: Callable[[int | None], int] = lambda limit: 0) -> RunPlan:
    """Resolve the three choices for ``device``. ``decoded_bytes(limit)`` sizes the data set (it may stop
    counting once past ``limit``: it reads file headers); it is not asked when the data mode is ``stream``."""
    budget = device_data_budget(device) if data_mode == "auto" else None
    size = 0 if data_mode == "stream" else decoded_bytes(budget)
    mode = resolve_data_mode(device, size, data_mode, budget)
    return RunPlan(device.type, resolve_precision(device, precision), resolve_memory_format(device, memory_format),
                   mode, int(size) if mode == "device" else 0)


def configure_backends(device: torch.device) -> None:
    """On CUDA: let cuDNN pick the fastest convolution algorithms for the run's fixed shapes."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
