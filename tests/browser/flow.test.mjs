// A flow clicked through in the chat widget in Debian's headless Chromium, as a shopper
// would: "where is my order?" starts the order-status flow, its choice slot shows quick-reply
// buttons, a click answers it, a wrong order number is re-asked, a right one is looked up in
// the shop's API (a fake one, run by tests/it/flows.rs) and the answer rendered.
// Usage: node tests/browser/flow.test.mjs http://127.0.0.1:PORT/ [SCREENSHOT_DIR]
import assert from "node:assert/strict";
import { args, launch, phone, Steps } from "./harness.mjs";

const { base, shots } = args("node flow.test.mjs URL [SCREENSHOT_DIR]");
const browser = await launch();
const steps = new Steps();
const step = (name, fn) => steps.step(name, fn);

try {
  const { page, errors } = await phone(browser);

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
steps.finish();
