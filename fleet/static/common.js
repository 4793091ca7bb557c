/* Shared by the pages: DOM building (text only, never innerHTML with data), the JSON
   API, the live stream, and small inline-SVG charts. */
"use strict";
(function () {
  const t = (key, vars) => window.I18n.t(key, vars);
  const SVG = "http://www.w3.org/2000/svg"; // a namespace name, not a URL that is fetched

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else if (name === "class") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children.flat()) if (child) node.append(child);
    return node;
  }

  async function api(path, options) {
    const init = Object.assign({ credentials: "same-origin" }, options || {});
    init.headers = Object.assign({ "X-Fleet-Page": "1" }, init.headers || {});
    const response = await fetch(path, init);
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      throw new Error("login required");
    }
    const body = (response.headers.get("content-type") || "").includes("application/json") ? await response.json() : null;
    if (!response.ok) {
      const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
      const error = new Error(detail);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function postJSON(path, data) {
    return api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(data),
    });
  }

  /* Calls `onChange(kind, key)` for each change; "resync" after a reconnect. */
  function live(onChange) {
    const indicator = document.getElementById("live");
    const show = (key, cls) => {
      if (!indicator) return;
      indicator.dataset.i18n = key;
      indicator.textContent = t(key);
      indicator.className = "live " + cls;
    };
    const source = new EventSource("/api/stream");
    let opened = false;
    source.addEventListener("open", () => {
      show("live.on", "on");
      if (opened) onChange("resync", "");
      opened = true;
    });
    source.addEventListener("error", () => show("live.off", "off"));
    for (const kind of ["board", "alert", "command", "resync"]) {
      source.addEventListener(kind, (event) => {
        let key = "";
        try { key = String(JSON.parse(event.data).key); } catch (_) { key = ""; }
        onChange(kind, key);
      });
    }
    window.addEventListener("pagehide", () => source.close());
    return source;
  }

  /* Runs async `fn` at most once per `ms`, trailing, and never twice at once: a city's
     boards change many times a second, and each change must not cost a re-fetch. */
  function coalesce(fn, ms) {
    let timer = null, running = false, again = false;
    const schedule = () => {
      if (timer === null) timer = window.setTimeout(run, ms);
    };
    async function run() {
      timer = null;
      if (running) { again = true; return; }
      running = true;
      try { await fn(); } finally {
        running = false;
        if (again) { again = false; schedule(); }
      }
    }
    return schedule;
  }

  function age(seconds) {
    if (seconds === null || seconds === undefined) return t("age.never");
    const s = Math.max(0, Math.round(seconds));
    if (s < 120) return t("age.s", { n: s });
    if (s < 7200) return t("age.m", { n: Math.round(s / 60) });
    if (s < 172800) return t("age.h", { n: Math.round(s / 3600) });
    return t("age.d", { n: Math.round(s / 86400) });
  }

  function ageOf(iso) {
    return iso ? (Date.now() - Date.parse(iso)) / 1000 : null;
  }

  function time(iso) {
    if (!iso) return "–";
    const date = new Date(iso);
    return date.toLocaleString(window.I18n.current() === "en" ? "en-GB" : "vi-VN");
  }

  function ms(value) {
    return value === null || value === undefined ? "–" : String(Math.round(value));
  }

  /* A line chart of `points` ([x, y] numbers) in a viewBox, with min/max labels. */
  function lineChart(points, label) {
    const width = 600, height = 120, pad = 24;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label });
    if (points.length < 2) return chart;
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = 0, y1 = Math.max(1, ...ys);
    const px = (x) => pad + ((x - x0) / Math.max(1, x1 - x0)) * (width - 2 * pad);
    const py = (y) => height - pad - ((y - y0) / (y1 - y0)) * (height - 2 * pad);
    const path = points.map((p, i) => (i ? "L" : "M") + px(p[0]).toFixed(1) + " " + py(p[1]).toFixed(1)).join(" ");
    chart.append(
      svg("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis" }),
      svg("path", { d: path, class: "line" }),
      svg("text", { x: 2, y: pad, text: String(Math.round(y1)), class: "tick" }),
      svg("text", { x: 2, y: height - pad, text: "0", class: "tick" }),
    );
    return chart;
  }

  /* Vertical bars: `bars` = [{label, value, title}] */
  function barChart(bars, label) {
    const width = 600, height = 160, pad = 28;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label });
    if (!bars.length) return chart;
    const top = Math.max(1, ...bars.map((b) => b.value));
    const slot = (width - 2 * pad) / bars.length;
    bars.forEach((bar, i) => {
      const h = (bar.value / top) * (height - 2 * pad);
      const rect = svg("rect", { x: pad + i * slot + 1, y: height - pad - h, width: Math.max(1, slot - 2), height: h, class: "bar" });
      rect.append(svg("title", { text: bar.title || `${bar.label}: ${bar.value}` }));
      chart.append(rect);
      if (bars.length <= 16) chart.append(svg("text", { x: pad + i * slot + slot / 2, y: height - 8, class: "tick", "text-anchor": "middle", text: bar.label }));
    });
    chart.append(
      svg("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: "axis" }),
      svg("text", { x: 2, y: pad, text: String(Math.round(top)), class: "tick" }),
    );
    return chart;
  }

  function table(headers, rows) {
    return el("table", {},
      el("thead", {}, el("tr", {}, headers.map((key) => el("th", { text: t(key) })))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((cell) => el("td", {}, cell))))));
  }

  function badge(state) {
    const known = ["online", "offline"].includes(state) ? state : "unknown";
    return el("span", { class: "state " + known, text: t("state." + known) });
  }

  function replace(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  }

  window.Fleet = { el, svg, api, postJSON, live, coalesce, age, ageOf, time, ms, lineChart, barChart, table, badge, replace, t };
})();
