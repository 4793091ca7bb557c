// The content studio's playlist: the items added, the playlist as the server makes it
// (the download link), saving into the server's folder and publishing. Loaded after
// studio.js, whose words, state and helpers it uses.
"use strict";

// --- the playlist ---------------------------------------------------------------------------
function boardVersion() {
  // YYYYMMDDhhmm in the board's time: grows by itself from one day's file to the next.
  return Number(new Date(Date.now() + BOARD_OFFSET_MS).toISOString().slice(0, 16).replace(/\D/g, ""));
}
function renderPlaylist() {
  const list = $("playlist-items");
  list.replaceChildren(...state.items.map((item, index) => {
    const li = el("li", { "data-item-id": item.id });
    const edit = el("button", { type: "button", class: "edit", "aria-label": t("edit_label", item.id) }, t("edit"));
    const remove = el("button", { type: "button", class: "remove", "aria-label": t("remove_label", item.id) }, t("remove"));
    edit.addEventListener("click", () => loadItem(state.items[index]));
    remove.addEventListener("click", () => { state.items.splice(index, 1); renderPlaylist(); updatePlaylist(); });
    li.append(el("strong", {}, item.id), el("span", { class: "meta" }, t("item_line", item.layout, item.duration_s)), edit, remove);
    return li;
  }));
  $("playlist-empty").hidden = state.items.length > 0;
}
async function addItem() {
  state.showAll = true;
  const item = currentItem();
  const answer = await api("/api/check", { item }).catch(() => null);
  if (!answer) { showResult("item-add-result", { ok: false, key: "offline" }); return; }
  const problems = problemsOf(answer.body);
  showProblems(problems);
  if (problems.length || !answer.ok) { showResult("item-add-result", { ok: false, key: "not_added" }); return; }
  const at = state.items.findIndex((i) => i.id === item.id);
  if (at >= 0) state.items[at] = item; else state.items.push(item);
  state.showAll = false; // the next item starts as a fresh form does
  suggestId();
  showResult("item-add-result", { ok: true, key: at >= 0 ? "replaced" : "added", args: [item.id] });
  renderPlaylist();
  await updatePlaylist();
}
// The playlist as the server makes it (issued_at now): what the download link offers.
async function updatePlaylist() {
  const version = whole($("playlist-version").value);
  let answer;
  try {
    answer = await api("/api/playlist", { version, items: state.items });
  } catch {
    answer = { ok: false, body: { problems: [t("offline")] } };
  }
  const link = $("download");
  if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
  state.downloadUrl = null;
  state.playlist = answer.ok && answer.body?.playlist ? answer.body.playlist : null;
  const problems = problemsOf(answer.body);
  if (state.playlist && state.items.length) {
    const text = `${JSON.stringify(state.playlist, null, 2)}\n`;
    const bytes = new Blob([text]).size;
    state.downloadUrl = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    link.href = state.downloadUrl;
    link.removeAttribute("aria-disabled");
    const kb = bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
    $("playlist-size").textContent = t(bytes > PAYLOAD_LIMIT ? "size_over" : "size_line", kb);
  } else {
    link.removeAttribute("href");
    link.setAttribute("aria-disabled", "true");
    $("playlist-size").textContent = "";
  }
  link.download = fileName();
  return problems;
}
// The name typed, with ".json" added when it was left off ("thong-bao" -> "thong-bao.json").
function fileName() {
  const name = $("save-name").value.trim() || "danh-sach";
  return /\.json$/i.test(name) ? name : `${name}.json`;
}
async function save() {
  if (!state.items.length) { showResult("save-result", { ok: false, key: "empty_list" }); return; }
  try {
    const problems = await updatePlaylist();
    if (problems.length || !state.playlist) { showResult("save-result", { ok: false, problems }); return; }
    const answer = await api("/api/save", { filename: fileName(), playlist: state.playlist });
    if (answer.ok && answer.body?.saved) showResult("save-result", { ok: true, key: "saved", args: [answer.body.saved] });
    else showResult("save-result", { ok: false, problems: problemsOf(answer.body) });
  } catch {
    showResult("save-result", { ok: false, key: "offline" });
  }
}
async function publish() {
  if (!state.items.length) { showResult("publish-result", { ok: false, key: "empty_list" }); return; }
  try {
    const problems = await updatePlaylist();
    if (problems.length || !state.playlist) { showResult("publish-result", { ok: false, problems }); return; }
    const answer = await api("/api/publish", { playlist: state.playlist, to: $("publish-to").value.trim() });
    if (answer.ok) showResult("publish-result", { ok: true, key: "{0}", args: [String(answer.body?.said ?? "")] });
    else showResult("publish-result", { ok: false, problems: problemsOf(answer.body) });
  } catch {
    showResult("publish-result", { ok: false, key: "offline" });
  }
}
