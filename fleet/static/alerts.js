/* The alert list: each alert's reach at a glance. */
"use strict";
(function () {
  const F = window.Fleet;
  const main = document.getElementById("main");
  let alerts = [];

  function render() {
    const rows = alerts.map((a) => [
      F.el("a", { class: "alert-link", href: "/alerts/" + encodeURIComponent(a.alert_id), text: a.headline || a.alert_id }),
      F.el("span", { class: "severity " + (a.severity || ""), text: a.severity || "–" }),
      F.time(a.sent),
      F.el("span", { class: "reach", text: `${a.showing}/${a.in_scope}` }),
      `${F.ms(a.latency_ms.p50)} / ${F.ms(a.latency_ms.p95)} / ${F.ms(a.latency_ms.max)}`,
      a.ended_at ? F.time(a.ended_at) : "–",
    ]);
    F.replace(main,
      F.el("h1", { text: F.t("alerts.title") }),
      alerts.length
        ? F.el("div", { id: "alerts" }, F.table(
            ["alerts.title", "alert.severity", "alert.sent", "alert.reach", "alert.latency", "alert.ended"], rows))
        : F.el("p", { id: "alerts", class: "empty", text: F.t("alerts.empty") }));
  }

  async function load() {
    try {
      alerts = await F.api("/api/alerts");
      render();
    } catch (error) {
      F.replace(main, F.el("p", { class: "error", text: error.message }));
    }
  }

  const reload = F.coalesce(load, 300);
  F.live((kind) => { if (kind === "alert" || kind === "resync") reload(); });
  document.addEventListener("fleet:lang", render);
  load();
})();
