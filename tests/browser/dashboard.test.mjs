// The admin dashboard (/admin/) in Debian's headless Chromium, as a shop manager would use
// it: the page asks for the admin token, refuses a wrong one with a message and the form
// again, takes the right one, then shows the KPIs of the window in the URL. Reads the numbers
// the page shows and compares them with the expected ones (passed by tests/it/dashboard.rs),
// checks the charts are drawn (Chart.js instances on canvases of non-zero size), the gaps
// section, the phone layout (no horizontal scroll at 390 px) and that nothing broke the
// Content-Security-Policy. Screenshots: dashboard-desktop.png, dashboard-phone.png (whole page) and
// dashboard-phone-top.png (the first screen).
// Usage: node tests/browser/dashboard.test.mjs http://127.0.0.1:PORT/ SCREENSHOT_DIR TOKEN PATH EXPECTED_JSON
import assert from "node:assert/strict";
import { args, launch, Steps } from "./harness.mjs";

const { base, shots, rest } = args("node dashboard.test.mjs URL SCREENSHOT_DIR TOKEN PATH EXPECTED_JSON");
const [token, path, expectedJson] = rest;
const expected = JSON.parse(expectedJson);
const url = new URL(path, base).toString();
const browser = await launch();
const steps = new Steps();
const step = (name, fn) => steps.step(name, fn);

// A page of the given size whose waits last minutes, with its script errors and console
// errors (the 401s of the sign-in are expected: Chromium logs them as failed loads).
async function open(width, height) {
  const context = await browser.newContext({ viewport: { width, height }, locale: "en-US" });
  const page = await context.newPage();
  page.setDefaultTimeout(180_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 40[14]/.test(m.text())) errors.push(m.text());
  });
  // Every failed load, by URL (the console line does not say which); 401s are the sign-in's.
  page.on("response", (r) => {
    if (r.status() >= 400 && r.status() !== 401) errors.push(`${r.status()} ${r.url()}`);
  });
  return { page, errors };
}

async function signIn(page, value) {
  await page.getByLabel("Admin token").fill(value);
  await page.getByRole("button", { name: "Sign in" }).click();
}

const loaded = (page) => page.locator("body[data-loaded=true]").waitFor();

async function kpis(page) {
  return page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll("[data-kpi]")].map((e) => [e.dataset.kpi, e.textContent])));
}

async function noHorizontalOverflow(page) {
  const { scroll, client, wide } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    wide: [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1
        && !e.closest(".scroll"))
      .slice(0, 5).map((e) => `${e.tagName}#${e.id}.${e.className}`),
  }));
  assert.ok(scroll <= client, `the page scrolls sideways: ${scroll} > ${client} px; too wide: ${wide}`);
  assert.deepEqual(wide, [], "elements wider than the screen");
}

