/* One alert's reach: N/M boards showing it, who is missing, and the latency chart. */
"use strict";
(function () {
  const F = window.Fleet;
  const main = document.getElementById("main");
  const alertId = document.body.dataset.key;
  let reach = null;

  function boardList(id, ids) {
    if (!ids.length) return F.el("p", { id, class: "empty", text: F.t("alert.none") });
    return F.el("ul", { id, class: "board-list" }, ids.map((b) =>
      F.el("li", {}, F.el("a", { href: "/boards/" + encodeURIComponent(b), text: b }))));
  }

  function render() {
    if (!reach) return;
    const r = reach;
    const receipts = [...r.receipts].filter((x) => x.latency_ms !== null).sort((a, b) => a.latency_ms - b.latency_ms);
    F.replace(main,
      F.el("h1", { id: "headline", text: r.headline || r.alert_id }),
      F.el("p", {}, F.el("span", { class: "severity " + (r.severity || ""), text: r.severity || "–" }),
        " · " + F.t("alert.sent") + ": ", F.time(r.sent),
        r.ended_at ? " · " + F.t("alert.ended") + ": " + F.time(r.ended_at) : ""),
      F.el("section", { class: "reach-summary" },
        F.el("p", { class: "big" }, F.el("span", { id: "reach-count", text: `${r.boards_showing.length}/${r.boards_in_scope.length}` }),
          " " + F.t("alert.scope")),
        F.el("dl", { class: "latency" },
          F.el("dt", { text: "p50" }), F.el("dd", { id: "p50", text: F.ms(r.latency_ms.p50) }),
          F.el("dt", { text: "p95" }), F.el("dd", { id: "p95", text: F.ms(r.latency_ms.p95) }),
          F.el("dt", { text: "max" }), F.el("dd", { id: "max", text: F.ms(r.latency_ms.max) }))),
      F.el("h2", { text: F.t("alert.histogram") + " — " + F.t("alert.latency") }),
      F.el("div", { id: "histogram" }, F.barChart(r.histogram.map((bin) => ({
        label: String(bin.to_ms), value: bin.count, title: `${bin.from_ms}–${bin.to_ms} ms: ${bin.count}` })), F.t("alert.histogram"))),
      F.el("h2", { text: F.t("alert.perboard") }),
      F.el("div", { id: "per-board" }, F.barChart(receipts.map((x) => ({
        label: x.board_id, value: x.latency_ms, title: `${x.board_id}: ${x.latency_ms} ms` })), F.t("alert.perboard"))),
      F.el("div", { class: "columns" },
        F.el("section", {}, F.el("h2", { text: F.t("alert.showing") }), boardList("showing", r.boards_showing)),
        F.el("section", {}, F.el("h2", { text: F.t("alert.missing") }), boardList("missing", r.missing))));
  }

  async function load() {
    try {
      reach = await F.api("/api/alerts/" + encodeURIComponent(alertId));
      render();
    } catch (error) {
      F.replace(main, F.el("p", { class: "error", text: error.status === 404 ? F.t("alert.notfound") : error.message }));
    }
  }

  const reload = F.coalesce(load, 200);
  F.live((kind, key) => { if ((kind === "alert" && key === alertId) || kind === "resync") reload(); });
  document.addEventListener("fleet:lang", render);
  load();
})();
