// The content studio's page: a form made from a layout's slots, the board's own renderer
// drawing it at every size (POST /api/preview), the board's own checks (POST /api/check)
// shown beside the field they concern, and a playlist to save, download or publish.
// Plain modern JavaScript, no build step, nothing fetched from outside this server.
// Every text put into the page goes through textContent or an attribute: never HTML.
"use strict";

// --- every word the page shows, Vietnamese first ---------------------------------------
const STRINGS = {
  vi: {
    title: "Xưởng nội dung bảng tin",
    editor: "Soạn một mục", layout: "Bố cục", content: "Nội dung", settings: "Cài đặt mục",
    item_id: "Mã mục", item_id_hint: "Tự đề xuất từ dòng chữ đầu tiên; chỉ chữ không dấu, số và . _ : -",
    duration: "Thời lượng (giây)", priority: "Ưu tiên", priority_hint: "Số lớn hơn được chiếu trước.",
    valid_from: "Hiệu lực từ", valid_until: "Hiệu lực đến",
    zone_hint: "Giờ Việt Nam (UTC+7). Để trống nếu luôn hiệu lực.",
    schedule: "Lịch chiếu hằng tuần", from: "Từ", to: "đến",
    schedule_hint: "Để trống nếu chiếu mọi lúc. Chỉ chọn giờ mà không chọn ngày: chiếu mọi ngày.",
    mon: "T2", tue: "T3", wed: "T4", thu: "T5", fri: "T6", sat: "T7", sun: "CN",
    add: "Thêm vào danh sách phát", added: "Đã thêm “{0}” vào danh sách phát.",
    replaced: "Đã cập nhật “{0}” trong danh sách phát.",
    not_added: "Chưa thêm: hãy sửa các chỗ được đánh dấu đỏ.",
    previews: "Xem trước trên bảng", animate: "Chạy chữ",
    playlist: "Danh sách phát", version: "Số phiên bản", version_hint: "Phải lớn hơn lần gửi trước.",
    playlist_empty: "Chưa có mục nào.", edit: "Sửa", remove: "Xóa",
    edit_label: "Sửa mục {0}", remove_label: "Xóa mục {0}",
    item_line: "{0} · {1} giây", size_line: "Kích thước tệp: {0} (bảng nhận tối đa 1 MB).",
    size_over: "Tệp lớn {0}: vượt quá 1 MB bảng nhận. Hãy dùng ảnh nhỏ hơn.",
    save_name: "Tên tệp", save: "Lưu", download: "Tải xuống", saved: "Đã lưu vào: {0}",
    empty_list: "Danh sách phát chưa có mục nào. Bấm “Thêm vào danh sách phát” trước.",
    publish_to: "Gửi tới", publish: "Gửi lên bảng", publish_hint: "Ví dụ: {0}",
    offline: "Không kết nối được với xưởng nội dung (chương trình đã tắt?).",
    required: "bắt buộc", optional: "không bắt buộc",
    image_hint: "Kéo ảnh vào đây, hoặc", image_pick: "Chọn ảnh…", image_remove: "Bỏ ảnh",
    image_thumb: "Ảnh đã chọn cho {0}", image_bad: "Tệp này không phải ảnh mà trình duyệt đọc được (hãy dùng PNG hoặc JPEG).",
    qr_hint: "Đường link mà mã QR dẫn tới, ví dụ https://phuong.gov.vn",
    preview_alt: "Bản xem trước {0}", preview_failed: "Chưa vẽ được: hãy sửa chỗ đánh dấu đỏ.", preview_error: "Không vẽ được bản xem trước.",
    "slot.title": "Tiêu đề", "slot.body": "Nội dung chính", "slot.text": "Nội dung",
    "slot.image": "Hình ảnh", "slot.picture": "Hình ảnh", "slot.ticker": "Dòng chữ chạy",
    "slot.caption": "Chú thích", "slot.link": "Đường link (mã QR)", "slot.qr": "Đường link (mã QR)",
    "layout.headline": "Tin tức: tiêu đề, đồng hồ, ảnh và dòng chữ chạy",
    "layout.fullscreen_text": "Thông báo chữ lớn toàn màn hình",
    "layout.image_caption": "Ảnh lớn kèm chú thích",
    "layout.led_text": "Chữ chạy trên bảng LED",
    "layout.notice_qr": "Thông báo kèm mã QR",
    "purpose.headline": "Kiểu bản tin: đồng hồ, ảnh (nếu có) và dòng chữ chạy; màn hình ngang và dọc.",
    "purpose.fullscreen_text": "Một thông báo chữ to hết cỡ, có thể kèm tiêu đề; mọi loại màn hình.",
    "purpose.image_caption": "Một ảnh to hết cỡ, có thể kèm dòng chú thích; màn hình LCD.",
    "purpose.led_text": "Chữ đậm màu hổ phách, tự chạy ngang khi dài; bảng LED nhỏ.",
    "purpose.notice_qr": "Một thông báo bên cạnh mã QR dẫn tới trang web.",
    "size.1920x1080": "Full HD ngang 1920×1080", "size.1080x1920": "Full HD dọc 1080×1920",
    "size.1366x768": "Màn hình 1366×768", "size.128x32": "Bảng LED 128×32 (điểm sáng)",
    "size.256x64": "Bảng LED 256×64 (điểm sáng)",
  },
  en: {
    title: "Signage content studio",
    editor: "Compose an item", layout: "Layout", content: "Content", settings: "Item settings",
    item_id: "Item id", item_id_hint: "Suggested from the first text; letters, digits and . _ : - only",
    duration: "Duration (seconds)", priority: "Priority", priority_hint: "Higher numbers show first.",
    valid_from: "Valid from", valid_until: "Valid until",
    zone_hint: "Vietnam time (UTC+7). Leave empty when always valid.",
    schedule: "Weekly schedule", from: "From", to: "to",
    schedule_hint: "Leave empty to show at any time. Times without days: every day.",
    mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun",
    add: "Add to the playlist", added: "Added “{0}” to the playlist.",
    replaced: "Updated “{0}” in the playlist.",
    not_added: "Not added: please fix the places marked in red.",
    previews: "Preview on the boards", animate: "Scroll text",
    playlist: "Playlist", version: "Version number", version_hint: "Must be greater than the last one sent.",
    playlist_empty: "No items yet.", edit: "Edit", remove: "Remove",
    edit_label: "Edit item {0}", remove_label: "Remove item {0}",
    item_line: "{0} · {1} s", size_line: "File size: {0} (boards accept up to 1 MB).",
    size_over: "The file is {0}: more than the 1 MB boards accept. Use smaller pictures.",
    save_name: "File name", save: "Save", download: "Download", saved: "Saved to: {0}",
    empty_list: "The playlist has no items. Press “Add to the playlist” first.",
    publish_to: "Send to", publish: "Send to the boards", publish_hint: "For example: {0}",
    offline: "Cannot reach the content studio (has the program stopped?).",
    required: "required", optional: "optional",
    image_hint: "Drop a picture here, or", image_pick: "Choose a picture…", image_remove: "Remove picture",
    image_thumb: "The picture chosen for {0}", image_bad: "This file is not a picture the browser can read (use PNG or JPEG).",
    qr_hint: "The link the QR code leads to, e.g. https://phuong.gov.vn",
    preview_alt: "Preview {0}", preview_failed: "Not drawn yet: fix the places marked in red.", preview_error: "Cannot draw the preview.",
    "slot.title": "Title", "slot.body": "Body", "slot.text": "Text", "slot.image": "Picture",
    "slot.picture": "Picture", "slot.ticker": "Ticker", "slot.caption": "Caption",
    "slot.link": "Link (QR code)", "slot.qr": "Link (QR code)",
    "size.1920x1080": "Full HD landscape 1920×1080", "size.1080x1920": "Full HD portrait 1080×1920",
    "size.1366x768": "Screen 1366×768", "size.128x32": "LED panel 128×32 (dot view)",
    "size.256x64": "LED panel 256×64 (dot view)",
  },
};
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const BOARD_OFFSET = "+07:00"; // Asia/Ho_Chi_Minh: no daylight saving time
const BOARD_OFFSET_MS = 7 * 3600 * 1000;
const DEBOUNCE_MS = 300;
const FRAME_MS = 250; // animated previews: about 4 frames a second
const STILL_FRAMES = 12; // a view unchanged for 3 s of frames does not move: stop asking
const ID_CHARS = 40; // a suggested id: long enough to tell items apart, short to read
const MAX_PREVIEWS_IN_FLIGHT = 2; // the renderer runs on the same laptop: be kind to it
const PAYLOAD_LIMIT = 1024 * 1024; // the board's default limit for a playlist
const PICTURE_SIDE = 1920; // larger pictures are scaled down (the board allows 4 MP)
const PICTURE_BYTES = 768 * 1024;

