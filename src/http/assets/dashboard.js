// The admin dashboard (served at /admin/): reads /admin/api/report and /admin/api/gaps and
// draws them with Chart.js (vendored, see scripts/vendor-chartjs). The page holds no data.
// With `admin.token` set, it asks for the token, keeps it in this tab's sessionStorage and
// sends it as `Authorization: Bearer` on every API call; without one (loopback only), it
// calls the API directly. Text goes in with textContent only.
"use strict";
(() => {
  const TOKEN_KEY = "concierge.admin.token";
  const DAY_MS = 86_400_000;
  const $ = (id) => document.getElementById(id);
  const count = new Intl.NumberFormat("en-US");
  const charts = {};
  window.conciergeCharts = charts;

  // ---- formatting -------------------------------------------------------------------------
  const dash = "–";
  const num = (v) => (v == null ? dash : count.format(v));
  const pct = (r) => (r == null ? dash : `${(r * 100).toFixed(1)}%`);
  const avg = (a) => (a == null ? dash : a.toFixed(2));
  const duration = (ms) => {
    if (ms == null) return dash;
    if (ms < 10_000) return `${count.format(ms)} ms`;
    if (ms < 600_000) return `${count.format(Math.round(ms / 100) / 10)} s`;
    if (ms < 7_200_000) return `${count.format(Math.round(ms / 6_000) / 10)} min`;
    return `${count.format(Math.round(ms / 360_000) / 10)} h`;
  };
  const isoDate = (ms) => new Date(ms).toISOString().slice(0, 10);
  const utc = (ms) => `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  const text = (el, s) => { el.textContent = s; return el; };
  const make = (tag, cls, s) => {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    if (s != null) el.textContent = s;
    return el;
  };

  // ---- the token and the API --------------------------------------------------------------
  const token = () => sessionStorage.getItem(TOKEN_KEY);

  class Unauthorized extends Error {}

  async function api(path) {
    const headers = { Accept: "application/json" };
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    const r = await fetch(path, { headers, cache: "no-store", credentials: "omit" });
    let body = null;
    try { body = await r.json(); } catch { /* not JSON: reported below */ }
    if (r.status === 401) throw new Unauthorized(body?.error?.message || "unauthorized");
    if (!r.ok) throw new Error(body?.error?.message || `${r.status} ${r.statusText}`);
    return body;
  }

  function showLogin(message) {
    $("dashboard").hidden = true;
    $("sign-out").hidden = true;
    status(null);
    $("login").hidden = false;
    const m = $("login-message");
    m.hidden = !message;
    text(m, message || "");
    $("token").value = "";
    $("token").focus();
  }

  function status(message, isError) {
    const s = $("status");
    s.hidden = !message;
    s.classList.toggle("error", !!isError);
    text(s, message || "");
  }

  // ---- the window -------------------------------------------------------------------------
  function initialWindow() {
    const q = new URLSearchParams(location.search);
    const untilDefault = isoDate(Date.now() + DAY_MS);
    const until = q.get("until") || untilDefault;
    const since = q.get("since") || isoDate(Date.parse(until) - 30 * DAY_MS);
    $("since").value = since;
    $("until").value = until;
    const by = q.get("by");
    if (["day", "week", "language", "channel"].includes(by)) $("by").value = by;
  }

  function currentQuery() {
    return new URLSearchParams({ since: $("since").value, until: $("until").value, by: $("by").value });
  }

  // ---- rendering --------------------------------------------------------------------------
  function setKpi(name, value) {
    for (const el of document.querySelectorAll(`[data-kpi="${name}"]`)) text(el, value);
  }

  function renderTotals(t) {
    setKpi("conversations", num(t.conversations));
    setKpi("messages", num(t.messages));
    setKpi("deflection_rate", pct(t.deflection_rate));
    setKpi("deflected", num(t.deflected));
    setKpi("escalation_rate", pct(t.escalation_rate));
    setKpi("escalated", num(t.escalated));
    setKpi("first_contact_resolution_rate", pct(t.first_contact_resolution_rate));
    setKpi("first_contact_resolved", num(t.first_contact_resolved));
    setKpi("csat_average", avg(t.csat.average));
    setKpi("csat_count", num(t.csat.count));
    setKpi("thumbs_up_ratio", pct(t.thumbs_up_ratio));
    setKpi("thumbs_up", num(t.thumbs_up));
    setKpi("thumbs_down", num(t.thumbs_down));
    setKpi("response_p50", duration(t.response_ms.p50));
    setKpi("response_p95", duration(t.response_ms.p95));
    setKpi("delivery_p50", duration(t.escalation_to_delivery_ms.p50));
    setKpi("delivery_p95", duration(t.escalation_to_delivery_ms.p95));
    setKpi("human_p50", duration(t.first_human_response_ms.p50));
    setKpi("human_p95", duration(t.first_human_response_ms.p95));
    setKpi("tickets_pending", num(t.tickets_pending));
    setKpi("tickets_dead", num(t.tickets_dead));

    const reasons = $("reasons").tBodies[0];
    reasons.replaceChildren();
    for (const [reason, n] of Object.entries(t.escalated_by_reason)) {
      const tr = make("tr");
      tr.dataset.reason = reason;
      tr.append(make("td", null, reason.replaceAll("_", " ")), make("td", "n", num(n)));
      reasons.append(tr);
    }
    const cats = $("categories").tBodies[0];
    cats.replaceChildren();
    for (const c of t.escalated_by_category_priority) {
      const tr = make("tr");
      tr.dataset.category = c.category;
      tr.dataset.priority = c.priority;
      tr.append(make("td", null, c.category), make("td", null, c.priority), make("td", "n", num(c.count)));
      cats.append(tr);
    }
  }

  function renderRows(rows) {
    const body = $("rows").tBodies[0];
    body.replaceChildren();
    for (const r of rows) {
      const tr = make("tr");
      tr.append(
        make("th", null, r.key),
        make("td", "n", num(r.conversations)),
        make("td", "n", pct(r.deflection_rate)),
        make("td", "n", pct(r.escalation_rate)),
        make("td", "n", pct(r.first_contact_resolution_rate)),
        make("td", "n", avg(r.csat.average)),
        make("td", "n", duration(r.response_ms.p50)),
      );
      tr.querySelector("th").scope = "row";
      body.append(tr);
    }
  }

  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options = Object.assign({
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
    }, config.options || {});
    charts[id] = new Chart($(id), config);
  }

  function series(label, data, i, extra) {
    const color = COLORS[i % COLORS.length];
    return Object.assign({ label, data, borderColor: color, backgroundColor: color, pointRadius: 0, borderWidth: 2, spanGaps: true }, extra || {});
  }

  function renderCharts(report) {
    const rows = report.rows;
    const keys = rows.map((r) => r.key);
    const timeline = report.by === "day" || report.by === "week";
    const lineOrBar = timeline ? "line" : "bar";
    const perc = (v) => (v == null ? null : Math.round(v * 1000) / 10);
    const secs = (v) => (v == null ? null : v / 1000);

    draw("chart-conversations", {
      type: "bar",
      data: {
        labels: keys,
        datasets: [
          series("deflected", rows.map((r) => r.deflected), 2),
          series("escalated", rows.map((r) => r.escalated), 1),
          series("other", rows.map((r) => r.conversations - r.deflected - r.escalated), 7),
        ],
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
    draw("chart-rates", {
      type: lineOrBar,
      data: {
        labels: keys,
        datasets: [
          series("deflection %", rows.map((r) => perc(r.deflection_rate)), 2),
          series("escalation %", rows.map((r) => perc(r.escalation_rate)), 1),
          series("first-contact resolution %", rows.map((r) => perc(r.first_contact_resolution_rate)), 0),
          series("thumbs up %", rows.map((r) => perc(r.thumbs_up_ratio)), 3),
        ],
      },
      options: { scales: { y: { min: 0, max: 100 } } },
    });
    draw("chart-csat-average", {
      type: lineOrBar,
      data: { labels: keys, datasets: [series("CSAT average", rows.map((r) => r.csat.average), 4)] },
      options: { scales: { y: { min: 1, max: 5 } } },
    });
    draw("chart-response", {
      type: lineOrBar,
      data: {
        labels: keys,
        datasets: [
          series("p50", rows.map((r) => r.response_ms.p50), 0),
          series("p95", rows.map((r) => r.response_ms.p95), 1),
        ],
      },
      options: { scales: { y: { beginAtZero: true } } },
    });
    draw("chart-handover", {
      type: lineOrBar,
      data: {
        labels: keys,
        datasets: [
          series("to delivery p50", rows.map((r) => secs(r.escalation_to_delivery_ms.p50)), 0),
          series("to delivery p95", rows.map((r) => secs(r.escalation_to_delivery_ms.p95)), 5),
          series("first human p50", rows.map((r) => secs(r.first_human_response_ms.p50)), 3),
          series("first human p95", rows.map((r) => secs(r.first_human_response_ms.p95)), 6),
        ],
      },
      options: { scales: { y: { beginAtZero: true } } },
    });

    const t = report.total;
    draw("chart-csat", {
      type: "bar",
      data: {
        labels: ["1", "2", "3", "4", "5"],
        datasets: [series("ratings", t.csat.distribution, 4)],
      },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
    });
    const reasons = Object.entries(t.escalated_by_reason);
    draw("chart-reasons", {
      type: "doughnut",
      data: {
        labels: reasons.map(([k]) => k.replaceAll("_", " ")),
        datasets: [{ data: reasons.map(([, v]) => v), backgroundColor: reasons.map((_, i) => COLORS[i % COLORS.length]) }],
      },
    });
    const cp = t.escalated_by_category_priority;
    const categories = [...new Set(cp.map((c) => c.category))];
    const priorities = [...new Set(cp.map((c) => c.priority))];
    draw("chart-categories", {
      type: "bar",
      data: {
        labels: categories,
        datasets: priorities.map((p, i) => series(p, categories.map((c) => cp.find((x) => x.category === c && x.priority === p)?.count || 0), i)),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
  }

  function renderGaps(g) {
    text($("gaps-summary"), `${num(g.messages)} unanswered messages in the window; ${num(g.groups.length)} groups shown, most asked first.`);
    const list = $("gap-groups");
    list.replaceChildren();
    for (const group of g.groups) {
      const li = make("li", "gap card");
      li.dataset.language = group.language;
      const kind = group.kind === "missing_article" ? "missing article" : "missing phrasing";
      const head = make("p", "gap-head");
      head.append(
        make("span", "lang", group.language),
        make("span", "shoppers", `${num(group.shoppers)} shoppers`),
        make("span", "muted", `${num(group.messages)} messages`),
        make("span", `kind ${group.kind}`, kind),
      );
      const questions = make("ul", "questions");
      for (const q of group.questions.slice(0, 3)) questions.append(make("li", null, `“${q.text}” ×${num(q.count)}`));
      li.append(head, questions);
      const nearest = make("p", "nearest");
      if (group.nearest) {
        nearest.append(make("span", "muted", "Nearest article: "), make("strong", null, group.nearest.title),
          make("span", "muted", ` (${group.nearest.article}, confidence ${group.nearest.confidence.toFixed(2)})`));
      } else {
        nearest.append(make("span", "muted", "No article comes close."));
      }
      const weeks = make("p", "weeks muted", "By week: " + Object.entries(group.by_week).map(([w, n]) => `${w} ${num(n)}`).join(" · "));
      li.append(nearest, weeks);
      list.append(li);
    }
    if (!g.groups.length) list.append(make("li", "muted", "Nothing: every question in the window was answered."));
  }

  // ---- loading ----------------------------------------------------------------------------
  let loading = 0;

  async function load() {
    const mine = ++loading;
    const q = currentQuery();
    history.replaceState(null, "", `?${q}`);
    status("Loading…");
    try {
      const report = await api(`api/report?${q}`);
      if (mine !== loading) return;
      $("login").hidden = true;
      $("dashboard").hidden = false;
      $("sign-out").hidden = !token();
      text($("window-text"), `Conversations that started from ${utc(report.since_ms)} until ${utc(report.until_ms)} (excluded), per ${report.by}.`);
      renderTotals(report.total);
      renderRows(report.rows);
      renderCharts(report);
      text($("gaps-summary"), "Grouping the unanswered questions…");
      $("gap-groups").replaceChildren();
      status(null);
      const gaps = await api(`api/gaps?${new URLSearchParams({ since: q.get("since"), until: q.get("until"), limit: "20" })}`);
      if (mine !== loading) return;
      renderGaps(gaps);
      document.body.dataset.loaded = "true";
    } catch (e) {
      if (mine !== loading) return;
      if (e instanceof Unauthorized) {
        const had = token();
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(had ? "That token is not the admin token: try again." : null);
      } else {
        status(`Could not load the dashboard: ${e.message}`, true);
      }
    }
  }

  function start() {
    if (typeof Chart === "undefined") {
      status("Could not load the chart library.", true);
      return;
    }
    initialWindow();
    $("window").addEventListener("submit", (e) => { e.preventDefault(); load(); });
    $("login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const t = $("token").value.trim();
      if (!t) return;
      sessionStorage.setItem(TOKEN_KEY, t);
      $("login").hidden = true;
      load();
    });
    $("sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(null);
    });
    load();
  }

  start();
})();
