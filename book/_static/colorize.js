// "Colorize your own photo" (chapter 9): the book's colorizer in the reader's browser, nothing uploaded.
//
// The exported graph (colorlib.export) maps L (1,1,h,w) in 0..100 to 313 class logits at 1/4 resolution.
// Everything else is done here with the library's own formulas, step for step as `colorlib colorize` does it
// (colorlib.evaluate.colorize_photo):
//   1. sRGB -> CIE Lab (D65, scikit-image's constants: colorlib.color.rgb_to_lab), L kept at full resolution;
//   2. L resized so that its shorter side is the model's size, both sides rounded to the network's multiple,
//      with PyTorch's antialiased bilinear filter (F.interpolate(..., antialias=True));
//   3. logits -> ab by Zhang's annealed mean with temperature T (colorlib.encode.annealed_mean);
//   4. ab upsampled bilinearly (align_corners=False) to the resized size, then to the photo's size;
//   5. (L, a, b) -> sRGB, clamped to the gamut (colorlib.color.lab_to_rgb), rounded as the library rounds.
/* global ort */
(function () {
  "use strict";

  // --- colour math: colorlib/color.py ---------------------------------------------------------------------
  const XYZ_FROM_RGB = [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]];
  const WHITE = [0.95047, 1.0, 1.08883];
  const EPSILON = 0.008856, KAPPA_SLOPE = 7.787;
  const RGB_FROM_XYZ = invert3(XYZ_FROM_RGB);

  function invert3(m) {
    const [a, b, c] = m[0], [d, e, f] = m[1], [g, h, i] = m[2];
    const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
    const det = a * A + b * B + c * C;
    return [[A / det, -(b * i - c * h) / det, (b * f - c * e) / det],
            [B / det, (a * i - c * g) / det, -(a * f - c * d) / det],
            [C / det, -(a * h - b * g) / det, (a * e - b * d) / det]];
  }
  const toLinear = (c) => (c > 0.04045 ? ((c + 0.055) / 1.055) ** 2.4 : c / 12.92);
  const toSrgb = (c) => (c > 0.0031308 ? 1.055 * c ** (1 / 2.4) - 0.055 : c * 12.92);
  const f = (t) => (t > EPSILON ? Math.cbrt(t) : KAPPA_SLOPE * t + 16 / 116);
  const fInverse = (t) => { const cube = t * t * t; return cube > EPSILON ? cube : (t - 16 / 116) / KAPPA_SLOPE; };

  /** Lightness L (0..100) of every pixel of RGBA bytes; only Y is needed for L. */
  function lightness(rgba, n) {
    const lut = new Float64Array(256).map((_, v) => toLinear(v / 255));
    const L = new Float32Array(n);
    const [r, g, b] = XYZ_FROM_RGB[1];
    for (let i = 0; i < n; i++) {
      const y = (r * lut[rgba[4 * i]] + g * lut[rgba[4 * i + 1]] + b * lut[rgba[4 * i + 2]]) / WHITE[1];
      L[i] = 116 * f(y) - 16;
    }
    return L;
  }

  /** sRGB bytes of Lab planes (clamped to the gamut, rounded as colorize_photo rounds: floor(255 x + 0.5)). */
  function labToRgba(L, A, B, n) {
    const out = new Uint8ClampedArray(4 * n);
    for (let i = 0; i < n; i++) {
      const fy = (L[i] + 16) / 116;
      const xyz = [fInverse(fy + A[i] / 500) * WHITE[0], fInverse(fy) * WHITE[1], fInverse(fy - B[i] / 200) * WHITE[2]];
      for (let c = 0; c < 3; c++) {
        const m = RGB_FROM_XYZ[c];
        const lin = Math.min(Math.max(m[0] * xyz[0] + m[1] * xyz[1] + m[2] * xyz[2], 0), 1);
        out[4 * i + c] = Math.floor(toSrgb(lin) * 255 + 0.5);
      }
      out[4 * i + 3] = 255;
    }
    return out;
  }

  /** CIE Lab of one sRGB colour given as bytes: [L, a, b] (colorlib.color.rgb_to_lab). */
  function rgbToLab(r, g, b) {
    const lin = [r, g, b].map((v) => toLinear(v / 255));
    const xyz = XYZ_FROM_RGB.map((m, c) => (m[0] * lin[0] + m[1] * lin[1] + m[2] * lin[2]) / WHITE[c]);
    const [fx, fy, fz] = xyz.map(f);
    return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
  }

  // --- resampling: torch.nn.functional.interpolate(mode="bilinear", align_corners=False) -------------------
  /** Per output index: first input index and normalised weights. `antialias` widens the triangle filter by
   * the scale when shrinking, as PyTorch's antialiased kernel does; otherwise plain bilinear taps. */
  function taps(inSize, outSize, antialias) {
    const scale = inSize / outSize;
    const rows = [];
    for (let i = 0; i < outSize; i++) {
      if (antialias) {
        const support = scale >= 1 ? scale : 1.0;
        const invscale = scale >= 1 ? 1 / scale : 1.0;
        const center = scale * (i + 0.5);
        const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
        const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
        const w = [];
        let total = 0;
        for (let j = xmin; j < xmax; j++) {
          const x = Math.abs((j - center + 0.5) * invscale);
          const v = x < 1 ? 1 - x : 0;
          w.push(v);
          total += v;
        }
        rows.push({ start: xmin, weights: w.map((v) => (total ? v / total : 0)) });
      } else {
        const src = Math.max(scale * (i + 0.5) - 0.5, 0);
        const i0 = Math.min(Math.floor(src), inSize - 1);
        const lambda = Math.min(Math.max(src - i0, 0), 1);
        rows.push(i0 < inSize - 1 ? { start: i0, weights: [1 - lambda, lambda] } : { start: i0, weights: [1] });
      }
    }
    return rows;
  }

  /** Resize one plane (h, w) -> (H, W), separably: along the width, then along the height. */
  function resize(plane, h, w, H, W, antialias) {
    const across = taps(w, W, antialias), down = taps(h, H, antialias);
    const mid = new Float32Array(h * W);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < W; x++) {
        const t = across[x];
        let s = 0;
        for (let k = 0; k < t.weights.length; k++) s += t.weights[k] * plane[y * w + t.start + k];
        mid[y * W + x] = s;
      }
    }
    const out = new Float32Array(H * W);
    for (let y = 0; y < H; y++) {
      const t = down[y];
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let k = 0; k < t.weights.length; k++) s += t.weights[k] * mid[(t.start + k) * W + x];
        out[y * W + x] = s;
      }
    }
    return out;
  }

  /** The prediction size of colorize_photo: shorter side `size`, each side rounded to a multiple of `m`. */
  function predictionSize(h, w, size, m) {
    const scale = size / Math.min(h, w);
    return [Math.max(m, Math.round((h * scale) / m) * m), Math.max(m, Math.round((w * scale) / m) * m)];
  }

  /** Zhang's annealed mean: softmax(z / T) over the Q bins, then the expected (a, b). Logits (Q, n). */
  function annealedMean(logits, q, n, bins, T) {
    const A = new Float32Array(n), B = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let top = -Infinity;
      for (let k = 0; k < q; k++) top = Math.max(top, logits[k * n + i]);
      let total = 0, a = 0, b = 0;
      for (let k = 0; k < q; k++) {
        const p = Math.exp((logits[k * n + i] - top) / T);
        total += p;
        a += p * bins[k][0];
        b += p * bins[k][1];
      }
      A[i] = a / total;
      B[i] = b / total;
    }
    return [A, B];
  }

  // --- the page ---------------------------------------------------------------------------------------------
  const MAX_SIDE = 4096; // larger photos are downscaled first (and the page says so)

  async function start(root) {
    const $ = (sel) => root.querySelector(sel);
    // the site's _static folder, as an absolute URL: ONNX Runtime resolves its paths against its own script's URL
    const base = new URL(root.dataset.base, document.baseURI).href.replace(/\/$/, "");
    const metaUrl = `${base}/${root.dataset.model}.json`; // the exported model's metadata, beside the model
    const meta = await (await fetch(metaUrl)).json();
    const modelUrl = new URL(meta.file, metaUrl).href;
    const say = (text, kind = "info") => { const m = $(".cb-message"); m.textContent = text; m.dataset.kind = kind; };
    if (typeof WebAssembly !== "object" || typeof WebAssembly.instantiate !== "function") {
      say("This browser has no WebAssembly, which the colorizer needs to run on your machine. Try a current Firefox, Chrome, Safari or Edge.", "error");
      root.dataset.state = "unsupported";
      return;
    }
    ort.env.wasm.wasmPaths = `${base}/vendor/ort/`;
    ort.env.wasm.numThreads = 1; // a static site is not cross-origin isolated: no shared-memory threads
    say(`Loading the colorizer (${(meta.bytes / 1e6).toFixed(1)} MB)…`);
    const session = await ort.InferenceSession.create(modelUrl, { executionProviders: ["wasm"] });
    root.dataset.state = "ready";
    say("Ready: choose or drop a photo, or click one of the examples.");
    const T = $(".cb-temperature");
    const tOut = $(".cb-temperature-value");
    let current = null; // the last photo: its L, logits and sizes, so that moving T does not run the network again

    async function colorize(blob, name) {
      root.dataset.state = "working";
      const photo = await readPhoto(blob, meta, MAX_SIDE);
      if (!photo) {
        say(notAnImage(name), "error");
        root.dataset.state = "ready";
        return;
      }
      const { L, H, W, h, w, small, started } = photo;
      const note = photo.scaled ? ` It was ${photo.original[0]}×${photo.original[1]} pixels, so it was downscaled to ${W}×${H} first.` : "";
      const result = await session.run({ [meta.input]: new ort.Tensor("float32", small, [1, 1, h, w]) });
      const logits = result[meta.output];
      current = { name, L, H, W, h, w, logits: logits.data, q: logits.dims[1], h4: logits.dims[2], w4: logits.dims[3],
                  networkMs: performance.now() - started, note };
      paint();
    }

    function paint() {
      const c = current;
      const t0 = performance.now();
      const temperature = Number(T.value);
      const [A4, B4] = annealedMean(c.logits, c.q, c.h4 * c.w4, meta.bins, temperature);
      const A = resize(resize(A4, c.h4, c.w4, c.h, c.w, false), c.h, c.w, c.H, c.W, false);
      const B = resize(resize(B4, c.h4, c.w4, c.h, c.w, false), c.h, c.w, c.H, c.W, false);
      const n = c.H * c.W;
      const zeros = new Float32Array(n);
      draw($(".cb-gray"), labToRgba(c.L, zeros, zeros, n), c.W, c.H);
      draw($(".cb-result"), labToRgba(c.L, A, B, n), c.W, c.H);
      const decodeMs = performance.now() - t0;
      root.dataset.networkMs = c.networkMs.toFixed(0);
      root.dataset.decodeMs = decodeMs.toFixed(0);
      say(`${c.name}: ${c.W}×${c.H} pixels, predicted at ${c.w}×${c.h}. ` +
          `Network ${(c.networkMs / 1000).toFixed(2)} s, decoding at T = ${temperature.toFixed(2)} ${(decodeMs / 1000).toFixed(2)} s, ` +
          `on this machine.${c.note}`);
      $(".cb-download").disabled = false;
      root.dataset.state = "done";
      root.dataset.temperature = temperature.toFixed(2);
    }

    $(".cb-file").addEventListener("change", (e) => { const file = e.target.files[0]; if (file) colorize(file, file.name); });
    const drop = $(".cb-drop");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("cb-over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("cb-over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("cb-over");
      const file = e.dataTransfer.files[0];
      if (file) colorize(file, file.name);
    });
    for (const button of root.querySelectorAll(".cb-example")) {
      button.addEventListener("click", async () => {
        const photo = await (await fetch(button.dataset.src)).blob();
        colorize(photo, button.dataset.name);
      });
    }
    T.addEventListener("input", () => { tOut.textContent = Number(T.value).toFixed(2); if (current) paint(); });
    $(".cb-download").addEventListener("click", () => downloadCanvas($(".cb-result"), current.name, "colorized"));
  }

  /** A photo file as the network sees it (steps 1-2): its L (0..100) at full size, downscaled first where a side
   * exceeds `maxSide` (`scaled`, `original` [W, H]), and L resized to the prediction size (`small`, h×w); `started`
   * is when the decoded photo was ready (what the pages time as the network's part). Null if the browser cannot
   * read the file. */
  async function readPhoto(blob, meta, maxSide) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    } catch (e) {
      return null;
    }
    const started = performance.now();
    const s = Math.min(1, maxSide / Math.max(bitmap.height, bitmap.width));
    const [H, W] = [Math.round(bitmap.height * s), Math.round(bitmap.width * s)];
    const ctx = new OffscreenCanvas(W, H).getContext("2d");
    ctx.drawImage(bitmap, 0, 0, W, H);
    const L = lightness(ctx.getImageData(0, 0, W, H).data, H * W);
    const [h, w] = predictionSize(H, W, meta.size, meta.size_multiple);
    return { L, H, W, h, w, small: resize(L, H, W, h, w, true), started, scaled: s < 1,
             original: [bitmap.width, bitmap.height] };
  }

  const notAnImage = (name) => `"${name}" is not an image this browser can read (JPEG, PNG or WebP).`;

  /** Put RGBA pixels (W×H) on a canvas, sizing it to them. */
  function draw(canvas, rgba, W, H) {
    canvas.width = W;
    canvas.height = H;
    canvas.getContext("2d").putImageData(new ImageData(rgba, W, H), 0, 0);
  }

  /** Save a canvas as PNG, named after the photo `name` with `suffix` (the page's download button). */
  function downloadCanvas(canvas, name, suffix) {
    canvas.toBlob((png) => {
      const link = document.createElement("a");
      link.href = URL.createObjectURL(png);
      link.download = `${name.replace(/\.[^.]+$/, "")}-${suffix}.png`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    }, "image/png");
  }

  // Opened from disk (file://), the page may not fetch its model and runtime: browsers refuse that. Say how to
  // open it so that it works: `make serve` serves the built site on localhost.
  function fromDiskMessage() {
    const page = location.pathname.split("/_build/html/").pop();
    return "This page was opened from disk, where browsers do not let it load the colorizer. In the repository, "
      + `run \`make serve\` and open http://localhost:8000/${page}`;
  }

  window.colorbookColorizer = { lightness, labToRgba, rgbToLab, resize, predictionSize, annealedMean, readPhoto, notAnImage,
                                draw, downloadCanvas, fromDiskMessage };
  window.addEventListener("load", () => {
    for (const root of document.querySelectorAll(".cb-colorizer")) {
      start(root).catch((e) => {
        root.dataset.state = "failed";
        const m = root.querySelector(".cb-message");
        m.textContent = location.protocol === "file:" ? fromDiskMessage()
          : `The colorizer could not start: ${e && e.message ? e.message : e}`;
        m.dataset.kind = "error";
      });
    }
  });
})();