const $ = (id) => document.getElementById(id);
const state = {
  lang: "vi", layouts: [], layout: null, values: {}, items: [], idTouched: false,
  views: [], animStart: 0, playlist: null, downloadUrl: null, results: {},
  problems: [], timer: 0, checkAbort: null, inFlight: 0, queue: [],
};

function t(key, ...args) {
  const words = STRINGS[state.lang][key] ?? STRINGS.vi[key] ?? key;
  return words.replace(/\{(\d)\}/g, (_, n) => String(args[Number(n)] ?? ""));
}
function known(key) { return key in STRINGS[state.lang] || key in STRINGS.vi; }
function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}
function slotLabel(name) { return known(`slot.${name}`) ? t(`slot.${name}`) : name; }
function message(problem) {
  if (typeof problem === "string") return problem;
  const text = state.lang === "en" ? problem.message_en : problem.message_vi;
  return String(text ?? problem.message_vi ?? problem.message ?? JSON.stringify(problem));
}
function problemsOf(body) { return Array.isArray(body?.problems) ? body.problems : []; }

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  let answer = null;
  try { answer = await response.json(); } catch { answer = null; }
  return { ok: response.ok, status: response.status, body: answer };
}

// --- language ---------------------------------------------------------------------------
function setLanguage(lang) {
  state.lang = lang === "en" ? "en" : "vi";
  try { localStorage.setItem("studio-lang", state.lang); } catch { /* private mode */ }
  document.documentElement.lang = state.lang;
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  $("lang-vi").setAttribute("aria-pressed", String(state.lang === "vi"));
  $("lang-en").setAttribute("aria-pressed", String(state.lang === "en"));
  fillLayoutOptions();
  showPurpose();
  for (const slot of state.layout?.slots ?? []) labelSlot(slot);
  for (const view of state.views) labelView(view);
  showProblems(state.problems);
  renderPlaylist();
  for (const [id, result] of Object.entries(state.results)) showResult(id, result);
  if (state.publishHint) $("hint-publish").textContent = t("publish_hint", state.publishHint);
}

