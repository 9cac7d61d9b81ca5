// Chapter 10's hint colorizer, used as a reader would: open the page, give it a photo, click a point, choose a
// suggested colour, and read the picture before and after; then a hint of a given colour for the parity check.
// Usage: node tests/hints_check.mjs PAGE_URL PHOTO OUT_PNG HEX
// Prints one JSON line: the clicked point, the chosen suggestion, the mean ab distance to it around the click before
// and after, the update times, and the point of the parity hint; the hinted picture of HEX is written to OUT_PNG.
import fs from "node:fs";
import { launch } from "./chromium.mjs";

const [url, photo, outPng, hexColour] = process.argv.slice(2);
const origin = new URL(url).origin;
const browser = await launch();
const tab = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
const result = { problems: [], offsite: [], updates: [] };
tab.on("request", (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) result.offsite.push(r.url()); });
tab.on("pageerror", (e) => result.problems.push(`page error: ${e}`));
const root = tab.locator(".hb-colorizer");
const data = (name) => root.getAttribute(`data-${name}`);
const message = async () => (await tab.locator(".hb-message").innerText()).trim();

async function until(what, seconds, test) {
  for (const end = Date.now() + seconds * 1000; Date.now() < end; await tab.waitForTimeout(100)) {
    if (await test()) return;
  }
  throw new Error(`timed out waiting for ${what} (state ${await data("state")}, message: ${await message()})`);
}

/** Click the result canvas at photo pixel (x, y). */
async function clickAt(x, y) {
  await tab.locator(".hb-marks").scrollIntoViewIfNeeded();
  const box = await tab.locator(".hb-marks").boundingBox();
  const [W, H] = await tab.evaluate(() => { const c = document.querySelector(".hb-result"); return [c.width, c.height]; });
  await tab.mouse.click(box.x + (x + 0.5) * box.width / W, box.y + (y + 0.5) * box.height / H);
  await until("the suggestions", 30, async () => (await tab.locator(".hb-swatch").count()) > 0);
}

/** Mean ab distance of the result's pixels within `r` of (x, y) to the colour (a, b), read from the canvas. */
const distance = (x, y, r, a, b) => tab.evaluate(([x, y, r, a, b]) => {
  const c = document.querySelector(".hb-result");
  const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let total = 0, n = 0;
  for (let j = Math.max(0, y - r); j <= Math.min(c.height - 1, y + r); j++) {
    for (let i = Math.max(0, x - r); i <= Math.min(c.width - 1, x + r); i++) {
      const k = 4 * (j * c.width + i);
      const [, pa, pb] = window.colorbookColorizer.rgbToLab(px[k], px[k + 1], px[k + 2]);
      total += Math.hypot(pa - a, pb - b);
      n++;
    }
  }
  return total / n;
}, [x, y, r, a, b]);

async function waitUpdated(hints) {
  await until(`${hints} hints`, 60, async () => (await data("state")) === "done" && (await data("hints")) === String(hints));
  result.updates.push(Number(await data("update-ms")));
}

try {
  const started = Date.now();
  await tab.goto(url, { waitUntil: "load" });
  await until("the page to be ready", 120, async () => (await data("state")) === "ready");
  result.loadSeconds = (Date.now() - started) / 1000;
  await tab.locator(".hb-file").setInputFiles(photo);
  await until("the photo", 120, async () => (await data("state")) === "done");
  result.networkMs = Number(await data("network-ms"));
  const [W, H] = await tab.evaluate(() => { const c = document.querySelector(".hb-result"); return [c.width, c.height]; });
  // the click: the middle of the photo; the suggestion: the one farthest from the colour painted there now
  const [x, y] = [Math.floor(W / 2), Math.floor(H / 2)];
  await clickAt(x, y);
  const now = JSON.parse(await data("pick-now"));
  const found = JSON.parse(await data("suggestions"));
  const far = found.map((s, i) => [Math.hypot(s.a - now[0], s.b - now[1]), i]).sort((p, q) => q[0] - p[0])[0][1];
  const chosen = found[far];
  const radius = 12;
  result.point = [x, y];
  result.suggestions = found;
  result.chosen = chosen;
  result.before = await distance(x, y, radius, chosen.a, chosen.b);
  await tab.locator(".hb-swatch").nth(far).click();
  await waitUpdated(1);
  result.after = await distance(x, y, radius, chosen.a, chosen.b);
  result.radius = radius;
  await root.screenshot({ path: outPng.replace(/\.png$/, "-page.png") });
  // more updates for the timing: a second and a third hint, then remove one
  for (const [i, [hx, hy]] of [[Math.floor(W / 4), Math.floor(H / 4)], [Math.floor(3 * W / 4), Math.floor(3 * H / 4)]].entries()) {
    await clickAt(hx, hy);
    await tab.locator(".hb-swatch").first().click();
    await waitUpdated(i + 2);
  }
  await tab.locator(".hb-remove").first().click();
  await waitUpdated(2);
  result.listed = await tab.locator(".hb-hint-list li").count();
  result.downloadEnabled = await tab.locator(".hb-download").isEnabled();
  // parity: no hints but one of the colour HEX at a known point, through the page's "any colour" picker
  await tab.locator(".hb-clear").click();
  await waitUpdated(0);
  const [px, py] = [Math.floor(W / 3), Math.floor(H / 2)];
  await clickAt(px, py);
  await tab.locator(".hb-any").evaluate((input, v) => { input.value = v; input.dispatchEvent(new Event("change", { bubbles: true })); }, hexColour);
  await waitUpdated(1);
  result.parityPoint = [px, py];
  result.paritySide = Number(await tab.locator(".hb-side").inputValue());
  const png = await tab.evaluate(() => document.querySelector(".hb-result").toDataURL("image/png"));
  fs.writeFileSync(outPng, Buffer.from(png.split(",")[1], "base64"));
  // an example, as a reader's first click would be
  await tab.locator(".hb-example").first().click();
  await until("the example", 120, async () => (await data("state")) === "done" && (await data("hints")) === "0"
    && (await message()).includes("(validation photo"));
  const [W2, H2] = await tab.evaluate(() => { const c = document.querySelector(".hb-result"); return [c.width, c.height]; });
  await clickAt(Math.floor(W2 / 2), Math.floor(H2 / 2));
  await tab.locator(".hb-swatch").first().click();
  await waitUpdated(1);
  await root.screenshot({ path: outPng.replace(/\.png$/, "-example.png") });
} catch (e) {
  result.problems.push(String(e).split("\n")[0]);
}
console.log(JSON.stringify(result));
await browser.close();
process.exit(result.problems.length ? 1 : 0);
