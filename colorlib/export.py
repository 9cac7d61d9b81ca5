"""``colorlib export-onnx``: a trained colorizer as an ONNX graph, for the book's in-browser page.

The graph is the network only: ``L (1,1,H,W)`` in 0..100 (H and W multiples of the network's
``SIZE_MULTIPLE``) to the 313 class logits ``(1,313,H/4,W/4)``. Everything after the logits (the
annealed mean with its temperature T, upsampling ab to the photo's resolution, Lab -> sRGB) is done by
the page itself, so that T can be a slider; ``book/_static/colorize.js`` does it with the same formulas as
:mod:`colorlib.color` and :func:`colorlib.encode.annealed_mean`.

Weights can be stored in **fp16** and cast to fp32 inside the graph (the runtime folds the casts once, at
load time): the file is half the size and every operation still computes in fp32. Whether the page may use
them is measured, not assumed: :func:`choose_weights` keeps fp16 only if no pixel's colour moves by
:data:`AB_TOLERANCE` or more against PyTorch (:func:`parity`), else the page gets the fp32 graph.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from .runs import load_model

OPSET = 18
INPUT, OUTPUT = "L", "logits"
AB_TOLERANCE = 1.0  # Lab units: the largest ab change against PyTorch, after the annealed mean, that the page accepts
LOGIT_TOLERANCE = 1e-3  # fp32 weights: the graph computes what PyTorch computes, to rounding


class Logits(nn.Module):
    """The exported function: a trained network's class logits for ``L (N,1,H,W)`` in 0..100."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, L: Tensor) -> Tensor:
        return self.model(L).float()


def _weights_to_fp16(graph) -> int:
    """Store every fp32 initializer as fp16 followed by a Cast back to fp32 (in place); returns the number of
    weights converted. Tiny tensors (scalars, shapes) stay fp32."""
    import onnx
    from onnx import helper, numpy_helper

    casts, kept = [], []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or np.prod(init.dims) < 16:
            kept.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "_fp16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT,
                                      name=init.name + "_to_fp32"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return len(casts)


def export_onnx(checkpoint: str | Path, out: str | Path, fp16: bool = True, example_size: int = 128) -> dict:
    """Export the network of ``checkpoint`` (a ``model.pt``) to ``out`` (.onnx); returns what the page needs
    to know about it (also written beside it as ``out`` with ``.json``): the bins, T, the size it was
    trained to predict at, the size multiple, and the file size."""
    import onnx

    from .encode import DEFAULT_T
    from .evaluate import decoder_for
    from .runs import run_eval_size

    model, info = load_model(checkpoint)
    loss = info["config"]["loss"]
    if decoder_for(loss) != "annealed-mean":
        raise ValueError(f"export-onnx: {checkpoint} was trained with {loss!r}, which paints with its regression "
                         "head; the page decodes class logits (export a classification loss)")
    multiple = model.SIZE_MULTIPLE
    example = torch.full((1, 1, example_size, example_size), 50.0)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on dynamic shapes and deprecated options
        torch.onnx.export(Logits(model).eval(), (example,), str(out), input_names=[INPUT], output_names=[OUTPUT],
                          opset_version=OPSET, dynamo=False,
                          dynamic_axes={INPUT: {2: "height", 3: "width"}, OUTPUT: {2: "height4", 3: "width4"}})
    graph = onnx.load(str(out))
    converted = _weights_to_fp16(graph.graph) if fp16 else 0
    onnx.checker.check_model(graph)
    onnx.save(graph, str(out))
    meta = {"file": out.name, "bytes": out.stat().st_size, "weights": "fp16" if fp16 else "fp32",
            "weights_converted": converted, "opset": OPSET, "input": INPUT, "output": OUTPUT,
            "size_multiple": multiple, "size": run_eval_size(info), "T": DEFAULT_T,
            "bins": info["bins"].float().tolist(), "loss": loss,
            "profile": info["config"]["profile"], "encoder": info["config"]["profile_settings"].get("encoder")}
    out.with_suffix(".json").write_text(json.dumps(meta))
    return meta


def choose_weights(fp16_parity: dict) -> str:
    """The page's weights: ``"fp16"`` when their :func:`parity` keeps every pixel's ab within
    :data:`AB_TOLERANCE` of PyTorch's, else ``"fp32"`` (twice the file, PyTorch's colours to rounding)."""
    return "fp16" if fp16_parity["max_ab_diff"] < AB_TOLERANCE else "fp32"