function showResult(id, result) {
  state.results[id] = result;
  const node = $(id);
  node.textContent = result.problems
    ? result.problems.map((p) => (p.path ? `${p.path}: ${message(p)}` : message(p))).join(" · ")
    : t(result.key, ...(result.args ?? []));
  node.className = `result ${result.ok ? "ok" : "error"}`;
}

// --- layouts and the form ----------------------------------------------------------------
function layoutTitle(layout) {
  const key = `layout.${layout.name}`;
  return known(key) && state.lang === "vi" ? `${t(key)} (${layout.name})` : layout.name;
}
function fillLayoutOptions() {
  const select = $("layout-select");
  if (select.options.length !== state.layouts.length) {
    select.replaceChildren(...state.layouts.map((l) => el("option", { value: l.name })));
  }
  state.layouts.forEach((layout, i) => { select.options[i].textContent = layoutTitle(layout); });
  if (state.layout) select.value = state.layout.name;
}
function showPurpose() {
  const layout = state.layout;
  if (!layout) return;
  const key = `purpose.${layout.name}`;
  $("layout-purpose").textContent = state.lang === "vi" && known(key) ? t(key) : layout.purpose ?? "";
}

function chooseLayout(name) {
  rememberValues();
  state.layout = state.layouts.find((l) => l.name === name) ?? state.layouts[0] ?? null;
  if (!state.layout) return;
  $("layout-select").value = state.layout.name;
  showPurpose();
  $("slot-area").replaceChildren(...state.layout.slots.map(slotField));
  for (const slot of state.layout.slots) {
    const value = state.values[slot.name];
    if (value) setSlotValue(slot, value);
    labelSlot(slot);
  }
  buildViews();
  suggestId();
  changed();
}

