// Open every page of the built site in headless Chromium and check what a reader sees.
// Usage: node tests/browser_check.mjs BASE_URL OUT_DIR EXPECT_JSON
// EXPECT_JSON: {"pages": {page: {"tables": n, "table1": {"methods": [...], "headers": [...]} | null}},
//               "forbidden": ["/abs/path", ...]}
// Prints one JSON line per page; exits non-zero if any page fails. A full-page screenshot of each is kept.
import fs from "node:fs";
import { launch } from "./chromium.mjs";

const [base, outDir, expectFile] = process.argv.slice(2);
const expect = JSON.parse(fs.readFileSync(expectFile, "utf8"));
fs.mkdirSync(outDir, { recursive: true });
const browser = await launch();
let failed = 0;
for (const [page, want] of Object.entries(expect.pages)) {
  const tab = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const errors = [];
  const offsite = [];
  tab.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  tab.on("pageerror", (e) => errors.push(String(e)));
  tab.on("response", (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`); });
  tab.on("request", (r) => { const u = r.url(); if (!u.startsWith(base) && !u.startsWith("data:") && !u.startsWith("blob:" + base)) offsite.push(u); });
  const response = await tab.goto(base + page, { waitUntil: "load" });
  // MathJax typesets asynchronously: where the page loads it, wait for its first typesetting to finish (a
  // fixed pause cost 2.5 s a page and could still be too short on a loaded machine)
  await tab.waitForFunction(() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise),
    null, { timeout: 20000 }).catch(() => {});
  await tab.evaluate(async () => { const mj = window.MathJax; if (mj && mj.startup && mj.startup.promise) await mj.startup.promise; });
  const facts = await tab.evaluate(({ forbidden, table1 }) => {
    const article = document.querySelector("main article") || document.querySelector("main") || document.body;
    const imgs = [...article.querySelectorAll("img")];
    const html = document.documentElement.innerHTML;
    const text = article.innerText;
    // raw Markdown in the text a reader sees: a line starting "| " or a separator row
    const rawPipes = [];
    const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const t = n.textContent;
      if (/^\s*\| /.test(t) || /\|\s*[-\u2014\u2013]{1,3}:?\s*\|/.test(t) || t.includes("|---")) rawPipes.push(t.trim().slice(0, 60));
    }
    // content cut off: an element of the article that clips or scrolls (overflow-x other than visible) and whose
    // content is wider than its box, or a page wider than the window
    const overflow = [];
    for (const el of [article, ...article.querySelectorAll("*")]) {
      const clips = !["visible", ""].includes(getComputedStyle(el).overflowX);
      if (clips && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 2 && !el.closest("mjx-container")) {
        overflow.push(`${el.tagName.toLowerCase()}.${[...el.classList].slice(0, 2).join(".")} (${el.scrollWidth} > ${el.clientWidth}): ${(el.innerText || "").trim().slice(0, 50)}`);
      }
    }
    if (document.documentElement.scrollWidth > window.innerWidth + 2) overflow.push(`page ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
    // chapter 6's Table 1: a row per method with a cell per column
    let table1Missing = null;
    if (table1) {
      const table = [...article.querySelectorAll("table")].find((t) => table1.headers.every((h) => t.innerText.includes(h)));
      if (!table) table1Missing = "no table with every Table-1 column";
      else {
        const rows = [...table.querySelectorAll("tbody tr")].map((r) => [...r.querySelectorAll("td")].map((c) => c.innerText.trim()));
        const missing = table1.methods.filter((m) => !rows.some((r) => r[0] === m && r.length === table1.headers.length + 1 && r.every((c) => c.length)));
        if (missing.length) table1Missing = `methods without a full row: ${missing.join(", ")}`;
      }
    }
    return {
      title: document.title,
      images: imgs.length,
      broken: imgs.filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => (i.getAttribute("src") || "").slice(0, 60)),
      tables: article.querySelectorAll("table").length,
      hasMath: article.querySelectorAll(".math, span.math, div.math").length > 0,
      mathRendered: article.querySelectorAll("mjx-container").length,
      widgetViews: (html.match(/application\/vnd\.jupyter\.widget-view\+json/g) || []).length,
      rawPipes: rawPipes.slice(0, 3),
      overflow: overflow.slice(0, 4),
      paths: forbidden.filter((p) => html.includes(p)),
      octal: (text.match(/\\[0-3][0-7]{2}/g) || []).slice(0, 3),
      table1Missing,
    };
  }, { forbidden: expect.forbidden, table1: want.table1 || null });
  // Sliders drawn at build time (colorlib.widgets.frames_slider) must move without a kernel: each one, to its end.
  const sliders = await tab.$$(".cb-frames input[type=range]:not([hidden])");
  let framesMoved = 0;
  for (const slider of sliders) {
    const before = await slider.evaluate((s) => s.closest(".cb-frames").querySelector("img").src);
    await slider.evaluate((s) => {
      s.value = String(Number(s.value) === Number(s.max) ? s.min : s.max);
      s.dispatchEvent(new Event("input", { bubbles: true }));
    });
    const after = await slider.evaluate((s) => s.closest(".cb-frames").querySelector("img").src);
    if (after !== before && after.startsWith("data:image/")) framesMoved++;
  }
  facts.frameSliders = sliders.length;
  facts.framesMoved = framesMoved;
  const name = page.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/\.html$/, "");
  await tab.screenshot({ path: `${outDir}/${name}.png`, fullPage: true });
  const problems = [];
  if (!response || response.status() !== 200) problems.push(`HTTP ${response && response.status()}`);
  if (errors.length) problems.push(`console errors: ${errors.slice(0, 3).join(" | ")}`);
  if (facts.broken.length) problems.push(`images not loaded: ${facts.broken.join(", ")}`);
  if (facts.hasMath && facts.mathRendered === 0) problems.push("math not rendered");
  if (facts.tables < (want.tables || 0)) problems.push(`${facts.tables} <table> elements, the page displays ${want.tables} tables`);
  if (facts.rawPipes.length) problems.push(`raw Markdown table text: ${facts.rawPipes.join(" / ")}`);
  if (facts.widgetViews) problems.push(`${facts.widgetViews} ipywidgets views that cannot move without a kernel`);
  if (facts.overflow.length) problems.push(`wider than its box: ${facts.overflow.join(" | ")}`);
  if (facts.paths.length) problems.push(`the build machine's paths on the page: ${facts.paths.join(", ")}`);
  if (facts.octal.length) problems.push(`octal-escaped text: ${facts.octal.join(", ")}`);
  if (facts.table1Missing) problems.push(`Table 1: ${facts.table1Missing}`);
  if (offsite.length) problems.push(`requests off the site: ${offsite.slice(0, 3).join(", ")}`);
  if (framesMoved !== sliders.length) problems.push(`${sliders.length - framesMoved} build-time sliders did not move`);
  console.log(JSON.stringify({ page, ...facts, offsite: offsite.length, problems }));
  if (problems.length) failed++;
  await tab.close();
}
await browser.close();
process.exit(failed ? 1 : 0);
