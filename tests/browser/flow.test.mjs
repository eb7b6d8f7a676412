// A flow clicked through in the chat widget in Debian's headless Chromium, as a shopper
// would: "where is my order?" starts the order-status flow, its choice slot shows quick-reply
// buttons, a click answers it, a wrong order number is re-asked, a right one is looked up in
// the shop's API (a fake one, run by tests/it/flows.rs) and the answer rendered.
// Usage: node tests/browser/flow.test.mjs http://127.0.0.1:PORT/ [SCREENSHOT_DIR]
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.argv[2];
const shots = process.argv[3] || "target/browser";
if (!base) {
  console.error("usage: node flow.test.mjs URL [SCREENSHOT_DIR]");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
let failed = 0;
let passed = 0;
async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(e && e.stack || e).split("\n").join("\n  ")}`);
    throw e;
  }
}

try {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: "en-US" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  // The bot's next bubble and the reply it came from, after `act` sends a message.
  const replyTo = async (act) => {
    const responded = page.waitForResponse((r) => r.url().endsWith("/v1/messages") && r.request().method() === "POST");
    const before = await page.locator(".msg.bot").count();
    await act();
    const reply = await (await responded).json();
    await page.locator(".msg.bot").nth(before).waitFor();
    return { reply, bubble: page.locator(".msg.bot").nth(before) };
  };
  const type = (text) => replyTo(async () => {
    const input = page.getByLabel("Your message");
    await input.fill(text);
    await input.press("Enter");
  });

  await step("the widget opens", async () => {
    await page.goto(base);
    await page.getByRole("button", { name: /Chat with us/ }).click();
    await page.getByRole("dialog").waitFor();
  });

  let buttons;
  await step("\"where is my order?\" starts the flow and offers quick replies", async () => {
    const { reply, bubble } = await type("where is my order?");
    assert.ok(reply.text.includes("Where did you order?"), JSON.stringify(reply));
    assert.ok((await bubble.textContent()).includes("Where did you order?"));
    buttons = bubble.getByRole("group", { name: /Where did you order/ }).getByRole("button");
    assert.equal(await buttons.count(), 2);
    assert.deepEqual(await buttons.allTextContents(), ["Web shop", "In a store"]);
    await page.screenshot({ path: `${shots}/flow-quick-replies.png` });
  });

  await step("clicking a quick reply answers the slot", async () => {
    const { reply, bubble } = await replyTo(() => buttons.nth(1).click());
    assert.ok((await page.locator(".msg.user").last().textContent()).includes("In a store"),
      "the button's label is sent as the shopper's message");
    assert.ok(reply.text.includes("What's your order number?"), JSON.stringify(reply));
    assert.ok((await bubble.textContent()).includes("What's your order number?"));
  });

  await step("a wrong order number is re-asked", async () => {
    const { reply } = await type("it's 12");
    assert.ok(!reply.text.includes("Order 12"), JSON.stringify(reply));
    assert.ok(reply.text.includes("order number"), JSON.stringify(reply));
  });

  await step("a right one is looked up and the answer rendered", async () => {
    const { reply, bubble } = await type("10423");
    assert.ok(reply.text.includes("Order 10423 (store): shipped."), JSON.stringify(reply));
    assert.ok((await bubble.textContent()).includes("Order 10423 (store): shipped."));
    await page.screenshot({ path: `${shots}/flow-answered.png` });
  });

  await step("no script errors on the page", async () => {
    assert.deepEqual(errors, []);
  });
} catch (e) {
  // Already reported by step().
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
