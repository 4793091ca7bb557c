// The content studio's page: a form made from a layout's slots, the board's own renderer
// drawing it at every size (POST /api/preview), the board's own checks (POST /api/check)
// shown beside the field they concern, and a playlist to save, download or publish.
// Plain modern JavaScript, no build step, nothing fetched from outside this server.
// Every text put into the page goes through textContent or an attribute: never HTML.
// This file holds the words, the shared state and helpers, and the start; the form,
// the previews and the playlist are studio-form.js, studio-previews.js and
// studio-playlist.js (classic scripts sharing one global scope, loaded in that order).
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
    edit_label: "Sửa mục {0}", remove_label: "Xóa mục {0}", item_n: "Mục {0} ({1})",
    item_line: "{0} · {1} giây", size_line: "Kích thước tệp: {0} (bảng nhận tối đa 1 MB).",
    size_over: "Tệp lớn {0}: vượt quá 1 MB bảng nhận. Hãy dùng ảnh nhỏ hơn.",
    save_name: "Tên tệp", save: "Lưu", download: "Tải xuống", saved: "Đã lưu vào: {0}",
    empty_list: "Danh sách phát chưa có mục nào. Bấm “Thêm vào danh sách phát” trước.",
    publish_to: "Gửi tới", publish: "Gửi lên bảng", publish_hint: "Ví dụ: {0}",
    offline: "Không kết nối được với xưởng nội dung (chương trình đã tắt?).",
    required: "bắt buộc", optional: "không bắt buộc", from_file: "tệp",
    image_hint: "Kéo ảnh vào đây, hoặc", image_pick: "Chọn ảnh…", image_remove: "Bỏ ảnh",
    image_thumb: "Ảnh đã chọn cho {0}", image_bad: "Tệp này không phải ảnh mà trình duyệt đọc được (hãy dùng PNG hoặc JPEG).",
    qr_hint: "Đường link mà mã QR dẫn tới, ví dụ https://phuong.gov.vn",
    video_url: "Địa chỉ đoạn phim (URL)", video_sha256: "Mã SHA-256 của tệp phim",
    video_hint: "Bản xem trước cho thấy khung hình đầu tiên của phim (tải về từ địa chỉ này).",
    "slot.video": "Đoạn phim", "layout.video": "Đoạn phim kèm chú thích",
    "purpose.video": "Một đoạn phim to hết cỡ, có thể kèm dòng chú thích; màn hình LCD (bảng LED chỉ chiếu phim).",
    preview_alt: "Bản xem trước {0}", preview_failed: "Chưa vẽ được: hãy điền đủ nội dung.", preview_error: "Không vẽ được bản xem trước.",
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
    edit_label: "Edit item {0}", remove_label: "Remove item {0}", item_n: "Item {0} ({1})",
    item_line: "{0} · {1} s", size_line: "File size: {0} (boards accept up to 1 MB).",
    size_over: "The file is {0}: more than the 1 MB boards accept. Use smaller pictures.",
    save_name: "File name", save: "Save", download: "Download", saved: "Saved to: {0}",
    empty_list: "The playlist has no items. Press “Add to the playlist” first.",
    publish_to: "Send to", publish: "Send to the boards", publish_hint: "For example: {0}",
    offline: "Cannot reach the content studio (has the program stopped?).",
    required: "required", optional: "optional", from_file: "file",
    image_hint: "Drop a picture here, or", image_pick: "Choose a picture…", image_remove: "Remove picture",
    image_thumb: "The picture chosen for {0}", image_bad: "This file is not a picture the browser can read (use PNG or JPEG).",
    qr_hint: "The link the QR code leads to, e.g. https://phuong.gov.vn",
    video_url: "Where the clip is served (URL)", video_sha256: "The clip file's SHA-256",
    video_hint: "The previews show the clip's first frame (downloaded from this address).",
    "slot.video": "Video clip",
    preview_alt: "Preview {0}", preview_failed: "Not drawn yet: complete the content.", preview_error: "Cannot draw the preview.",
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
const PICTURE_SIDES = [1920, 1600, 1280, 960]; // larger pictures are scaled down to fit
const PICTURE_BYTES = 512 * 1024; // a board's limit for one picture (agent/content.py)

