// Chapter 9's in-browser colorizer, used as a reader would: open the page, give it a photo, read the picture.
// Usage: node tests/colorize_check.mjs PAGE_URL PHOTO NOT_AN_IMAGE HUGE_PHOTO OUT_PNG
// Prints one JSON line: the page's states and messages, its timings, whether moving T changed the picture;
// the colorized photo is written to OUT_PNG for the test to compare with `colorlib colorize`, and the colorizer
// with one of the page's own examples colorized to OUT-example.png.
import fs from "node:fs";
import { launch } from "./chromium.mjs";

const [url, photo, notImage, huge, outPng] = process.argv.slice(2);
const origin = new URL(url).origin;
const browser = await launch();
const tab = await browser.newPage({ viewport: { width: 1300, height: 900 } });
const result = { problems: [], offsite: [] };
tab.on("request", (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) result.offsite.push(r.url()); });
tab.on("pageerror", (e) => result.problems.push(`page error: ${e}`));
const root = tab.locator(".cb-colorizer");
const state = () => root.getAttribute("data-state");
const message = async () => (await tab.locator(".cb-message").innerText()).trim();

async function waitFor(states, seconds) {
  for (const end = Date.now() + seconds * 1000; Date.now() < end; await tab.waitForTimeout(200)) {
    if (states.includes(await state())) return;
  }
  throw new Error(`state ${await state()} after ${seconds} s (message: ${await message()})`);
}

async function colorize(file) {
  await tab.locator(".cb-file").setInputFiles(file);
  await tab.waitForTimeout(300);
  await waitFor(["done", "ready"], 120);
}

const picture = () => tab.evaluate(() => document.querySelector(".cb-result").toDataURL("image/png"));
try {
  const started = Date.now();
  await tab.goto(url, { waitUntil: "load" });
  await waitFor(["ready"], 120);
  result.loadSeconds = (Date.now() - started) / 1000;
  const before = Date.now();
  await colorize(photo);
  result.photoSeconds = (Date.now() - before) / 1000;
  result.state = await state();
  result.message = await message();
  result.networkMs = Number(await root.getAttribute("data-network-ms"));
  result.decodeMs = Number(await root.getAttribute("data-decode-ms"));
  const first = await picture();
  fs.writeFileSync(outPng, Buffer.from(first.split(",")[1], "base64"));
  // move T: the picture must change, without running the network again
  await tab.locator(".cb-temperature").evaluate((s) => { s.value = "0.9"; s.dispatchEvent(new Event("input", { bubbles: true })); });
  await tab.waitForTimeout(500);
  await waitFor(["done"], 60);
  result.temperature = await root.getAttribute("data-temperature");
  result.changedWithT = (await picture()) !== first;
  result.downloadEnabled = await tab.locator(".cb-download").isEnabled();
  await tab.screenshot({ path: outPng.replace(/\.png$/, "-page.png"), fullPage: true });
  // a file that is not an image: one clear message, and the page stays usable
  await colorize(notImage);
  result.notImageMessage = await message();
  // a huge photo: downscaled, and the page says so
  await colorize(huge);
  result.hugeMessage = await message();
  // one of the book's own examples, as a reader's first click would be: the page as it then looks
  result.examples = await tab.locator(".cb-example").count();
  const example = tab.locator(".cb-example").first();
  const exampleName = await example.getAttribute("data-name");
  await example.click();
  for (const end = Date.now() + 120000; !(await message()).startsWith(`${exampleName}:`); await tab.waitForTimeout(200)) {
    if (Date.now() > end) throw new Error(`the example ${exampleName} was not colorized (message: ${await message()})`);
  }
  await waitFor(["done"], 60);
  await root.screenshot({ path: outPng.replace(/\.png$/, "-example.png") });
} catch (e) {
  result.problems.push(String(e).split("\n")[0]);
}
console.log(JSON.stringify(result));
await browser.close();
process.exit(result.problems.length ? 1 : 0);
