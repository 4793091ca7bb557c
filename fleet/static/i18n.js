/* The page's two languages: Vietnamese first (the default), English second.
   The choice is remembered in localStorage; pages re-render on "fleet:lang". */
"use strict";
(function () {
  const TEXT = {
    vi: {
      "nav.boards": "Bảng", "nav.alerts": "Cảnh báo", "nav.logout": "Đăng xuất",
      "live.connecting": "Đang kết nối…", "live.on": "Trực tiếp", "live.off": "Mất kết nối trực tiếp",
      "login.title": "Đăng nhập", "login.name": "Tên người dùng", "login.password": "Mật khẩu",
      "login.submit": "Đăng nhập",
      "login.failed": "Sai tên hoặc mật khẩu (hoặc thử quá nhiều lần).",
      "grid.title": "Các bảng", "grid.empty": "Chưa có bảng nào.",
      "state.online": "Trực tuyến", "state.offline": "Ngoại tuyến", "state.unknown": "Không rõ",
      "board.since": "từ", "board.heartbeat": "Nhịp tim", "board.showing": "Đang chiếu",
      "board.nothing": "Không có", "board.problems": "Sự cố", "board.noproblems": "Không có sự cố",
      "board.version": "Phiên bản", "board.where": "Vị trí", "board.history": "Lịch sử nhịp tim",
      "board.events": "Sự kiện", "board.plays": "Bằng chứng phát", "board.commands": "Lệnh",
      "board.older": "Cũ hơn", "board.allkinds": "Mọi loại", "board.cpu": "CPU %",
      "board.notfound": "Không có bảng này.", "board.screenshot": "Ảnh màn hình",
      "col.time": "Thời gian", "col.kind": "Loại", "col.details": "Chi tiết", "col.seq": "STT",
      "col.mem": "RAM %", "col.outbox": "Hàng đợi", "col.fps": "FPS", "col.temp": "Nhiệt độ",
      "col.command": "Lệnh", "col.by": "Người gửi", "col.result": "Kết quả", "col.item": "Mục",
      "col.channel": "Kênh", "col.layout": "Bố cục",
      "cmd.ping": "Ping", "cmd.screenshot": "Chụp màn hình", "cmd.reload": "Tải lại",
      "cmd.set_brightness": "Đặt độ sáng", "cmd.display_power": "Nguồn màn hình",
      "cmd.restart": "Khởi động lại", "cmd.waiting": "đang chờ…", "cmd.ok": "thành công",
      "cmd.failed": "thất bại", "cmd.confirm": "Khởi động lại bảng này?",
      "alerts.title": "Cảnh báo", "alerts.empty": "Chưa có cảnh báo nào.",
      "alert.reach": "Độ phủ", "alert.scope": "bảng trong phạm vi", "alert.showing": "Đang hiển thị",
      "alert.missing": "Chưa hiển thị", "alert.latency": "Độ trễ (ms)", "alert.sent": "Gửi lúc",
      "alert.ended": "Kết thúc", "alert.severity": "Mức độ", "alert.histogram": "Phân bố độ trễ",
      "alert.perboard": "Độ trễ từng bảng", "alert.notfound": "Không có cảnh báo này.",
      "alert.none": "Không có",
      "age.s": "{n} giây trước", "age.m": "{n} phút trước", "age.h": "{n} giờ trước",
      "age.d": "{n} ngày trước", "age.never": "chưa bao giờ",
    },
    en: {
      "nav.boards": "Boards", "nav.alerts": "Alerts", "nav.logout": "Log out",
      "live.connecting": "Connecting…", "live.on": "Live", "live.off": "Live updates lost",
      "login.title": "Log in", "login.name": "User name", "login.password": "Password",
      "login.submit": "Log in", "login.failed": "Wrong name or password (or too many tries).",
      "grid.title": "Boards", "grid.empty": "No boards yet.",
      "state.online": "Online", "state.offline": "Offline", "state.unknown": "Unknown",
      "board.since": "since", "board.heartbeat": "Heartbeat", "board.showing": "Showing",
      "board.nothing": "Nothing", "board.problems": "Problems", "board.noproblems": "No problems",
      "board.version": "Version", "board.where": "Where", "board.history": "Heartbeat history",
      "board.events": "Events", "board.plays": "Proof of play", "board.commands": "Commands",
      "board.older": "Older", "board.allkinds": "All kinds", "board.cpu": "CPU %",
      "board.notfound": "No such board.", "board.screenshot": "Screenshot",
      "col.time": "Time", "col.kind": "Kind", "col.details": "Details", "col.seq": "Seq",
      "col.mem": "Mem %", "col.outbox": "Outbox", "col.fps": "FPS", "col.temp": "Temp",
      "col.command": "Command", "col.by": "Sent by", "col.result": "Result", "col.item": "Item",
      "col.channel": "Channel", "col.layout": "Layout",
      "cmd.ping": "Ping", "cmd.screenshot": "Screenshot", "cmd.reload": "Reload",
      "cmd.set_brightness": "Set brightness", "cmd.display_power": "Display power",
      "cmd.restart": "Restart", "cmd.waiting": "waiting…", "cmd.ok": "ok",
      "cmd.failed": "failed", "cmd.confirm": "Restart this board?",
      "alerts.title": "Alerts", "alerts.empty": "No alerts yet.",
      "alert.reach": "Reach", "alert.scope": "boards in scope", "alert.showing": "Showing",
      "alert.missing": "Missing", "alert.latency": "Latency (ms)", "alert.sent": "Sent",
      "alert.ended": "Ended", "alert.severity": "Severity", "alert.histogram": "Latency distribution",
      "alert.perboard": "Latency per board", "alert.notfound": "No such alert.",
      "alert.none": "None",
      "age.s": "{n} s ago", "age.m": "{n} min ago", "age.h": "{n} h ago", "age.d": "{n} d ago",
      "age.never": "never",
    },
  };
  const KEY = "fleet.lang";
  function current() {
    const stored = window.localStorage.getItem(KEY);
    return stored === "en" ? "en" : "vi";
  }
  function t(key, vars) {
    let text = TEXT[current()][key] || TEXT.vi[key] || key;
    for (const [name, value] of Object.entries(vars || {})) text = text.replace("{" + name + "}", String(value));
    return text;
  }
  /* A server message is "Vietnamese / English": show the half for the language. */
  function pick(message) {
    const parts = String(message).split(" / ");
    if (parts.length < 2) return String(message);
    return current() === "en" ? parts.slice(1).join(" / ") : parts[0];
  }
  function apply() {
    const lang = current();
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.classList.toggle("active", button.dataset.lang === lang);
      button.setAttribute("aria-pressed", button.dataset.lang === lang ? "true" : "false");
    }
  }
  function set(lang) {
    window.localStorage.setItem(KEY, lang === "en" ? "en" : "vi");
    apply();
    document.dispatchEvent(new CustomEvent("fleet:lang"));
  }
  window.I18n = { t, pick, apply, set, current };
  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.addEventListener("click", () => set(button.dataset.lang));
    }
    apply();
  });
})();