def onnx_logits(path: str | Path, L: Tensor) -> Tensor:
    """The exported graph's logits for ``L (N,1,H,W)`` with ONNX Runtime on the CPU (one photo at a time)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.cat([torch.from_numpy(session.run([OUTPUT], {INPUT: x[None].numpy().astype(np.float32)})[0])
                      for x in L])


@torch.no_grad()
def parity(checkpoint: str | Path, onnx_path: str | Path, L: Tensor) -> dict:
    """How far the exported graph is from PyTorch on photos ``L (N,1,H,W)``: the largest logit difference,
    and the mean and largest ab difference (Lab units) after the annealed mean (T = 0.38) at 1/4 resolution."""
    from .encode import annealed_mean

    model, _ = load_model(checkpoint)
    ours = model(L).float()
    theirs = onnx_logits(onnx_path, L)
    bins = model.bins
    ab_ours, ab_theirs = annealed_mean(ours, bins), annealed_mean(theirs, bins)
    gap = torch.linalg.vector_norm(ab_ours - ab_theirs, dim=1)
    return {"photos": len(L), "max_logit_diff": float((ours - theirs).abs().max()),
            "mean_ab_diff": float(gap.mean()), "max_ab_diff": float(gap.max())}


def example_photos(paths: list[Path], out: Path, side: int = 512) -> list[dict]:
    """Copies of a few photos for the page's examples (JPEG, longer side at most ``side``): their file names."""
    from PIL import Image

    from .data import load_rgb

    out.mkdir(parents=True, exist_ok=True)
    examples = []
    for i, path in enumerate(paths):
        image = Image.fromarray(load_rgb(path))
        image.thumbnail((side, side))
        name = f"example-{i}.jpg"
        image.save(out / name, quality=92)
        examples.append({"file": name, "title": Path(path).stem})
    return examples


def example_buttons(examples: list[dict], base: str, css_class: str) -> str:
    """One button per example photo (``file`` under the site's ``generated/`` folder, ``title``), of ``css_class``."""
    import html

    return "".join(
        f'<button type="button" class="{css_class}" data-src="{base}/generated/{e["file"]}" '
        f'data-name="{html.escape(e["title"])}" style="border:0;padding:0;background:none;cursor:pointer" '
        f'title="{html.escape(e["title"])}"><img src="{base}/generated/{e["file"]}" alt="{html.escape(e["title"])}" '
        f'style="height:90px;width:auto;border-radius:4px"></button> ' for e in examples)


def page_html(meta: dict, examples: list[dict], base: str) -> str:
    """The colorizer's page: file picker and drop zone, example buttons, the T slider, the gray input and the
    result side by side, a download button and a status line. ``base`` is the site's ``_static`` folder relative
    to the page; ``colorize.js`` does the work, ONNX Runtime Web runs the graph (both served from the site)."""

    buttons = example_buttons(examples, base, "cb-example")
    return f"""
<div class="cb-colorizer" data-base="{base}" data-model="generated/{Path(meta['file']).stem}" data-state="loading">
  <div class="cb-drop" style="border:2px dashed #999;border-radius:8px;padding:1em;text-align:center">
    <label><strong>Choose a photo</strong> (JPEG, PNG or WebP) <input type="file" class="cb-file"
      accept="image/jpeg,image/png,image/webp"></label><br>or drop one here, or try an example:<br>{buttons}
  </div>
  <p><label>temperature T <input type="range" class="cb-temperature" min="0.02" max="1" step="0.02"
    value="{meta['T']}"></label> <output class="cb-temperature-value">{meta['T']:.2f}</output>
    <button type="button" class="cb-download" disabled>Download the colorized photo (PNG)</button></p>
  <p class="cb-message" data-kind="info" role="status">Loading…</p>
  <div style="display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:8px">
    <figure style="margin:0"><figcaption>the gray input (L only)</figcaption>
      <canvas class="cb-gray" style="width:100%;height:auto"></canvas></figure>
    <figure style="margin:0"><figcaption>colorized in this browser</figcaption>
      <canvas class="cb-result" style="width:100%;height:auto"></canvas></figure>
  </div>
  <p><small>Nothing leaves your machine: the photo is read, colorized and shown by this page alone, with ONNX
  Runtime Web running the network in WebAssembly; no server sees it.</small></p>
</div>
<script src="{base}/vendor/ort/ort.wasm.min.js"></script>
<script src="{base}/colorize.js"></script>
"""