function slotField(slot) {
  const box = el("div", { class: `field slot-${slot.kind}` });
  const problemId = `problem-${slot.name}`;
  if (slot.kind === "image") {
    box.append(el("span", { class: "label", id: `label-${slot.name}` }));
    const zone = el("div", { id: `drop-${slot.name}`, class: "drop", "aria-labelledby": `label-${slot.name}` });
    const thumb = el("img", { class: "thumb", alt: "", hidden: "" });
    const hint = el("span", { class: "drop-hint" });
    const pick = el("label", { for: `file-${slot.name}`, class: "button" });
    const file = el("input", {
      type: "file", id: `file-${slot.name}`, class: "file", accept: "image/png,image/jpeg,image/*",
      "aria-describedby": problemId,
    });
    const remove = el("button", { type: "button", class: "remove", hidden: "" });
    zone.append(thumb, hint, pick, file, remove);
    box.append(zone, el("input", { type: "hidden", id: `slot-${slot.name}` }));
    file.addEventListener("change", () => takePicture(slot, file.files?.[0]));
    remove.addEventListener("click", () => { setSlotValue(slot, ""); changed(); file.focus(); });
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      takePicture(slot, e.dataTransfer?.files?.[0]);
    });
  } else {
    box.append(el("label", { for: `slot-${slot.name}` }));
    const input = slot.multiline
      ? el("textarea", { rows: "2" })
      : el("input", { type: slot.qr ? "url" : "text", ...(slot.qr ? { inputmode: "url" } : {}) });
    input.id = `slot-${slot.name}`;
    input.setAttribute("aria-describedby", `${slot.qr ? `hint-${slot.name} ` : ""}${problemId}`);
    if (slot.required) input.setAttribute("aria-required", "true");
    input.addEventListener("input", () => { if (isFirstText(slot)) suggestId(); changed(); });
    box.append(input);
    if (slot.qr) box.append(el("p", { class: "hint", id: `hint-${slot.name}` }));
  }
  box.append(el("p", { class: "problem", id: problemId, "aria-live": "polite" }));
  return box;
}

function labelSlot(slot) {
  const need = t(slot.required ? "required" : "optional");
  const label = `${slotLabel(slot.name)} (${need})`;
  if (slot.kind === "image") {
    $(`label-${slot.name}`).textContent = label;
    const zone = $(`drop-${slot.name}`);
    zone.querySelector(".drop-hint").textContent = t("image_hint");
    zone.querySelector("label.button").textContent = t("image_pick");
    zone.querySelector(".remove").textContent = t("image_remove");
    zone.querySelector(".thumb").alt = t("image_thumb", slotLabel(slot.name));
  } else {
    document.querySelector(`label[for="slot-${CSS.escape(slot.name)}"]`).textContent = label;
    if (slot.qr) $(`hint-${slot.name}`).textContent = t("qr_hint");
  }
}

function slotValue(slot) { return $(`slot-${slot.name}`)?.value ?? ""; }
function setSlotValue(slot, value) {
  $(`slot-${slot.name}`).value = value;
  if (slot.kind !== "image") return;
  const zone = $(`drop-${slot.name}`);
  const thumb = zone.querySelector(".thumb");
  thumb.hidden = !value;
  if (value) thumb.src = value; else thumb.removeAttribute("src");
  zone.querySelector(".remove").hidden = !value;
  zone.classList.toggle("filled", Boolean(value));
  if (!value) zone.querySelector(".file").value = "";
}
function rememberValues() {
  for (const slot of state.layout?.slots ?? []) state.values[slot.name] = slotValue(slot);
}

