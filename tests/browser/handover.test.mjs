// The live hand-over in Debian's headless Chromium, with a fake helpdesk (issue 13): the
// shopper escalates in the widget, the follow-up reaches the helpdesk as a signed event, the
// agent's reply posted to the inbound API appears in the widget and survives a reload, and
// "resolved" brings the CSAT prompt, which records.
// Usage: node tests/browser/handover.test.mjs BASE_URL SCREENSHOT_DIR HELPDESK_PORT WEBHOOK_SECRET INBOUND_TOKEN
// Run by tests/it/browser.rs against a real server whose webhook points at HELPDESK_PORT.
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { args, launch, phone, Steps } from "./harness.mjs";

const usage = "node handover.test.mjs URL SHOTS HELPDESK_PORT WEBHOOK_SECRET INBOUND_TOKEN";
const { base, shots, rest: [port, secret, token] } = args(usage);
if (!port || !secret || !token) {
  console.error(`usage: ${usage}`);
  process.exit(2);
}

// ---- the fake helpdesk: verifies every delivery the Standard Webhooks way ----
const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
const deliveries = [];
let badSignatures = 0;
const helpdesk = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const id = req.headers["webhook-id"];
    const ts = req.headers["webhook-timestamp"];
    const expected = createHmac("sha256", key).update(`${id}.${ts}.`).update(body).digest();
    const ok = String(req.headers["webhook-signature"] || "").split(" ").some((s) => {
      const given = Buffer.from(s.replace(/^v1,/, ""), "base64");
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (!ok) { badSignatures++; res.writeHead(401).end(); return; }
    if (!deliveries.some((d) => d.id === id)) deliveries.push({ id, body: JSON.parse(body) });
    res.writeHead(200).end();
  });
});
await new Promise((resolve) => helpdesk.listen(Number(port), "127.0.0.1", resolve));

async function waitFor(what, check, ms = 120_000) {
  const until = Date.now() + ms;
  for (;;) {
    const found = check();
    if (found) return found;
    if (Date.now() > until) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function agent(conversation, event) {
  const r = await fetch(new URL(`/helpdesk/v1/conversations/${conversation}/events`, base), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(event),
  });
  assert.equal(r.status, 200, `${JSON.stringify(event)}: ${await r.text()}`);
}

const browser = await launch();
const steps = new Steps();
const step = (name, fn) => steps.step(name, fn);

try {
  const { page, errors } = await phone(browser, { consoleErrors: false });

  const say = async (text) => {
    const responded = page.waitForResponse((r) => r.url().endsWith("/v1/messages") && r.request().method() === "POST");
    const input = page.getByLabel("Your message");
    await input.fill(text);
    await input.press("Enter");
    return (await responded).json();
  };

  let conversation, ticket;
  await step("the shopper asks for a person and the helpdesk gets the ticket", async () => {
    await page.goto(base);
    await page.getByRole("button", { name: /Chat with us/ }).click();
    // No business hours configured: always open.
    await page.getByText("Chat open now: a person can join").waitFor();
    const reply = await say("I want to talk to a person");
    assert.equal(reply.handoff && reply.handoff.stage, "handed_over", JSON.stringify(reply));
    assert.ok(reply.conversation_token, "the first reply carries the conversation's token");
    conversation = reply.conversation_id;
    ticket = reply.handoff.ticket_id;
    await waitFor("the ticket", () => deliveries.find((d) => d.id === ticket));
  });

  await step("the follow-up reaches the helpdesk as a signed conversation.message", async () => {
    await say("my parcel NH-20431 never arrived");
    const event = await waitFor("the follow-up event", () =>
      deliveries.find((d) => d.body.type === "conversation.message"));
    assert.equal(event.body.ticket_id, ticket);
    assert.equal(event.body.conversation_id, conversation);
    assert.equal(event.body.text, "my parcel NH-20431 never arrived");
    assert.ok(event.id.startsWith("evt_"), event.id);
    assert.equal(badSignatures, 0);
  });

  await step("the agent joins, types and replies: the widget shows it live", async () => {
    await agent(conversation, { type: "joined", agent: "Sam" });
    await page.getByText("Sam joined the conversation").waitFor();
    await agent(conversation, { type: "typing", agent: "Sam" });
    await page.getByText("Sam is typing…").waitFor();
    const posted = Date.now();
    await agent(conversation, { type: "message", agent: "Sam", text: "Sorry about that! I am sending a new one today." });
    const bubble = page.locator(".msg.agent").last();
    await bubble.waitFor();
    const took = Date.now() - posted;
    console.log(`# the agent's reply reached the widget ${took} ms after the POST answered`);
    assert.ok((await bubble.textContent()).includes("Sorry about that!"));
    assert.ok((await bubble.textContent()).includes("Sam"), "the agent's name is shown");
    await page.screenshot({ path: `${shots}/handover-agent.png` });
  });

  await step("while the agent is there the bot stays silent", async () => {
    const bots = await page.locator(".msg.bot").count();
    const reply = await say("thank you!");
    assert.equal(reply.text, "", JSON.stringify(reply));
    await waitFor("the second follow-up event", () =>
      deliveries.filter((d) => d.body.type === "conversation.message").length === 2);
    assert.equal(await page.locator(".msg.bot").count(), bots);
  });

  await step("a reload keeps the agent's reply", async () => {
    await page.reload();
    const bubble = page.locator(".msg.agent").last();
    await bubble.waitFor();
    assert.ok((await bubble.textContent()).includes("Sorry about that!"));
    // The server's history has it too, for the conversation's own token only.
    const token = await page.evaluate(() =>
      JSON.parse(localStorage.getItem(Object.keys(localStorage).find((k) => k.startsWith("concierge:")))).token);
    const history = await (await fetch(new URL(`/v1/conversations/${conversation}/messages`, base), {
      headers: { authorization: `Bearer ${token}` },
    })).json();
    assert.ok(history.messages.some((m) => m.role === "agent" && m.agent === "Sam"), JSON.stringify(history));
  });

  await step("\"resolved\" hands back to the bot and the CSAT rating records", async () => {
    await agent(conversation, { type: "resolved", agent: "Sam" });
    const csat = page.locator(".csat");
    await csat.waitFor();
    assert.ok((await csat.textContent()).includes("How did Sam help you?"));
    const rated = page.waitForResponse((r) => r.url().endsWith("/rating"));
    await csat.getByRole("button", { name: "4 of 5" }).click();
    assert.equal((await rated).status(), 200);
    await page.getByText("Thanks for your rating!").waitFor();
    const token = await page.evaluate(() =>
      JSON.parse(localStorage.getItem(Object.keys(localStorage).find((k) => k.startsWith("concierge:")))).token);
    const history = await (await fetch(new URL(`/v1/conversations/${conversation}/messages`, base), {
      headers: { authorization: `Bearer ${token}` },
    })).json();
    assert.equal(history.rating_requested, false, "the rating is recorded");
    assert.equal(history.handoff, undefined, "the bot has the conversation again");
    const reply = await say("how do I return an item?");
    assert.equal(reply.outcome, "answer", JSON.stringify(reply));
    assert.ok(reply.text.length > 0);
    await page.screenshot({ path: `${shots}/handover-csat.png` });
  });

  await step("no script errors on the page", async () => {
    assert.deepEqual(errors, []);
  });
} catch (e) {
  // Already reported by step().
} finally {
  await browser.close();
  helpdesk.close();
}
steps.finish();