try {
  const { page, errors } = await open(1280, 900);

  await step("without a token the page asks for one", async () => {
    const refused = page.waitForResponse((r) => r.url().includes("/admin/api/report"));
    await page.goto(url);
    assert.equal((await refused).status(), 401);
    await page.getByLabel("Admin token").waitFor();
    assert.equal(await page.locator("#dashboard").isVisible(), false);
    assert.equal(await page.locator("#login-message").isVisible(), false);
  });

  await step("a wrong token is refused with a message, and the form comes back", async () => {
    const refused = page.waitForResponse((r) => r.url().includes("/admin/api/report"));
    await signIn(page, `${token}-wrong`);
    assert.equal((await refused).status(), 401);
    const message = page.locator("#login-message");
    await message.waitFor();
    assert.match(await message.textContent(), /not the admin token/);
    assert.equal(await page.getByLabel("Admin token").inputValue(), "");
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  });

  await step("the right token shows the dashboard, sent as a bearer header", async () => {
    const accepted = page.waitForRequest((r) => r.url().includes("/admin/api/report"));
    await signIn(page, token);
    assert.equal((await accepted).headers().authorization, `Bearer ${token}`);
    await loaded(page);
    assert.equal(await page.locator("#login").isVisible(), false);
    assert.equal(await page.locator("#since").inputValue(), "2026-01-01");
    assert.equal(await page.locator("#until").inputValue(), "2026-04-11");
  });

  await step("the key figures are exactly the expected ones", async () => {
    const shown = await kpis(page);
    for (const [k, v] of Object.entries(expected.kpis)) assert.equal(shown[k], v, `${k}: ${shown[k]} shown, ${v} expected`);
  });

  await step("escalations by reason and by category × priority", async () => {
    const reasons = await page.locator("#reasons tbody tr").evaluateAll((rows) =>
      Object.fromEntries(rows.map((r) => [r.dataset.reason, r.cells[1].textContent])));
    assert.deepEqual(reasons, expected.reasons);
    const categories = await page.locator("#categories tbody tr").evaluateAll((rows) =>
      Object.fromEntries(rows.map((r) => [`${r.dataset.category}/${r.dataset.priority}`, r.cells[2].textContent])));
    assert.deepEqual(categories, expected.categories);
    assert.equal(await page.locator("#rows tbody tr").count(), expected.rows);
  });

  await step("the charts are drawn by Chart.js", async () => {
    const charts = await page.evaluate(() => [...document.querySelectorAll("canvas")].map((c) => {
      const chart = window.Chart && window.Chart.getChart(c);
      const points = chart ? chart.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0;
      return { id: c.id, width: c.width, height: c.height, chart: !!chart, points };
    }));
    assert.equal(charts.length, 8, JSON.stringify(charts));
    for (const c of charts) {
      assert.ok(c.chart, `${c.id}: no Chart instance`);
      assert.ok(c.width > 0 && c.height > 0, `${c.id}: ${c.width}×${c.height}`);
      assert.ok(c.points > 0, `${c.id}: no data`);
    }
    // Something was painted: the conversations chart is not blank.
    const painted = await page.evaluate(() => {
      const c = document.getElementById("chart-conversations");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    assert.ok(painted > 1000, `only ${painted} painted pixels`);
  });

  await step("the content-gap report is on it", async () => {
    const groups = page.locator("#gap-groups li.gap");
    assert.equal(await groups.count(), expected.gaps.groups);
    const first = groups.first();
    assert.equal(await first.getAttribute("data-language"), expected.gaps.first_language);
    assert.equal(await first.locator(".shoppers").textContent(),
      `${Number(expected.gaps.first_shoppers).toLocaleString("en-US")} shoppers`);
    assert.match(await first.locator(".questions").textContent(), /“.+” ×/);
    assert.match(await first.locator(".kind").textContent(), /^missing (article|phrasing)$/);
    assert.match(await page.locator("#gaps-summary").textContent(), /unanswered messages in the window/);
    await page.screenshot({ path: `${shots}/dashboard-desktop.png`, fullPage: true });
  });

  await step("another grouping redraws the charts", async () => {
    await page.evaluate(() => { document.body.dataset.loaded = "false"; });
    await page.locator("#by").selectOption("week");
    await page.getByRole("button", { name: "Show" }).click();
    await loaded(page);
    assert.match(page.url(), /by=week/);
    assert.equal(await page.locator("#rows tbody tr").first().locator("th").textContent(), "2026-W01");
    assert.equal((await kpis(page)).conversations, expected.kpis.conversations);
  });

  await step("a reload keeps the token in this tab", async () => {
    await page.evaluate(() => { document.body.dataset.loaded = "false"; });
    await page.reload();
    await loaded(page);
    assert.equal(await page.locator("#login").isVisible(), false);
  });

  await step("no script errors and no Content-Security-Policy violation", async () => {
    assert.deepEqual(errors, []);
  });

  const phone = await open(390, 844);
  await step("on a 390 px phone: signed in, the same figures, no sideways scroll", async () => {
    await phone.page.goto(url);
    await signIn(phone.page, token);
    await loaded(phone.page);
    assert.equal((await kpis(phone.page)).deflection_rate, expected.kpis.deflection_rate);
    await noHorizontalOverflow(phone.page);
    const canvas = await phone.page.locator("#chart-rates").boundingBox();
    assert.ok(canvas.width > 200 && canvas.width <= 390, `chart ${canvas.width} px wide`);
    await phone.page.screenshot({ path: `${shots}/dashboard-phone.png`, fullPage: true });
    await phone.page.screenshot({ path: `${shots}/dashboard-phone-top.png` });
    assert.deepEqual(phone.errors, []);
  });
} catch (e) {
  // Already reported by step().
} finally {
  await browser.close();
}
steps.finish();