// A picture becomes a data: URI; a large one is scaled down first: a phone's photo is
// too many pixels for a board and too many bytes for a playlist.
async function takePicture(slot, file) {
  if (!file) return;
  try {
    const uri = await readAsDataUri(file);
    const image = await loaded(uri);
    const side = Math.max(image.naturalWidth, image.naturalHeight);
    const plain = /^image\/(png|jpeg)$/.test(file.type);
    setSlotValue(slot, plain && side <= PICTURE_SIDE && file.size <= PICTURE_BYTES ? uri : shrink(image, file.type));
    setProblem(slot.name, "");
  } catch {
    setSlotValue(slot, "");
    setProblem(slot.name, t("image_bad"));
  }
  changed();
}
function readAsDataUri(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
function loaded(src) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = reject;
    image.src = src;
  });
}
function shrink(image, type) {
  const scale = Math.min(1, PICTURE_SIDE / Math.max(image.naturalWidth, image.naturalHeight));
  const canvas = el("canvas");
  canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
  canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
  canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
  const png = type === "image/png" ? canvas.toDataURL("image/png") : "";
  return png && png.length <= PICTURE_BYTES * 1.4 ? png : canvas.toDataURL("image/jpeg", 0.85);
}

// --- the item: id, times, schedule ---------------------------------------------------------
function isFirstText(slot) { return state.layout?.slots.find((s) => s.kind === "text" && !s.qr) === slot; }
// "Thông báo khẩn cấp" -> "thong-bao-khan-cap": what IDENTIFIER_PATTERN allows (letters,
// digits, . _ : -, a letter or digit first), cut at a word's end.
function slug(text) {
  const words = text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d")
    .toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  let id = "";
  for (const word of words) {
    const longer = id ? `${id}-${word}` : word;
    if (longer.length > ID_CHARS) return id || word.slice(0, ID_CHARS);
    id = longer;
  }
  return id;
}
function suggestId() {
  if (state.idTouched) return;
  const first = state.layout?.slots.find((s) => s.kind === "text" && !s.qr);
  $("item-id").value = slug(first ? slotValue(first) : "") || `muc-${state.items.length + 1}`;
}
function toBoardTime(local) {
  if (!local) return undefined;
  return `${local.length === 16 ? `${local}:00` : local.slice(0, 19)}${BOARD_OFFSET}`;
}
function fromBoardTime(stamp) {
  const ms = Date.parse(stamp);
  return Number.isNaN(ms) ? "" : new Date(ms + BOARD_OFFSET_MS).toISOString().slice(0, 16);
}
function whole(text) { return /^-?\d+$/.test(text.trim()) ? Number(text) : text; }

function currentItem() {
  const fields = {};
  for (const slot of state.layout?.slots ?? []) {
    const value = slotValue(slot);
    if (value.trim()) fields[slot.name] = value;
  }
  const item = {
    id: $("item-id").value.trim(), layout: state.layout?.name ?? "", fields,
    duration_s: whole($("item-duration").value), priority: whole($("item-priority").value),
  };
  const from = toBoardTime($("item-valid-from").value);
  const until = toBoardTime($("item-valid-until").value);
  if (from) item.valid_from = from;
  if (until) item.valid_until = until;
  const days = DAYS.filter((d) => document.querySelector(`#item-schedule-days .day-${d}`).checked);
  const start = $("item-schedule-from").value;
  const end = $("item-schedule-to").value;
  if (days.length || start || end) {
    item.schedule = [{ days: days.length ? days : [...DAYS], from: start, to: end }];
  }
  return item;
}

function loadItem(item) {
  state.values = { ...item.fields };
  state.idTouched = true;
  state.layout = null;
  chooseLayout(item.layout);
  $("item-id").value = item.id;
  $("item-duration").value = String(item.duration_s ?? 10);
  $("item-priority").value = String(item.priority ?? 0);
  $("item-valid-from").value = item.valid_from ? fromBoardTime(item.valid_from) : "";
  $("item-valid-until").value = item.valid_until ? fromBoardTime(item.valid_until) : "";
  const weekly = item.schedule?.[0];
  for (const d of DAYS) {
    document.querySelector(`#item-schedule-days .day-${d}`).checked = Boolean(weekly?.days.includes(d));
  }
  $("item-schedule-from").value = weekly?.from ?? "";
  $("item-schedule-to").value = weekly?.to ?? "";
  changed();
  $("layout-select").focus();
}

