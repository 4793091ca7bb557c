// The content studio's previews: the board's own renderer (POST /api/preview) at every
// size the layout lists, and the board's checks (POST /api/check) a moment after the last
// keystroke. Loaded after studio.js, whose words, state and helpers it uses.
"use strict";

// --- checks and previews, a moment after the last keystroke ----------------------------------
function changed() {
  clearTimeout(state.timer);
  // The shown stills are out of date: none is "ready", and no old frame may land meanwhile.
  for (const view of state.views) {
    clearTimeout(view.next);
    view.abort?.abort();
    view.figure.classList.remove("ready");
  }
  state.timer = setTimeout(refresh, DEBOUNCE_MS);
}
async function refresh() {
  if (!state.layout) return;
  const item = currentItem();
  state.animStart = performance.now();
  for (const view of state.views) {
    view.bytes = null;
    view.unchanged = 0;
    draw(view, item.fields, 0);
  }
  state.checkAbort?.abort();
  const abort = (state.checkAbort = new AbortController());
  try {
    const response = await fetch("/api/check", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ item }), signal: abort.signal,
    });
    const body = await response.json();
    if (!abort.signal.aborted) { showProblems(problemsOf(body)); $("page-problem").textContent = ""; }
  } catch (error) {
    if (!abort.signal.aborted) $("page-problem").textContent = t("offline");
  }
}

function buildViews() {
  for (const view of state.views) { view.abort?.abort(); if (view.url) URL.revokeObjectURL(view.url); }
  state.views = (state.layout?.sizes ?? []).map((size) => {
    const [width, height] = size.size.split("x").map(Number);
    const figure = el("figure", { class: "preview", "data-size": size.size, "data-led": String(Boolean(size.led)) });
    figure.classList.toggle("portrait", height > width);
    figure.classList.toggle("led", Boolean(size.led));
    figure.classList.toggle("wide", Boolean(size.led)); // a dot view needs room to show dots
    const frame = el("div", { class: "frame" });
    frame.style.aspectRatio = `${width} / ${height}`; // the room is kept before the picture loads
    const img = el("img", { alt: "" });
    const caption = el("figcaption");
    caption.append(el("span", { class: "name" }), el("span", { class: "why" }));
    frame.append(img);
    figure.append(frame, caption);
    return { size, figure, img, caption, url: null, abort: null, fields: {}, next: 0, bytes: null, unchanged: 0 };
  });
  $("previews").replaceChildren(...state.views.map((v) => v.figure));
  for (const view of state.views) labelView(view);
}
function labelView(view) {
  const key = `size.${view.size.size}`;
  const name = known(key) ? t(key) : view.size.label ?? view.size.size;
  view.caption.querySelector(".name").textContent = name;
  view.img.alt = t("preview_alt", name);
  if (view.failure) view.caption.querySelector(".why").textContent = view.failure();
}

// At most a few renders at once, in the order asked.
function turn() {
  if (state.inFlight < MAX_PREVIEWS_IN_FLIGHT) { state.inFlight += 1; return Promise.resolve(); }
  return new Promise((resolve) => state.queue.push(resolve));
}
function release() {
  const next = state.queue.shift();
  if (next) next(); else state.inFlight -= 1;
}

async function draw(view, fields, at) {
  clearTimeout(view.next);
  view.abort?.abort();
  const abort = (view.abort = new AbortController());
  view.fields = fields;
  view.busy = true;
  await turn();
  try {
    if (abort.signal.aborted) return;
    const response = await fetch("/api/preview", {
      method: "POST", headers: { "Content-Type": "application/json" }, signal: abort.signal,
      body: JSON.stringify({
        layout: state.layout.name, fields, size: view.size.size, led: Boolean(view.size.led), at,
      }),
    });
    if (!response.ok) {
      const problems = problemsOf(await response.json().catch(() => null));
      // The problems themselves show beside their fields (from /api/check); here a
      // short line, and the sentences as the caption's tooltip.
      failed(view, () => (problems.length ? t("preview_failed") : t("preview_error")), problems);
      return;
    }
    const blob = await response.blob();
    const bytes = new Uint8Array(await blob.arrayBuffer());
    if (abort.signal.aborted) return;
    const same = view.bytes !== null && sameBytes(view.bytes, bytes);
    view.bytes = bytes;
    view.unchanged = same ? view.unchanged + 1 : 0;
    if (same && view.figure.classList.contains("ready")) { schedule(view); return; }
    const url = URL.createObjectURL(blob);
    await (await loaded(url)).decode().catch(() => undefined);
    await new Promise((resolve, reject) => { view.img.onload = resolve; view.img.onerror = reject; view.img.src = url; });
    if (view.url) URL.revokeObjectURL(view.url);
    view.url = url;
    view.failure = null;
    view.caption.querySelector(".why").textContent = "";
    view.figure.classList.remove("failed");
    view.figure.classList.add("ready");
    schedule(view);
  } catch (error) {
    if (!abort.signal.aborted) failed(view, () => t("preview_error"));
  } finally {
    if (view.abort === abort) view.busy = false;
    release();
  }
}
function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}
function failed(view, words, problems = []) {
  view.failure = words;
  const why = view.caption.querySelector(".why");
  why.textContent = words();
  why.title = problems.map(message).join(" ");
  view.figure.classList.remove("ready");
  view.figure.classList.add("failed");
}
// Scrolling text moves: the next still, `at` seconds after the item started, once this
// one is shown — and only while someone can see the page.
function animating() {
  return Boolean(state.layout?.animated) && $("animate").checked && document.visibilityState === "visible";
}
function schedule(view) {
  clearTimeout(view.next);
  if (!animating() || view.unchanged >= STILL_FRAMES) return;
  view.next = setTimeout(() => {
    if (animating()) draw(view, view.fields, ((performance.now() - state.animStart) / 1000) % 600);
  }, FRAME_MS);
}
function resume() {
  for (const view of state.views) if (!view.busy && view.figure.classList.contains("ready")) schedule(view);
}