const $ = (id) => document.getElementById(id);
const state = {
  lang: "vi", layouts: [], layoutProblems: [], layout: null, values: {}, items: [], idTouched: false,
  touched: new Set(), showAll: false,
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
  showLayoutProblems();
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
    ? result.problems.map((p) => `${where(p)}${message(p)}`).join(" · ")
    : t(result.key, ...(result.args ?? []));
  node.className = `result ${result.ok ? "ok" : "error"}`;
}
// Where a playlist's problem is, in words: "items.1.fields.body" -> "Mục 2 (lich-tiem): ".
function where(problem) {
  const path = typeof problem === "object" ? String(problem.path ?? "") : "";
  const item = /^items\.(\d+)/.exec(path);
  if (item) return `${t("item_n", Number(item[1]) + 1, state.items[Number(item[1])]?.id ?? "?")}: `;
  return path && path !== "$" ? `${path}: ` : "";
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
// The form field an input belongs to (a slot's name, or an item field's).
function fieldOf(input) {
  if (input.closest("#item-schedule-days")) return "schedule";
  const item = Object.keys(INPUT_OF).find((field) => INPUT_OF[field] === input.id);
  return item ?? input.id.replace(/^(slot|file)-/, "");
}
// A fresh form is not wrong yet: a field's problem shows once it was typed into, and
// every problem once the item is added (or an added one is being edited).
function showProblems(problems) {
  state.problems = problems;
  const byField = new Map();
  for (const problem of problems) {
    const named = typeof problem === "object" && $(`problem-${problem.field}`);
    if (named && !state.showAll && !state.touched.has(problem.field)) continue;
    const field = named ? problem.field : "general";
    byField.set(field, [...(byField.get(field) ?? []), message(problem)]);
  }
  for (const node of document.querySelectorAll("#fields [id^=\"problem-\"]")) {
    const field = node.id.replace(/^problem-/, "");
    node.textContent = (byField.get(field) ?? []).join(" ");
    const input = $(INPUT_OF[field] ?? `slot-${field}`);
    if (input && input.type !== "hidden") input.setAttribute("aria-invalid", String(byField.has(field)));
    $(`drop-${field}`)?.classList.toggle("invalid", byField.has(field));
    for (const part of ["url", "sha256"]) { // a video slot's two inputs
      $(`slot-${field}-${part}`)?.setAttribute("aria-invalid", String(byField.has(field)));
    }
  }
}
// --- start -----------------------------------------------------------------------------------
async function start() {
  let lang = "vi";
  try { lang = localStorage.getItem("studio-lang") ?? "vi"; } catch { /* private mode */ }
  $("lang-vi").addEventListener("click", () => setLanguage("vi"));
  $("lang-en").addEventListener("click", () => setLanguage("en"));
  $("layout-select").addEventListener("change", (e) => { state.showAll = false; chooseLayout(e.target.value); });
  $("fields").addEventListener("input", (e) => state.touched.add(fieldOf(e.target)));
  $("item-id").addEventListener("input", () => { state.idTouched = $("item-id").value !== ""; changed(); });
  for (const input of document.querySelectorAll(".settings input")) {
    if (input.id !== "item-id") input.addEventListener("input", changed);
  }
  $("item-add").addEventListener("click", addItem);
  $("save").addEventListener("click", save);
  $("publish").addEventListener("click", publish);
  $("playlist-version").addEventListener("change", updatePlaylist);
  $("save-name").addEventListener("input", () => { $("download").download = fileName(); });
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
    state.layoutProblems = problemsOf(layouts.body); // layout files left out, and why
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
  showLayoutProblems();
  chooseLayout(state.layouts[0]?.name);
  renderPlaylist();
  document.querySelector("main").setAttribute("aria-busy", "false");
}
// Deferred scripts all run before DOMContentLoaded: every part is defined by then.
document.addEventListener("DOMContentLoaded", start);