// --- problems beside their fields ---------------------------------------------------------
const INPUT_OF = {
  id: "item-id", duration_s: "item-duration", priority: "item-priority",
  valid_from: "item-valid-from", valid_until: "item-valid-until", schedule: "item-schedule-from",
};
function setProblem(field, text) {
  const node = $(`problem-${field}`);
  if (node) node.textContent = text;
}
function showProblems(problems) {
  state.problems = problems;
  const byField = new Map();
  for (const problem of problems) {
    const field = typeof problem === "object" && $(`problem-${problem.field}`) ? problem.field : "general";
    byField.set(field, [...(byField.get(field) ?? []), message(problem)]);
  }
  for (const node of document.querySelectorAll("#fields .problem")) {
    const field = node.id.replace(/^problem-/, "");
    node.textContent = (byField.get(field) ?? []).join(" ");
    const input = $(INPUT_OF[field] ?? `slot-${field}`);
    if (input && input.type !== "hidden") input.setAttribute("aria-invalid", String(byField.has(field)));
    $(`drop-${field}`)?.classList.toggle("invalid", byField.has(field));
  }
}

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
  const item = currentItem();
  const answer = await api("/api/check", { item }).catch(() => null);
  if (!answer) { showResult("item-add-result", { ok: false, key: "offline" }); return; }
  const problems = problemsOf(answer.body);
  showProblems(problems);
  if (problems.length || !answer.ok) { showResult("item-add-result", { ok: false, key: "not_added" }); return; }
  const at = state.items.findIndex((i) => i.id === item.id);
  if (at >= 0) state.items[at] = item; else state.items.push(item);
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
  link.download = $("save-name").value.trim() || "danh-sach.json";
  return problems;
}
async function save() {
  if (!state.items.length) { showResult("save-result", { ok: false, key: "empty_list" }); return; }
  try {
    const problems = await updatePlaylist();
    if (problems.length || !state.playlist) { showResult("save-result", { ok: false, problems }); return; }
    const answer = await api("/api/save", { filename: $("save-name").value.trim(), playlist: state.playlist });
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

// --- start -----------------------------------------------------------------------------------
async function start() {
  let lang = "vi";
  try { lang = localStorage.getItem("studio-lang") ?? "vi"; } catch { /* private mode */ }
  $("lang-vi").addEventListener("click", () => setLanguage("vi"));
  $("lang-en").addEventListener("click", () => setLanguage("en"));
  $("layout-select").addEventListener("change", (e) => chooseLayout(e.target.value));
  $("item-id").addEventListener("input", () => { state.idTouched = $("item-id").value !== ""; changed(); });
  for (const input of document.querySelectorAll(".settings input")) {
    if (input.id !== "item-id") input.addEventListener("input", changed);
  }
  $("item-add").addEventListener("click", addItem);
  $("save").addEventListener("click", save);
  $("publish").addEventListener("click", publish);
  $("playlist-version").addEventListener("change", updatePlaylist);
  $("save-name").addEventListener("input", () => { $("download").download = $("save-name").value.trim(); });
  $("download").addEventListener("click", (e) => { if (!state.downloadUrl) e.preventDefault(); });
  $("animate").checked = !matchMedia("(prefers-reduced-motion: reduce)").matches;
  $("animate").addEventListener("change", resume);
  document.addEventListener("visibilitychange", resume);
  // A picture dropped beside its zone must not replace the page with the picture.
  for (const kind of ["dragover", "drop"]) window.addEventListener(kind, (e) => e.preventDefault());
  $("playlist-version").value = String(boardVersion());
  setLanguage(lang);
  try {
    const [layouts, publishing] = await Promise.all([api("/api/layouts"), api("/api/publish")]);
    state.layouts = Array.isArray(layouts.body?.layouts) ? layouts.body.layouts : [];
    if (publishing.body?.enabled) {
      $("publish-box").hidden = false;
      state.publishHint = String(publishing.body.targets_hint ?? "");
      $("hint-publish").textContent = t("publish_hint", state.publishHint);
    }
  } catch {
    $("page-problem").textContent = t("offline");
    return;
  }
  fillLayoutOptions();
  chooseLayout(state.layouts[0]?.name);
  renderPlaylist();
}
start();
