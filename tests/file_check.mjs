// Chapter 9 opened from disk (file://), as the README's first link opens it: the page must say how to open it so
// that the colorizer works. Usage: node tests/file_check.mjs FILE_URL; prints one JSON line (state, message).
import { launch } from "./chromium.mjs";

const [url] = process.argv.slice(2);
const browser = await launch();
const tab = await browser.newPage();
const result = {};
try {
  await tab.goto(url, { waitUntil: "load" });
  const root = tab.locator(".cb-colorizer");
  for (const end = Date.now() + 60000; Date.now() < end; await tab.waitForTimeout(200)) {
    result.state = await root.getAttribute("data-state");
    if (["failed", "ready"].includes(result.state)) break;
  }
  result.message = (await tab.locator(".cb-message").innerText()).trim();
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