# --- chapter 10: the hint colorizer, as two graphs ---------------------------------------------------------------
# The page runs the part that does not depend on the hints once per photo (``hint-parts``: L -> the base model's
# logits, the embedding and the keep logit) and only the spread on every click (``hint-spread``); everything after the
# log-distribution (annealed mean, upsampling, painting each hint's patch, Lab -> sRGB) is colorize.js's and hints.js's.
HINT_PARTS, HINT_SPREAD = "hint-parts", "hint-spread"
PARTS_OUTPUTS = ("logits", "embedding", "keep")
SPREAD_INPUTS = ("logits", "embedding", "keep", "hint_index", "hint_ab", "hint_valid")
SPREAD_OUTPUT = "hinted_logits"  # the hinted log-distribution (a name of its own: an input is called logits)


class HintParts(nn.Module):
    """``L (1,1,H,W)`` -> the base's logits ``(1,Q,h,w)``, the unit embedding ``(1,C,h,w)``, the keep logit ``(1,1,h,w)``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, L: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self.model.parts(L)


class HintSpreadGraph(nn.Module):
    """The spread: the parts and ``K`` hints (grid cell, ab, valid as 1.0/0.0) -> the hinted log-distribution."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, logits: Tensor, e: Tensor, keep: Tensor, index: Tensor, ab: Tensor, valid: Tensor) -> Tensor:
        return self.model.spread(logits, e, keep, index, ab, valid > 0.5, self.model.bins)


def export_hints_onnx(checkpoint: str | Path, folder: str | Path, fp16: bool = True, example_size: int = 128) -> dict:
    """Export a hint colorizer (``arch = "hints"``) to ``folder``/hint-parts.onnx and hint-spread.onnx, with what the
    page needs to know in ``folder``/hints.json (bins, T, sizes, the suggestion and hint constants)."""
    import onnx

    from .encode import DEFAULT_T
    from .hints import DEFAULT_HINT_SIDE, SWATCH_RADIUS, SWATCHES
    from .runs import run_eval_size

    model, info = load_model(checkpoint)
    if info["config"]["profile_settings"].get("arch") != "hints":
        raise ValueError(f"export: {checkpoint} is not a hint colorizer (train one with a *-hints profile)")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    example = torch.full((1, 1, example_size, example_size), 50.0)
    logits, e, keep = model.parts(example)
    k = 3
    hints = (torch.zeros(1, k, dtype=torch.long), torch.zeros(1, k, 2), torch.ones(1, k))
    graphs = {HINT_PARTS: (HintParts(model), (example,), [INPUT], list(PARTS_OUTPUTS),
                           {INPUT: {2: "height", 3: "width"}, **{n: {2: "height4", 3: "width4"} for n in PARTS_OUTPUTS}}),
              HINT_SPREAD: (HintSpreadGraph(model), (logits, e, keep, *hints), list(SPREAD_INPUTS), [SPREAD_OUTPUT],
                            {"logits": {2: "height4", 3: "width4"}, "embedding": {2: "height4", 3: "width4"},
                             "keep": {2: "height4", 3: "width4"}, "hint_index": {1: "hints"}, "hint_ab": {1: "hints"},
                             "hint_valid": {1: "hints"}, SPREAD_OUTPUT: {2: "height4", 3: "width4"}})}
    files = {}
    for name, (module, args, inputs, outputs, axes) in graphs.items():
        path = folder / f"{name}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module.eval(), args, str(path), input_names=inputs, output_names=outputs,
                              opset_version=OPSET, dynamo=False, dynamic_axes=axes)
        graph = onnx.load(str(path))
        if fp16:
            _weights_to_fp16(graph.graph)
        onnx.checker.check_model(graph)
        onnx.save(graph, str(path))
        files[name] = {"file": path.name, "bytes": path.stat().st_size}
    meta = {"graphs": files, "weights": "fp16" if fp16 else "fp32", "size_multiple": model.SIZE_MULTIPLE,
            "size": run_eval_size(info), "T": DEFAULT_T, "bins": info["bins"].float().tolist(),
            "parts_outputs": list(PARTS_OUTPUTS), "spread_inputs": list(SPREAD_INPUTS), "output": SPREAD_OUTPUT,
            "swatch_radius": SWATCH_RADIUS, "swatches": SWATCHES, "hint_side": DEFAULT_HINT_SIDE,
            "profile": info["config"]["profile"], "bytes": sum(f["bytes"] for f in files.values())}
    (folder / "hints.json").write_text(json.dumps(meta))
    return meta


