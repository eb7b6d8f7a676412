// The editors' notices in the chat widget, in Debian's headless Chromium: the notice active
// now is the banner at the top of the chat and is put before an answer on its topic; the one
// that ended last week and the one that starts next week are nowhere (tests/it/shop_content.rs
// writes the three files around the real clock and starts the server).
// Usage: node tests/browser/notice.test.mjs http://127.0.0.1:PORT/ [SCREENSHOT_DIR]
import assert from "node:assert/strict";
import { args, launch, phone, Steps } from "./harness.mjs";

const { base, shots } = args("node notice.test.mjs URL [SCREENSHOT_DIR]");
const ACTIVE = "Parcels to Germany are delayed by two days this week";
const ENDED = "Our warehouse was closed last week";
const COMING = "Next week we move to a new warehouse";
const browser = await launch();
const steps = new Steps();
const step = (name, fn) => steps.step(name, fn);

try {
  const { page, errors } = await phone(browser);
  const banner = page.locator(".notices");

  await step("the active notice is the banner when the chat opens", async () => {
    const fetched = page.waitForResponse((r) => r.url().includes("/v1/notices"));
    await page.goto(base);
    await page.getByRole("button", { name: /Chat with us/ }).click();
    await page.getByRole("dialog").waitFor();
    await fetched;
    await banner.waitFor({ state: "visible" });
    const text = await banner.textContent();
    assert.ok(text.includes(ACTIVE), text);
    assert.equal(await banner.getAttribute("role"), "status");
    await page.screenshot({ path: `${shots}/notice-banner.png` });
  });

  await step("the ended and the coming notices are not shown", async () => {
    const text = await banner.textContent();
    assert.ok(!text.includes(ENDED), text);
    assert.ok(!text.includes(COMING), text);
  });

  await step("an answer on the notice's topic starts with it", async () => {
    const responded = page.waitForResponse((r) => r.url().endsWith("/v1/messages") && r.request().method() === "POST");
    const before = await page.locator(".msg.bot").count();
    const input = page.getByLabel("Your message");
    await input.fill("how long does delivery to Germany take?");
    await input.press("Enter");
    const reply = await (await responded).json();
    assert.equal(reply.outcome, "answer", JSON.stringify(reply));
    assert.ok(reply.text.startsWith(ACTIVE), JSON.stringify(reply));
    const bubble = page.locator(".msg.bot").nth(before);
    await bubble.waitFor();
    assert.ok((await bubble.textContent()).includes(ACTIVE));
    assert.ok(!reply.text.includes(ENDED) && !reply.text.includes(COMING), reply.text);
  });

  await step("an answer on another topic does not carry it", async () => {
    const responded = page.waitForResponse((r) => r.url().endsWith("/v1/messages") && r.request().method() === "POST");
    const input = page.getByLabel("Your message");
    await input.fill("can I pay with paypal?");
    await input.press("Enter");
    const reply = await (await responded).json();
    assert.ok(!reply.text.includes(ACTIVE), JSON.stringify(reply));
  });

  await step("no script errors", async () => {
    assert.deepEqual(errors, []);
  });
} catch {
  // The failing step has printed itself.
} finally {
  await browser.close();
  steps.finish();
}
