/* The board grid: presence, heartbeat age, what is showing, screenshot, problems. */
"use strict";
(function () {
  const F = window.Fleet;
  const main = document.getElementById("main");
  let boards = [];
  let fetchedAt = Date.now();

  function card(board) {
    const drift = (Date.now() - fetchedAt) / 1000;
    const showing = board.now_showing;
    const thumb = board.screenshot_at
      ? F.el("img", { class: "thumb", alt: F.t("board.screenshot"), loading: "lazy",
          src: `/api/boards/${encodeURIComponent(board.board_id)}/screenshot?at=${encodeURIComponent(board.screenshot_at)}` })
      : F.el("div", { class: "thumb none" });
    const problems = board.problems.length
      ? F.el("ul", { class: "problems" }, board.problems.map((p) =>
          F.el("li", { class: "problem " + p.code, title: p.message, dataset: { code: p.code }, text: window.I18n.pick(p.message) })))
      : F.el("p", { class: "ok", text: F.t("board.noproblems") });
    return F.el("article", { class: "board-card " + board.state, dataset: { boardId: board.board_id } },
      F.el("a", { href: "/boards/" + encodeURIComponent(board.board_id) }, thumb),
      F.el("h2", {}, F.el("a", { class: "board-id", href: "/boards/" + encodeURIComponent(board.board_id), text: board.board_id })),
      board.name ? F.el("p", { class: "name", text: board.name }) : null,
      F.el("p", {}, F.badge(board.state), " ", F.t("board.since"), " ", F.el("span", { text: F.time(board.since) })),
      F.el("p", {}, F.t("board.heartbeat") + ": ",
        F.el("span", { class: "hb-age", dataset: { age: board.heartbeat_age_s ?? "" }, text: F.age(board.heartbeat_age_s === null ? null : board.heartbeat_age_s + drift) })),
      F.el("p", {}, F.t("board.showing") + ": ",
        F.el("span", { class: "showing", text: showing ? `${showing.item_id || "–"} (${showing.channel || "?"})` : F.t("board.nothing") })),
      problems);
  }

  function render() {
    const online = boards.filter((b) => b.state === "online").length;
    F.replace(main,
      F.el("h1", {}, F.t("grid.title") + " ", F.el("span", { id: "grid-count", text: `${online}/${boards.length}` })),
      boards.length
        ? F.el("section", { id: "grid", class: "grid" }, boards.map(card))
        : F.el("p", { id: "grid", class: "empty", text: F.t("grid.empty") }));
  }

  async function load() {
    try {
      boards = await F.api("/api/boards");
      fetchedAt = Date.now();
      render();
    } catch (error) {
      F.replace(main, F.el("p", { class: "error", text: error.message }));
    }
  }

  /* Heartbeat ages move on between changes: update their text only, not the grid. */
  function tick() {
    const drift = (Date.now() - fetchedAt) / 1000;
    for (const span of document.querySelectorAll(".hb-age")) {
      const age = span.dataset.age === "" ? null : Number(span.dataset.age) + drift;
      span.textContent = F.age(age);
    }
  }

  const reload = F.coalesce(load, 1000);
  F.live((kind) => { if (kind === "board" || kind === "resync") reload(); });
  document.addEventListener("fleet:lang", render);
  window.setInterval(tick, 5000);
  load();
})();