@torch.no_grad()
def hint_parity(checkpoint: str | Path, folder: str | Path, L: Tensor, hints: list) -> dict:
    """How far the two exported graphs are from PyTorch for photos ``L (N,1,H,W)`` with ``hints`` (one list of
    :class:`colorlib.hints.Hint` per photo, in its pixels): the mean and largest ab difference (Lab units) after the
    annealed mean at 1/4 resolution."""
    import onnxruntime as ort

    from .encode import annealed_mean
    from .hints import hint_cells

    model, _ = load_model(checkpoint)
    parts = ort.InferenceSession(str(Path(folder) / f"{HINT_PARTS}.onnx"), providers=["CPUExecutionProvider"])
    spread = ort.InferenceSession(str(Path(folder) / f"{HINT_SPREAD}.onnx"), providers=["CPUExecutionProvider"])
    gaps = []
    for x, photo in zip(L, hints, strict=True):
        logits, e, keep = parts.run(list(PARTS_OUTPUTS), {INPUT: x[None].numpy().astype(np.float32)})
        cells = hint_cells([photo], *L.shape[-2:], *logits.shape[-2:])
        theirs = spread.run([SPREAD_OUTPUT], {"logits": logits, "embedding": e, "keep": keep,
                                       "hint_index": cells.index.numpy(), "hint_ab": cells.ab.numpy(),
                                       "hint_valid": cells.valid.float().numpy()})[0]
        ours = model(x[None], cells)
        gaps.append(torch.linalg.vector_norm(annealed_mean(ours, model.bins) -
                                             annealed_mean(torch.from_numpy(theirs), model.bins), dim=1).flatten())
    gap = torch.cat(gaps)
    return {"photos": len(L), "mean_ab_diff": float(gap.mean()), "max_ab_diff": float(gap.max())}


def hints_page_html(meta: dict, examples: list[dict], base: str) -> str:
    """Chapter 10's page: file picker, example buttons, the gray input and the hinted result side by side (click the
    result to pick a pixel; its suggested colours appear as buttons, or any colour), the list of hints with remove
    buttons, the hint size, a download button and a status line. ``hints.js`` does the work (with colorize.js's
    colour math), ONNX Runtime Web runs the two graphs of :func:`export_hints_onnx`."""

    buttons = example_buttons(examples, base, "hb-example")
    return f"""
<div class="hb-colorizer" data-base="{base}" data-model="generated/hints/hints.json" data-state="loading">
  <div style="border:2px dashed #999;border-radius:8px;padding:1em;text-align:center">
    <label><strong>Choose a photo</strong> (JPEG, PNG or WebP) <input type="file" class="hb-file"
      accept="image/jpeg,image/png,image/webp"></label><br>or try an example:<br>{buttons}
  </div>
  <p class="hb-message" data-kind="info" role="status">Loading…</p>
  <p class="hb-swatches" style="min-height:2.2em"></p>
  <div style="display:grid;grid-template-columns:repeat(auto-fit,minmax(240px,1fr));gap:8px">
    <figure style="margin:0"><figcaption>the gray input (L only)</figcaption>
      <canvas class="hb-gray" style="width:100%;height:auto"></canvas></figure>
    <figure style="margin:0"><figcaption>colorized with your hints: <strong>click it</strong> to give a point a colour</figcaption>
      <div style="position:relative"><canvas class="hb-result" style="width:100%;height:auto;display:block;cursor:crosshair"></canvas>
      <canvas class="hb-marks" style="position:absolute;left:0;top:0;width:100%;height:100%;cursor:crosshair"></canvas></div></figure>
  </div>
  <p><label>hint size (pixels of the photo) <input type="number" class="hb-side" min="1" max="64" value="{meta['hint_side']}"
    style="width:4em"></label> <button type="button" class="hb-clear">remove all hints</button>
    <button type="button" class="hb-download" disabled>Download the colorized photo (PNG)</button></p>
  <ol class="hb-hint-list"></ol>
  <p><small>Nothing leaves your machine: the photo is read, colorized and shown by this page alone (ONNX Runtime Web in
  WebAssembly). The network runs once per photo; each hint runs only the spread.</small></p>
</div>
<script src="{base}/vendor/ort/ort.wasm.min.js"></script>
<script src="{base}/colorize.js"></script>
<script src="{base}/hints.js"></script>
"""
