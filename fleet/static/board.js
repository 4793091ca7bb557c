/* One board: summary, heartbeat history (chart + table), events, proof of play, and the
   command buttons (for users who may publish) with their results as they come. */
"use strict";
(function () {
  const F = window.Fleet;
  const main = document.getElementById("main");
  const boardId = document.body.dataset.key;
  const canPublish = document.body.dataset.canPublish === "1";
  const base = "/api/boards/" + encodeURIComponent(boardId);
  let detail = null;
  let kind = "";
  let older = [];
  let notice = "";

  function details(body) {
    const rest = Object.entries(body).filter(([k]) => !["type", "kind", "at"].includes(k));
    return rest.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
  }

  function eventRows(items) {
    return items.map((e) => [F.time(e.at), e.kind, F.el("code", { text: details(e.body) })]);
  }

  function resultText(c) {
    if (c.ok === null) return F.el("span", { class: "pending", text: F.t("cmd.waiting") });
    let data = c.result && (c.ok ? c.result.data : c.result.error);
    if (data && typeof data === "object" && !Object.keys(data).length) data = null;
    return F.el("span", { class: c.ok ? "ok" : "failed" },
      (c.ok ? F.t("cmd.ok") : F.t("cmd.failed")) + (data ? " " + (typeof data === "string" ? data : JSON.stringify(data)) : ""));
  }

  async function send(command, args) {
    if (command === "restart" && !window.confirm(F.t("cmd.confirm"))) return;
    try {
      await F.postJSON(base + "/commands", { command, args });
      notice = "";
    } catch (error) {
      notice = error.message;
    }
    await load();
  }

  function commandBar() {
    if (!canPublish) return null;
    const percent = F.el("input", { type: "number", min: 0, max: 100, value: 80, id: "brightness", class: "small" });
    const power = F.el("select", { id: "power" }, F.el("option", { value: "on", text: "on" }), F.el("option", { value: "off", text: "off" }));
    const button = (command, args) => F.el("button", { type: "button", class: "cmd", dataset: { command },
      onclick: () => send(command, args ? args() : {}), text: F.t("cmd." + command) });
    return F.el("section", { id: "commands-bar", class: "commands" },
      button("ping"), button("screenshot"), button("reload"),
      F.el("span", { class: "group" }, percent, button("set_brightness", () => ({ percent: Number(percent.value) }))),
      F.el("span", { class: "group" }, power, button("display_power", () => ({ state: power.value }))),
      button("restart"),
      notice ? F.el("p", { class: "error", text: notice }) : null);
  }

  function render() {
    if (!detail) return;
    const b = detail.board;
    const history = detail.history;
    const recent = history.slice(-20).reverse();
    const kinds = ["", "playback.started", "alert.started", "alert.ended", "content.accepted", "content.rejected", "display.error", "asset.failed"];
    const filter = F.el("select", { id: "kind", onchange: (e) => { kind = e.target.value; older = []; load(); } },
      kinds.map((k) => F.el("option", { value: k, text: k || F.t("board.allkinds"), selected: k === kind })));
    const events = [...detail.events.items, ...older];
    const nextBefore = older.length ? older.nextBefore : detail.events.next_before;
    F.replace(main,
      F.el("h1", {}, F.el("span", { id: "board-id", text: b.board_id }), b.name ? F.el("small", { text: " " + b.name }) : null),
      F.el("div", { class: "columns" },
        F.el("section", {},
          F.el("p", {}, F.badge(b.state), " ", F.t("board.since"), " ", F.time(b.since), b.offline_reason ? ` (${b.offline_reason})` : ""),
          F.el("p", {}, F.t("board.heartbeat") + ": ", F.age(b.heartbeat_age_s)),
          F.el("p", {}, F.t("board.showing") + ": ", b.now_showing ? `${b.now_showing.item_id || "–"} (${b.now_showing.channel || "?"})` : F.t("board.nothing")),
          F.el("p", {}, F.t("board.version") + ": ", b.agent_version || "–"),
          F.el("p", {}, F.t("board.where") + ": ", [b.district, b.commune, ...b.groups].filter(Boolean).join(" · ") || "–"),
          b.problems.length
            ? F.el("ul", { class: "problems" }, b.problems.map((p) => F.el("li", { class: "problem " + p.code, title: p.message, text: window.I18n.pick(p.message) })))
            : F.el("p", { class: "ok", text: F.t("board.noproblems") })),
        b.screenshot_at
          ? F.el("img", { class: "screenshot", alt: F.t("board.screenshot"), src: `${base}/screenshot?at=${encodeURIComponent(b.screenshot_at)}` })
          : null),
      commandBar(),
      F.el("h2", { text: F.t("board.commands") }),
      F.el("div", { id: "commands" }, F.table(["col.time", "col.command", "col.by", "col.result"],
        detail.commands.map((c) => [F.time(c.sent_at), `${c.command} ${JSON.stringify(c.args)}`, c.sent_by || "–", resultText(c)]))),
      F.el("h2", { text: F.t("board.history") + " — " + F.t("board.cpu") }),
      F.lineChart(history.filter((h) => h.cpu_percent !== null).map((h) => [Date.parse(h.sent_at), h.cpu_percent]), F.t("board.cpu")),
      F.el("div", { id: "history" }, F.table(["col.time", "col.seq", "board.cpu", "col.mem", "col.temp", "col.outbox", "col.fps"],
        recent.map((h) => [F.time(h.sent_at), h.seq, F.ms(h.cpu_percent), F.ms(h.mem_percent), F.ms(h.cpu_temp_c), F.ms(h.outbox), F.ms(h.fps)]))),
      F.el("h2", { text: F.t("board.events") }), filter,
      F.el("div", { id: "events" }, F.table(["col.time", "col.kind", "col.details"], eventRows(events))),
      nextBefore ? F.el("button", { type: "button", id: "older", text: F.t("board.older"), onclick: () => loadOlder(nextBefore) }) : null,
      F.el("h2", { text: F.t("board.plays") }),
      F.el("div", { id: "plays" }, F.table(["col.time", "col.item", "col.channel", "col.layout"],
        detail.plays.map((e) => [F.time(e.at), String(e.body.item_id ?? "–"), String(e.body.channel ?? "–"), String(e.body.layout ?? "–")]))));
  }

  async function loadOlder(before) {
    const query = new URLSearchParams({ before: String(before), limit: "50" });
    if (kind) query.set("kind", kind);
    const page = await F.api(`${base}/events?${query}`);
    const next = [...older, ...page.items];
    next.nextBefore = page.next_before;
    older = next;
    render();
  }

  async function load() {
    try {
      const query = kind ? "?" + new URLSearchParams({ kind }) : "";
      detail = await F.api(base + query);
      render();
    } catch (error) {
      F.replace(main, F.el("p", { class: "error", text: error.status === 404 ? F.t("board.notfound") : error.message }));
    }
  }

  const reload = F.coalesce(load, 300);
  F.live((what, key) => {
    if (what === "resync" || (what === "board" && key === boardId)) reload();
    if (what === "command" && detail && detail.commands.some((c) => c.id === key)) reload();
  });
  document.addEventListener("fleet:lang", render);
  load();
})();
