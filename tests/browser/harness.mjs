// What the browser tests share: Debian's headless Chromium launched the way this machine
// needs it, a phone-sized page whose waits poll for minutes (a loaded machine is slow, never
// wrong), and TAP-like steps that stop at the first failure.
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

// The base URL and screenshot folder from the command line (more arguments after them are
// the script's own); exits with the usage line when the URL is missing.
export function args(usage) {
  const [base, shots = "target/browser", ...rest] = process.argv.slice(2);
  if (!base) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  mkdirSync(shots, { recursive: true });
  return { base, shots, rest };
}

// Headless Chromium with the flags this machine needs (no sandbox as root, no background
// networking: the network is closed).
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

// A 360 px phone page (the narrowest screen the widget supports) whose waits last minutes,
// and the script errors it collects (`consoleErrors`: console.error too).
export async function phone(browser, { consoleErrors = true } = {}) {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: "en-US" });
  const page = await context.newPage();
  page.setDefaultTimeout(120_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  if (consoleErrors) page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  return { page, errors };
}

// Steps printed as `ok - …` / `not ok - …`; a failing step throws, so the script stops there.
export class Steps {
  passed = 0;
  failed = 0;

  async step(name, fn) {
    try {
      await fn();
      this.passed++;
      console.log(`ok - ${name}`);
    } catch (e) {
      this.failed++;
      console.log(`not ok - ${name}\n  ${String(e && e.stack || e).split("\n").join("\n  ")}`);
      throw e;
    }
  }

  /// Prints the count and exits: 1 when a step failed.
  finish() {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    process.exit(this.failed ? 1 : 0);
  }
}
