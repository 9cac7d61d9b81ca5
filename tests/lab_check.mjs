// Use a chapter live in JupyterLab, as a reader would: open it, wait until its kernel is connected and idle,
// run all cells once, move the λ slider, and check that the figure the slider drives changed.
// Usage: node tests/lab_check.mjs NOTEBOOK_URL SCREENSHOT
// Prints one JSON line; exits non-zero on any problem. Nothing may be fetched from off the machine.
//
// Why it waits for the status bar: the notebook's execution indicator reads "idle" from its first paint,
// before the notebook has a session; a Run All sent then finds no kernel and opens "Select Kernel", one
// sent while the session starts leaves cells unexecuted. The status bar's kernel item names the kernel and
// reads "Idle" only once the kernel is connected and has answered.
import { launch } from "./chromium.mjs";

const [url, screenshot] = process.argv.slice(2);
const KERNEL = process.env.LAB_KERNEL || "Python (colorbook)";
// the slider to move (its label, exactly) and the value to type into it: chapter 3's λ by default
const SLIDER = process.env.LAB_SLIDER || "λ";
const VALUE = process.env.LAB_VALUE || "0.05";
const origin = new URL(url).origin;
const browser = await launch();
const tab = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const offsite = [];
tab.on("request", (r) => {
  const u = r.url();
  if (!u.startsWith(origin) && !u.startsWith("data:") && !u.startsWith("blob:")) offsite.push(u);
});
const result = { problems: [], timings: {} };
const t0 = Date.now();
const mark = (name) => { result.timings[name] = (Date.now() - t0) / 1000; };

// A modal dialog (Select Kernel, Kernel Restarting, an error) means the check raced or the kernel broke:
// fail at once with the dialog's own words, never click past it.
async function failOnDialog() {
  const text = await tab.evaluate(() => {
    const dialog = document.querySelector(".jp-Dialog");
    return dialog ? dialog.innerText.replace(/\s+/g, " ").trim() : null;
  });
  if (text !== null) throw new Error(`a dialog is open: "${text.slice(0, 200)}"`);
}

// The status bar's kernel item: "<kernel name> | <status>".
async function kernelStatus() {
  return tab.evaluate(() => {
    const bar = document.querySelector("#jp-main-statusbar");
    return bar ? bar.innerText.replace(/\s+/g, " ") : "";
  });
}

async function until(what, seconds, test) {
  for (const end = Date.now() + seconds * 1000; Date.now() < end; await tab.waitForTimeout(500)) {
    await failOnDialog();
    if (await test()) return;
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what} (status bar: "${(await kernelStatus()).slice(0, 120)}")`);
}

try {
  await tab.goto(url, { waitUntil: "load" });
  await tab.locator(".jp-Notebook").first().waitFor({ timeout: 120000 });
  mark("notebook_shown");
  const ready = `${KERNEL} | Idle`;
  await until(`"${ready}" in the status bar`, 180, async () => (await kernelStatus()).includes(ready));
  mark("kernel_idle");
  // Run > Run All Cells, once.
  await tab.locator(".lm-MenuBar-itemLabel", { hasText: /^Run$/ }).click();
  await tab.locator(".lm-Menu-itemLabel", { hasText: /^Run All Cells$/ }).click();
  await until("every code cell to have run", 600, () => tab.evaluate(() => {
    const prompts = [...document.querySelectorAll(".jp-CodeCell .jp-InputArea-prompt")].map((p) => p.textContent);
    return prompts.length > 0 && prompts.every((p) => /\[\d+\]/.test(p));
  }));
  mark("all_cells_ran");
  result.cells = await tab.locator(".jp-CodeCell").count();
  result.kernel = (await tab.locator(".jp-Toolbar-kernelName").first().innerText()).trim();
  result.errors = await tab.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", { hasText: "Traceback" }).count();
  // The slider and the picture it drives (one ipywidgets VBox).
  const exact = new RegExp(`^${SLIDER.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  const label = tab.locator(".widget-label", { hasText: exact }).first();
  const slider = tab.locator(".widget-slider", { has: label }).first();
  await slider.scrollIntoViewIfNeeded();
  const box = tab.locator(".widget-vbox", { has: slider }).first();
  const picture = box.locator("img.widget-image").first();
  await picture.waitFor({ timeout: 60000 });
  const before = await picture.screenshot();
  const readout = slider.locator(".widget-readout").first();
  result.lambdaBefore = (await readout.innerText()).trim();
  await readout.click();
  await tab.keyboard.press("Control+A");
  await tab.keyboard.type(VALUE);
  await tab.keyboard.press("Enter");
  let changed = false;
  for (let i = 0; i < 60 && !changed; i++) {
    await tab.waitForTimeout(500);
    changed = !(await picture.screenshot()).equals(before);
  }
  mark("slider_moved");
  result.lambdaAfter = (await readout.innerText()).trim();
  result.figureChanged = changed;
  await failOnDialog();
  await tab.screenshot({ path: screenshot, fullPage: false });
  if (!changed) result.problems.push(`the figure did not change when ${SLIDER} moved`);
  if (result.lambdaAfter === result.lambdaBefore) result.problems.push(`the ${SLIDER} slider did not move`);
  if (result.errors) result.problems.push(`${result.errors} cells raised`);
} catch (e) {
  result.problems.push(String(e).split("\n")[0]);
  await tab.screenshot({ path: screenshot, fullPage: false }).catch(() => {});
}
if (offsite.length) result.problems.push(`requests off the machine: ${offsite.slice(0, 3).join(", ")}`);
console.log(JSON.stringify(result));
await browser.close();
process.exit(result.problems.length ? 1 : 0);
