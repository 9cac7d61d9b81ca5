// "Give it a hint" (chapter 10): the hint colorizer in the reader's browser, nothing uploaded.
//
// Two exported graphs (colorlib.export.export_hints_onnx): `hint-parts` maps L (1,1,h,w) to the base model's logits,
// the embedding and the keep logit, once per photo; `hint-spread` maps those and the hints (grid cell, ab, valid) to
// the hinted log-distribution, on every change of the hints. Everything else is done here with the library's formulas
// (colorlib.hints.photo_hints_ab), reusing colorize.js's photo reading, colour math, resampling and annealed mean:
//   1. the hint's grid cell: the cell holding its centre pixel (colorlib.hints.cell_of);
//   2. the annealed mean of the hinted distribution, upsampled to the prediction size and then to the photo's;
//   3. each hint's own SIDE×SIDE patch painted with its colour (colorlib.hints.paint_patches, patch_bounds);
//   4. suggested colours at a clicked pixel from the model's own distribution there (colorlib.hints.swatches).
/* global ort */
(function () {
  "use strict";
  const C = window.colorbookColorizer;

  /** The row-major grid cell holding pixel (y, x) of an H×W photo, on a gh×gw grid (colorlib.hints.cell_of). */
  function cellOf(y, x, H, W, gh, gw) {
    const row = Math.min(gh - 1, Math.floor((Math.min(Math.max(y, 0), H - 1) + 0.5) * gh / H));
    const col = Math.min(gw - 1, Math.floor((Math.min(Math.max(x, 0), W - 1) + 0.5) * gw / W));
    return row * gw + col;
  }

  /** Rows y0:y1 and columns x0:x1 of the side-pixel patch centred at (y, x) (colorlib.hints.patch_bounds). */
  function patchBounds(y, x, side, H, W) {
    const y0 = Math.max(0, y - Math.floor(side / 2)), x0 = Math.max(0, x - Math.floor(side / 2));
    return [y0, Math.min(H, y0 + side), x0, Math.min(W, x0 + side)];
  }

  /** The distribution (T = 1) at grid cell i of logits (Q, n). */
  function probsAt(logits, q, n, i) {
    let top = -Infinity;
    for (let k = 0; k < q; k++) top = Math.max(top, logits[k * n + i]);
    const p = new Float64Array(q);
    let total = 0;
    for (let k = 0; k < q; k++) { p[k] = Math.exp(logits[k * n + i] - top); total += p[k]; }
    return p.map((v) => v / total);
  }

  /** Suggested colours (colorlib.hints.swatches): bins by probability, each joining the first swatch within
   * `radius` of that swatch's first bin; the `most` heaviest, as {a, b, p}. */
  function swatches(p, bins, most, radius) {
    const order = Array.from(p.keys()).sort((i, j) => p[j] - p[i]);
    const found = [];
    for (const k of order) {
      const [a, b] = bins[k];
      const s = found.find((f) => Math.hypot(f.first[0] - a, f.first[1] - b) < radius);
      if (s) { s.mass += p[k]; s.a += p[k] * a; s.b += p[k] * b; }
      else found.push({ first: [a, b], mass: p[k], a: p[k] * a, b: p[k] * b });
    }
    found.sort((x, y) => y.mass - x.mass);
    return found.slice(0, most).filter((s) => s.mass > 0).map((s) => ({ a: s.a / s.mass, b: s.b / s.mass, p: s.mass }));
  }

  const hex = (rgb) => "#" + Array.from(rgb.slice(0, 3), (v) => v.toString(16).padStart(2, "0")).join("");
  /** The sRGB bytes of one Lab colour. */
  const rgbOf = (L, a, b) => C.labToRgba([L], [a], [b], 1);
  const MAX_SIDE = 2048; // larger photos are downscaled first: every update resamples the colour to every pixel

  async function start(root) {
    const $ = (sel) => root.querySelector(sel);
    const base = new URL(root.dataset.base, document.baseURI).href.replace(/\/$/, "");
    const metaUrl = `${base}/${root.dataset.model}`;
    const meta = await (await fetch(metaUrl)).json();
    const say = (text, kind = "info") => { const m = $(".hb-message"); m.textContent = text; m.dataset.kind = kind; };
    ort.env.wasm.wasmPaths = `${base}/vendor/ort/`;
    ort.env.wasm.numThreads = 1;
    say(`Loading the hint colorizer (${(meta.bytes / 1e6).toFixed(1)} MB)…`);
    const open = (name) => ort.InferenceSession.create(new URL(meta.graphs[name].file, metaUrl).href,
                                                       { executionProviders: ["wasm"] });
    const [parts, spread] = [await open("hint-parts"), await open("hint-spread")];
    root.dataset.state = "ready";
    say("Ready: choose a photo or click an example; then click the colorized photo to give a point a colour.");
    let photo = null; // the photo's L, sizes and the parts (run once per photo)
    let hints = []; // {x, y, a, b, side, hex}
    let picked = null; // the last clicked pixel, waiting for a colour

    async function load(blob, name) {
      root.dataset.state = "working";
      const read = await C.readPhoto(blob, meta, MAX_SIDE);
      if (!read) {
        say(C.notAnImage(name), "error");
        root.dataset.state = photo ? "done" : "ready";
        return;
      }
      const { L, H, W, h, w, small, started } = read;
      const out = await parts.run({ L: new ort.Tensor("float32", small, [1, 1, h, w]) });
      const logits = out[meta.parts_outputs[0]];
      photo = { name, L, H, W, h, w, out, logits: logits.data, q: logits.dims[1], gh: logits.dims[2], gw: logits.dims[3] };
      photo.networkMs = performance.now() - started;
      hints = [];
      picked = null;
      $(".hb-swatches").replaceChildren();
      await update();
    }

    /** The hinted colorization: the spread graph (only when there are hints), then the page's decoding. */
    async function update() {
      const c = photo;
      const t0 = performance.now();
      let logits = c.logits;
      if (hints.length) {
        const k = hints.length;
        const index = new BigInt64Array(k), ab = new Float32Array(2 * k), valid = new Float32Array(k).fill(1);
        hints.forEach((t, i) => { index[i] = BigInt(cellOf(t.y, t.x, c.H, c.W, c.gh, c.gw)); ab[2 * i] = t.a; ab[2 * i + 1] = t.b; });
        const feeds = {
          [meta.spread_inputs[0]]: c.out[meta.parts_outputs[0]], [meta.spread_inputs[1]]: c.out[meta.parts_outputs[1]],
          [meta.spread_inputs[2]]: c.out[meta.parts_outputs[2]],
          [meta.spread_inputs[3]]: new ort.Tensor("int64", index, [1, k]),
          [meta.spread_inputs[4]]: new ort.Tensor("float32", ab, [1, k, 2]),
          [meta.spread_inputs[5]]: new ort.Tensor("float32", valid, [1, k]),
        };
        logits = (await spread.run(feeds))[meta.output].data;
      }
      const [A4, B4] = C.annealedMean(logits, c.q, c.gh * c.gw, meta.bins, meta.T);
      const A = C.resize(C.resize(A4, c.gh, c.gw, c.h, c.w, false), c.h, c.w, c.H, c.W, false);
      const B = C.resize(C.resize(B4, c.gh, c.gw, c.h, c.w, false), c.h, c.w, c.H, c.W, false);
      for (const t of hints) { // each hint's own patch takes its colour
        const [y0, y1, x0, x1] = patchBounds(t.y, t.x, t.side, c.H, c.W);
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) { A[y * c.W + x] = t.a; B[y * c.W + x] = t.b; }
      }
      const n = c.H * c.W;
      if (!c.grayDrawn) { C.draw($(".hb-gray"), C.labToRgba(c.L, new Float32Array(n), new Float32Array(n), n), c.W, c.H); c.grayDrawn = true; }
      C.draw($(".hb-result"), C.labToRgba(c.L, A, B, n), c.W, c.H);
      c.A = A; c.B = B;
      const ms = performance.now() - t0;
      drawMarks();
      listHints();
      root.dataset.updateMs = ms.toFixed(1);
      root.dataset.networkMs = c.networkMs.toFixed(0);
      root.dataset.hints = String(hints.length);
      $(".hb-download").disabled = false;
      say(`${c.name}: ${c.W}×${c.H} pixels; ${hints.length} hint${hints.length === 1 ? "" : "s"}. Network (once per photo) `
          + `${(c.networkMs / 1000).toFixed(2)} s; this update ${ms.toFixed(0)} ms. Click the colorized photo to add a hint.`);
      root.dataset.state = "done";
    }

    /** Circles where the hints are, on a canvas over the result (the download keeps the photo clean). */
    function drawMarks() {
      const marks = $(".hb-marks"), c = photo;
      marks.width = c.W;
      marks.height = c.H;
      const ctx = marks.getContext("2d");
      const r = Math.max(4, Math.round(Math.max(c.W, c.H) / 80));
      for (const t of [...hints, ...(picked ? [{ ...picked, hex: null }] : [])]) {
        ctx.beginPath();
        ctx.arc(t.x + 0.5, t.y + 0.5, r, 0, 2 * Math.PI);
        ctx.lineWidth = Math.max(2, r / 3);
        ctx.strokeStyle = "#fff";
        ctx.stroke();
        ctx.fillStyle = t.hex || "rgba(0,0,0,0)";
        ctx.fill();
      }
    }

    function listHints() {
      const list = $(".hb-hint-list");
      list.replaceChildren(...hints.map((t, i) => {
        const item = document.createElement("li");
        item.innerHTML = `<span style="display:inline-block;width:1em;height:1em;background:${t.hex};border:1px solid #555"></span> `
          + `x ${t.x}, y ${t.y}, a ${t.a.toFixed(1)}, b ${t.b.toFixed(1)} `;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "hb-remove";
        remove.textContent = "remove";
        remove.addEventListener("click", () => { hints.splice(i, 1); update(); });
        item.append(remove);
        return item;
      }));
    }

    /** A click on the result: the pixel under it, and the model's suggested colours there. */
    function pick(event) {
      if (!photo) return;
      const canvas = $(".hb-result"), box = canvas.getBoundingClientRect(), c = photo;
      const x = Math.min(c.W - 1, Math.max(0, Math.floor((event.clientX - box.left) * c.W / box.width)));
      const y = Math.min(c.H - 1, Math.max(0, Math.floor((event.clientY - box.top) * c.H / box.height)));
      picked = { x, y };
      const p = probsAt(c.logits, c.q, c.gh * c.gw, cellOf(y, x, c.H, c.W, c.gh, c.gw));
      const found = swatches(p, meta.bins, meta.swatches, meta.swatch_radius);
      const L = c.L[y * c.W + x];
      const here = [c.A[y * c.W + x], c.B[y * c.W + x]];
      root.dataset.pickX = String(x);
      root.dataset.pickY = String(y);
      root.dataset.pickNow = JSON.stringify(here);
      root.dataset.suggestions = JSON.stringify(found);
      const box2 = $(".hb-swatches");
      const title = document.createElement("span");
      title.textContent = `At x ${x}, y ${y} the model thinks: `;
      const buttons = found.map((s, i) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "hb-swatch";
        button.dataset.index = String(i);
        const colour = hex(rgbOf(L, s.a, s.b));
        button.style.cssText = `background:${colour};color:${L > 55 ? "#000" : "#fff"};border:1px solid #444;margin:2px;padding:4px 8px`;
        button.textContent = `${Math.round(100 * s.p)}%`;
        button.title = `a ${s.a.toFixed(1)}, b ${s.b.toFixed(1)}: ${(100 * s.p).toFixed(1)}% of the model's belief`;
        button.addEventListener("click", () => addHint(x, y, s.a, s.b, colour));
        return button;
      });
      const any = document.createElement("label");
      any.innerHTML = ' or any colour: <input type="color" class="hb-any" value="' + hex(rgbOf(L, here[0], here[1])) + '">';
      any.querySelector("input").addEventListener("change", (e) => {
        const v = e.target.value;
        const [, a, b] = C.rgbToLab(parseInt(v.slice(1, 3), 16), parseInt(v.slice(3, 5), 16), parseInt(v.slice(5, 7), 16));
        addHint(x, y, a, b, v);
      });
      box2.replaceChildren(title, ...buttons, any);
      drawMarks();
    }

    function addHint(x, y, a, b, colour) {
      hints.push({ x, y, a, b, side: Number($(".hb-side").value) || meta.hint_side, hex: colour });
      picked = null;
      $(".hb-swatches").replaceChildren();
      update();
    }

    $(".hb-result").addEventListener("click", pick);
    $(".hb-marks").addEventListener("click", pick);
    $(".hb-file").addEventListener("change", (e) => { const file = e.target.files[0]; if (file) load(file, file.name); });
    $(".hb-clear").addEventListener("click", () => { if (photo) { hints = []; picked = null; update(); } });
    for (const button of root.querySelectorAll(".hb-example")) {
      button.addEventListener("click", async () => load(await (await fetch(button.dataset.src)).blob(), button.dataset.name));
    }
    $(".hb-download").addEventListener("click", () => C.downloadCanvas($(".hb-result"), photo.name, "hinted"));
  }

  window.colorbookHints = { cellOf, patchBounds, swatches, probsAt };
  window.addEventListener("load", () => {
    for (const root of document.querySelectorAll(".hb-colorizer")) {
      start(root).catch((e) => {
        root.dataset.state = "failed";
        const m = root.querySelector(".hb-message");
        m.textContent = location.protocol === "file:" ? C.fromDiskMessage()
          : `The hint colorizer could not start: ${e && e.message ? e.message : e}`;
        m.dataset.kind = "error";
      });
    }
  });
})();
