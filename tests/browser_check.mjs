// Open every page of the built site in headless Chromium and check what a reader sees.
// Usage: node tests/browser_check.mjs BASE_URL OUT_DIR page1.html page2.html ...
// Prints one JSON line per page; exits non-zero if any page fails.
import fs from "node:fs";
import { createRequire } from "node:module";

// playwright-core is installed by `make browser` under build/node (NODE_TOOLS), not beside this script.
const require = createRequire(`${process.env.NODE_TOOLS}/`);
const { chromium } = require("playwright-core");

const [base, outDir, ...pages] = process.argv.slice(2);
fs.mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
let failed = 0;
for (const page of pages) {
  const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  const offsite = [];
  tab.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  tab.on("pageerror", (e) => errors.push(String(e)));
  tab.on("response", (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`); });
  tab.on("request", (r) => { const u = r.url(); if (!u.startsWith(base) && !u.startsWith("data:") && !u.startsWith("blob:" + base)) offsite.push(u); });
  const response = await tab.goto(base + page, { waitUntil: "load" });
  await tab.waitForTimeout(2500); // MathJax typesetting and widget rendering are asynchronous
  const facts = await tab.evaluate(() => {
    const imgs = [...document.querySelectorAll("main img, article img")];
    const html = document.documentElement.innerHTML;
    return {
      images: imgs.length,
      broken: imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.getAttribute("src")),
      hasMath: document.querySelectorAll(".math, span.math, div.math").length > 0,
      mathRendered: document.querySelectorAll("mjx-container").length,
      hasWidgets: html.includes("application/vnd.jupyter.widget-view+json"),
      widgetsRendered: document.querySelectorAll(".jupyter-widgets, .widget-slider, .widget-image, .lm-Widget").length,
    };
  });
  // Sliders drawn at build time (colorlib.widgets.frames_slider) must move without a kernel.
  const sliders = await tab.$$(".cb-frames input[type=range]");
  let framesMoved = 0;
  for (const slider of sliders) {
    const before = await slider.evaluate((s) => s.closest(".cb-frames").querySelector("img").src);
    await slider.evaluate((s) => {
      s.value = String(Number(s.value) === Number(s.max) ? s.min : s.max);
      s.dispatchEvent(new Event("input", { bubbles: true }));
    });
    const after = await slider.evaluate((s) => s.closest(".cb-frames").querySelector("img").src);
    if (after !== before && after.startsWith("data:image/png")) framesMoved++;
  }
  facts.frameSliders = sliders.length;
  facts.framesMoved = framesMoved;
  const name = page.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/\.html$/, "");
  await tab.screenshot({ path: `${outDir}/${name}.png`, fullPage: true });
  const problems = [];
  if (!response || response.status() !== 200) problems.push(`HTTP ${response && response.status()}`);
  if (errors.length) problems.push(`console errors: ${errors.slice(0, 3).join(" | ")}`);
  if (facts.broken.length) problems.push(`images not loaded: ${facts.broken.slice(0, 3).join(", ")}`);
  if (facts.hasMath && facts.mathRendered === 0) problems.push("math not rendered");
  if (facts.hasWidgets && facts.widgetsRendered === 0) problems.push("widgets not rendered");
  if (offsite.length) problems.push(`requests off the site: ${offsite.slice(0, 3).join(", ")}`);
  if (framesMoved !== sliders.length) problems.push(`${sliders.length - framesMoved} build-time sliders did not move`);
  console.log(JSON.stringify({ page, ...facts, offsite: offsite.length, problems }));
  if (problems.length) failed++;
  await tab.close();
}
await browser.close();
process.exit(failed ? 1 : 0);
