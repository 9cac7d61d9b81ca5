// The one way the checks start Debian's Chromium through playwright-core (installed by `make browser` under
// build/node, named by NODE_TOOLS): headless, and with nothing that would reach off the machine.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.NODE_TOOLS}/`);
const { chromium } = require("playwright-core");

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
}
