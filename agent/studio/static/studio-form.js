// The content studio's form: a layout's slots as inputs (pictures as data: URIs, a clip as
// its URL and SHA-256, as a playlist carries it) and the
// item's settings, read back as a playlist item (CONTRACT §3). Loaded after studio.js,
// whose words, state and helpers it uses.
"use strict";

// --- layouts and the form ----------------------------------------------------------------
function layoutTitle(layout) {
  const key = `layout.${layout.name}`;
  if (layout.source === "file") return `${layout.name} (${t("from_file")})`;
  return known(key) && state.lang === "vi" ? `${t(key)} (${layout.name})` : layout.name;
}
// A layout file of the --layouts-dir folder that could not be used: which, and why.
function showLayoutProblems() {
  $("layout-problems").replaceChildren(...state.layoutProblems.map((p) => el("li", {}, message(p))));
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
  const ours = state.lang === "vi" && layout.source !== "file" && known(key);
  $("layout-purpose").textContent = ours ? t(key) : layout.purpose ?? "";
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
  } else if (slot.kind === "video") {
    // A clip is never inline: where it is served and its digest, as a board fetches it.
    box.append(el("span", { class: "label", id: `label-${slot.name}` }));
    for (const part of ["url", "sha256"]) {
      const id = `slot-${slot.name}-${part}`;
      const input = el("input", {
        type: part === "url" ? "url" : "text", id, spellcheck: "false",
        "aria-describedby": `hint-${slot.name} ${problemId}`,
        ...(part === "url" ? { inputmode: "url" } : { maxlength: "64" }),
      });
      input.addEventListener("input", () => { state.touched.add(slot.name); changed(); });
      box.append(el("label", { for: id, class: `video-${part}` }), input);
    }
    box.append(el("p", { class: "hint", id: `hint-${slot.name}` }));
  } else {
    box.append(el("label", { for: `slot-${slot.name}` }));
    const input = slot.multiline
      ? el("textarea", { rows: "2" })
      : el("input", { type: slot.qr ? "url" : "text", ...(slot.qr ? { inputmode: "url" } : {}) });
    input.id = `slot-${slot.name}`;
    input.setAttribute("aria-describedby", `${slot.qr ? `hint-${slot.name} ` : ""}${problemId}`);
    if (slot.required) input.setAttribute("aria-required", "true");
    input.addEventListener("input", () => { suggestId(); changed(); });
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
  } else if (slot.kind === "video") {
    $(`label-${slot.name}`).textContent = label;
    for (const part of ["url", "sha256"]) {
      document.querySelector(`label[for="slot-${CSS.escape(slot.name)}-${part}"]`).textContent = t(`video_${part}`);
    }
    $(`hint-${slot.name}`).textContent = t("video_hint");
  } else {
    document.querySelector(`label[for="slot-${CSS.escape(slot.name)}"]`).textContent = label;
    if (slot.qr) $(`hint-${slot.name}`).textContent = t("qr_hint");
  }
}

// A video slot's value is {url, sha256} (either may still be empty), or "" when both are.
function slotValue(slot) {
  if (slot.kind !== "video") return $(`slot-${slot.name}`)?.value ?? "";
  const url = $(`slot-${slot.name}-url`)?.value.trim() ?? "";
  const sha256 = $(`slot-${slot.name}-sha256`)?.value.trim().toLowerCase() ?? "";
  return url || sha256 ? { url, sha256 } : "";
}
function filled(value) { return typeof value === "string" ? Boolean(value.trim()) : Boolean(value); }
function setSlotValue(slot, value) {
  if (slot.kind === "video") {
    $(`slot-${slot.name}-url`).value = typeof value === "object" ? value.url ?? "" : "";
    $(`slot-${slot.name}-sha256`).value = typeof value === "object" ? value.sha256 ?? "" : "";
    return;
  }
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
  state.touched.add(slot.name);
  try {
    const uri = await readAsDataUri(file);
    const image = await loaded(uri);
    const side = Math.max(image.naturalWidth, image.naturalHeight);
    const plain = /^image\/(png|jpeg)$/.test(file.type);
    const fits = plain && side <= PICTURE_SIDES[0] && file.size <= PICTURE_BYTES;
    setSlotValue(slot, fits ? uri : shrink(image, file.type));
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
// The largest side from PICTURE_SIDES, PNG (a PNG's sharp edges) or else JPEG of falling
// quality, that is within the board's limit; the smallest try when none is.
function shrink(image, type) {
  let last = "";
  for (const side of PICTURE_SIDES) {
    const scale = Math.min(1, side / Math.max(image.naturalWidth, image.naturalHeight));
    const canvas = el("canvas");
    canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
    canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
    canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
    const tries = type === "image/png" ? [canvas.toDataURL("image/png")] : [];
    for (const quality of [0.85, 0.7, 0.55]) tries.push(canvas.toDataURL("image/jpeg", quality));
    const fitting = tries.find((uri) => decodedBytes(uri) <= PICTURE_BYTES);
    if (fitting) return fitting;
    last = tries[tries.length - 1];
  }
  return last; // too big still: the board's check says so beside the field
}
function decodedBytes(uri) { return Math.floor(((uri.length - uri.indexOf(",") - 1) * 3) / 4); }

// --- the item: id, times, schedule ---------------------------------------------------------
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
// The id from the first text filled in (a title, else the notice itself); with no text
// yet, "muc-N" that no item of the playlist has.
function suggestId() {
  if (state.idTouched) return;
  const texts = (state.layout?.slots ?? []).filter((s) => s.kind === "text" && !s.qr);
  const first = texts.map((s) => slug(slotValue(s))).find(Boolean);
  let n = state.items.length + 1;
  while (state.items.some((i) => i.id === `muc-${n}`)) n += 1;
  $("item-id").value = first ?? `muc-${n}`;
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
    if (filled(value)) fields[slot.name] = value;
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
  state.showAll = true; // it was added: all its problems are worth showing
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
