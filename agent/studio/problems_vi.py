"""The board's problems in Vietnamese, beside the form field they concern.

The board speaks English (its events and logs are read by technicians); a content
manager reads Vietnamese. Each row of `_TABLE` matches one shape of English sentence the
board's validation produces for a playlist item and says it in Vietnamese, keeping the
parts that name things (a slot, a number, a suggestion). tests/studio/test_api_vi.py
provokes every row with a real bad input, so a changed English sentence fails a test
instead of silently falling back. A sentence no row knows gets the generic Vietnamese
line and the English text itself.
"""

from __future__ import annotations

import re
from typing import Any

from agent.studio.problems_vi_clips import CLIP_ROWS
from display_layouts.input_problems import Problem

GENERIC_VI = "Nội dung này chưa hợp lệ"

# (row name, English shape, Vietnamese with the shape's groups by name; "{{" is a brace).
# First match wins: the more specific shapes come first. Each row is provoked by a real
# bad input in tests/studio/test_api_vi.py.
_TABLE: tuple[tuple[str, str, str], ...] = (
    # --- slots (agent/content.py, agent/messages/playlist.py) ---
    (
        "slot_missing",
        r"missing slot '(?P<slot>[^']*)' required by layout '(?P<layout>[^']*)'",
        "Bố cục '{layout}' cần ô '{slot}': hãy điền vào.",
    ),
    (
        "slot_unknown_hint",
        r"layout '(?P<layout>[^']*)' has no slot '(?P<slot>[^']*)'; "
        r"did you mean '(?P<hint>[^']*)'\?",
        "Bố cục '{layout}' không có ô '{slot}'; có phải ý bạn là '{hint}'?",
    ),
    (
        "slot_unknown",
        r"layout '(?P<layout>[^']*)' has no slot '(?P<slot>[^']*)'; its slots are "
        r"(?P<slots>.*)",
        "Bố cục '{layout}' không có ô '{slot}'; các ô của nó là: {slots}.",
    ),
    (
        "text_too_long",
        r"text is (?P<n>\d+) characters; the limit is (?P<limit>\d+)",
        "Văn bản dài {n} ký tự; tối đa {limit} ký tự.",
    ),
    ("empty", r"must not be empty", "Không được để trống."),
    (
        "control_char",
        r"contains control character U\+(?P<code>[0-9A-F]+) at position (?P<at>\d+)",
        "Có ký tự điều khiển U+{code} ở vị trí {at}; hãy xoá nó.",
    ),
    ("text_not_image", r"this slot takes text, not an image", "Ô này nhận chữ, không nhận ảnh."),
    (
        "not_text_or_image",
        r"must be text, a data: URI, or an object \{\"url\": …, \"sha256\": …\}",
        'Phải là chữ, một ảnh nhúng (data: URI) hoặc {{"url": …, "sha256": …}}.',
    ),
    # --- pictures (agent/content.py, display_layouts/image_check.py) ---
    (
        "not_data_uri",
        r"an image data URI must be .*",
        "Ảnh phải là ảnh PNG hoặc JPEG được nhúng (data:image/png;base64,… hoặc "
        "data:image/jpeg;base64,…): hãy kéo ảnh vào ô.",
    ),
    (
        "image_too_big",
        r"image is larger than (?P<kib>\d+) KiB",
        "Ảnh lớn hơn {kib} KiB; hãy dùng ảnh nhỏ hơn.",
    ),
    ("bad_base64", r"image data is not valid base64", "Dữ liệu ảnh không phải base64 hợp lệ."),
    (
        "image_wrong_kind",
        r"image data is not a (?P<kind>\w+) file",
        "Dữ liệu ảnh không phải là tệp {kind}.",
    ),
    (
        "image_too_many_pixels",
        r"the image declares (?P<w>\d+)×(?P<h>\d+) pixels; "
        r"the limit is (?P<limit>\d+) pixels a side",
        "Ảnh có kích thước {w}×{h} điểm ảnh; mỗi cạnh tối đa {limit} điểm ảnh.",
    ),
    (
        "image_too_many_megapixels",
        r"the image declares (?P<w>\d+)×(?P<h>\d+) pixels \((?P<mp>[\d.]+) MP\); "
        r"the limit is (?P<limit>[\d.]+) MP",
        "Ảnh có {w}×{h} điểm ảnh ({mp} triệu); tối đa {limit} triệu điểm ảnh: hãy thu nhỏ ảnh.",
    ),
    (
        "image_damaged",
        r"the (?P<kind>PNG|JPEG)\b.*",
        "Tệp ảnh {kind} bị hỏng hoặc không đầy đủ; hãy lưu lại ảnh rồi kéo vào lần nữa.",
    ),
    # --- image references ---
    (
        "url_pattern",
        r"String should be an http:// or https:// URL, no spaces",
        "Phải là một địa chỉ http:// hoặc https://, không có dấu cách.",
    ),
    ("bad_url", r"bad URL: (?P<why>.*)", "Địa chỉ (URL) không dùng được ({why})."),
    (
        "sha256",
        r"String should be a SHA-256: 64 lower-case hex digits",
        "Phải là mã SHA-256: 64 chữ số thập lục phân viết thường.",
    ),
    # --- the item's own fields ---
    (
        "id_pattern",
        r"String should be an id: .*",
        "Mã (id) chỉ gồm chữ cái, chữ số và . _ : - (bắt đầu bằng chữ cái hoặc chữ số).",
    ),
    (
        "id_repeated",
        r"id '(?P<id>[^']*)' is used by an earlier item",
        "Mã '{id}' đã được dùng cho một mục trước đó.",
    ),
    (
        "at_least",
        r"Input should be greater than or equal to (?P<n>-?\d+)",
        "Giá trị phải lớn hơn hoặc bằng {n}.",
    ),
    (
        "at_most",
        r"Input should be less than or equal to (?P<n>-?\d+)",
        "Giá trị phải nhỏ hơn hoặc bằng {n}.",
    ),
    ("integer", r"Input should be a valid integer.*", "Phải là một số nguyên."),
    (
        "until_before_from",
        r"must be later than valid_from",
        "Thời điểm hết hiệu lực phải sau thời điểm bắt đầu.",
    ),
    (
        "no_time_zone",
        r"Input should have timezone info",
        "Ngày giờ phải có múi giờ (ví dụ +07:00).",
    ),
    (
        "bad_datetime",
        r"Input should be a valid datetime.*",
        "Ngày giờ không hợp lệ (dạng 2026-12-31T08:00:00+07:00).",
    ),
    (
        "weekday",
        r"Input should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'",
        "Ngày trong tuần phải là mon, tue, wed, thu, fri, sat hoặc sun.",
    ),
    ("day_twice", r"lists a day twice", "Một ngày được chọn hai lần."),
    (
        "empty_window",
        r"`to` equals `from`: the window would be empty",
        "Giờ kết thúc trùng giờ bắt đầu: khung giờ sẽ trống.",
    ),
    (
        "clock_time",
        r"Input should be a time of day as HH:MM \(00:00 to 23:59\)",
        "Giờ phải có dạng HH:MM (từ 00:00 đến 23:59).",
    ),
    (
        "list_too_short",
        r"List should have at least (?P<n>\d+) items? after validation, not \d+",
        "Cần chọn ít nhất {n} mục.",
    ),
    (
        "list_too_long",
        r"List should have at most (?P<n>\d+) items? after validation, not \d+",
        "Nhiều nhất {n} mục.",
    ),
    (
        "too_many_fields",
        r"Dictionary should have at most (?P<n>\d+) items after validation, "
        r"not more",
        "Quá nhiều ô: nhiều nhất {n} ô.",
    ),
    (
        "chars_at_least",
        r"String should have at least (?P<n>\d+) characters?",
        "Cần ít nhất {n} ký tự.",
    ),
    (
        "chars_at_most",
        r"String should have at most (?P<n>\d+) characters?",
        "Nhiều nhất {n} ký tự.",
    ),
    ("required_key", r"required key is missing", "Thiếu mục bắt buộc này."),
    ("unknown_key_bare", r"unknown key", "Mục này không có trong mẫu; hãy bỏ nó đi."),
    ("not_object", r"Input should be an object", "Phải là một đối tượng JSON."),
    # --- layouts (agent/content.py; the studio's preview) ---
    (
        "layout_unknown_hint",
        r"unknown layout '(?P<layout>[^']*)'; did you mean '(?P<hint>[^']*)'\?",
        "Không có bố cục '{layout}'; có phải ý bạn là '{hint}'?",
    ),
    (
        "layout_unknown",
        r"unknown layout '(?P<layout>[^']*)'; known: (?P<known>.*)",
        "Không có bố cục '{layout}'; các bố cục có: {known}.",
    ),
    (
        "layout_reserved",
        r"layout '(?P<layout>[^']*)' is for the agent's own use",
        "Bố cục '{layout}' dành riêng cho bảng tin (cảnh báo, màn hình chờ); hãy chọn bố cục khác.",
    ),
    # --- the request itself (agent/studio) ---
    (
        "invalid_json",
        r"Invalid JSON: (?P<why>.*)",
        "Dữ liệu gửi lên không phải JSON hợp lệ ({why}).",
    ),
    (
        "duplicate_key",
        r"duplicate key '(?P<key>[^']*)' \(given (?P<n>\d+) times\)",
        "Mục '{key}' xuất hiện {n} lần.",
    ),
    (
        "too_large",
        r"the request is (?P<n>\d+) bytes; the limit is (?P<limit>\d+) MiB",
        "Dữ liệu gửi lên quá lớn ({n} byte; tối đa {limit} MiB): hãy dùng ảnh nhỏ hơn.",
    ),
    (
        "body_key_hint",
        r"unknown key '(?P<key>[^']*)'; did you mean '(?P<hint>[^']*)'\?",
        "Không biết mục '{key}'; có phải ý bạn là '{hint}'?",
    ),
    (
        "body_key",
        r"unknown key '(?P<key>[^']*)'; expected (?P<keys>.*)",
        "Không biết mục '{key}'; các mục có: {keys}.",
    ),
    ("body_required", r"'(?P<key>[^']*)' is required", "Thiếu '{key}'."),
    (
        "body_not_object",
        r"the body must be a JSON object",
        "Dữ liệu gửi lên phải là một đối tượng JSON.",
    ),
    (
        "member_not_object",
        r"'(?P<key>[^']*)' must be a JSON object",
        "'{key}' phải là một đối tượng JSON.",
    ),
    ("layout_name", r"'layout' must be a layout's name", "Hãy chọn một bố cục."),
    ("led_bool", r"'led' must be true or false", "'led' phải là true hoặc false."),
    ("not_utf8", r"not UTF-8: .*", "Dữ liệu gửi lên không phải văn bản UTF-8."),
    ("json_only", r"send the body as application/json", "Dữ liệu phải được gửi dạng JSON."),
    ("not_found", r"no such (?:page|file|endpoint)\b.*", "Không tìm thấy trang này."),
    (
        "size_shape",
        r"size must (?:look like|be text like) \"1920x1080\".*",
        "Kích thước phải có dạng 1920x1080 (rộng x cao).",
    ),
    (
        "size_bounds",
        r"width and height must be between (?P<lo>\d+) and (?P<hi>\d+) pixels",
        "Chiều rộng và chiều cao phải từ {lo} đến {hi} điểm ảnh.",
    ),
    (
        "at_seconds",
        r"'at' must be (?:a number of seconds|between .*)",
        "Thời điểm xem trước (at) phải là số giây từ 0 đến 86400.",
    ),
    (
        "filename_folder",
        r"the file name must be a plain name, without folders",
        "Tên tệp chỉ là một tên, không có thư mục (không có / hoặc \\).",
    ),
    ("filename_json", r"the file name must end in \.json", "Tên tệp phải kết thúc bằng .json."),
    (
        "filename_chars",
        r"the file name must not start with a dot or contain .*",
        'Tên tệp không được bắt đầu bằng dấu chấm hay chứa : < > " | ? * hoặc ký tự điều khiển.',
    ),
    (
        "filename_text",
        r"'filename' must be text like thong-bao\.json",
        "Hãy nhập tên tệp, ví dụ thong-bao.json.",
    ),
    (
        "cannot_write",
        r"cannot write (?P<path>.*): (?P<why>[^:]*)",
        "Không ghi được tệp {path} ({why}): hãy kiểm tra thư mục lưu.",
    ),
    (
        "filename_long",
        r"the file name is longer than (?P<n>\d+) characters",
        "Tên tệp dài quá {n} ký tự.",
    ),
    (
        "filename_device",
        r"'(?P<name>[^']*)' is a device name on Windows; choose another name",
        "'{name}' là tên thiết bị của Windows; hãy chọn tên khác.",
    ),
    # --- publishing (fleet/publish_targets.py, signage-fleet publish) ---
    (
        "target_level",
        r"'(?P<value>[^']*)' is not a (?P<what>[a-z ]+): lower-case letters, digits and '-'",
        "'{value}' không dùng được trong nơi nhận ({what}): chỉ chữ thường không dấu, chữ số "
        "và dấu '-'.",
    ),
    (
        "target_shape",
        r"--to '(?P<to>[^']*)' is not one of (?P<forms>.*)",
        "Nơi nhận '{to}' không đúng dạng; hãy dùng một trong: {forms}.",
    ),
    (
        "publish_failed",
        r"signage-fleet publish: (?P<why>.*)",
        "Không gửi lên được máy chủ tin nhắn (broker): {why}.",
    ),
    (
        "to_target",
        r"'to' must be a target such as .*",
        "Hãy nhập nơi nhận, ví dụ city hoặc district/<quận>.",
    ),
    (
        "internal_error",
        r"internal error \((?P<kind>\w+)\); the studio goes on",
        "Xưởng nội dung gặp lỗi ({kind}); hãy thử lại, và báo kỹ thuật viên nếu lỗi còn lặp lại.",
    ),
    (
        "publish_off",
        r"publishing is off: .*",
        "Chưa bật gửi lên bảng tin: hãy khởi động studio với --broker MÁY:CỔNG.",
    ),
    # --- a video slot's clip (agent/preview/clips.py) ---
    *CLIP_ROWS,
)
_COMPILED = tuple((name, re.compile(shape, re.DOTALL), vi) for name, shape, vi in _TABLE)
ROWS = tuple(name for name, _shape, _vi in _TABLE)

_ITEM_PREFIX = re.compile(r"^items\.\d+\.")
_ITEM_FIELDS = ("id", "layout", "duration_s", "priority", "valid_from", "valid_until", "schedule")


def in_vietnamese(message: str) -> str:
    """`message` (the board's English) said in Vietnamese."""
    for _name, shape, vi in _COMPILED:
        found = shape.fullmatch(message)
        if found is not None:
            return vi.format(**found.groupdict())
    return f"{GENERIC_VI} ({message})"


def row_of(message: str) -> str | None:
    """The name of the table row that says `message` in Vietnamese (None: the fallback)."""
    return next((name for name, shape, _vi in _COMPILED if shape.fullmatch(message)), None)


def form_field(path: str) -> str:
    """The form field a problem's path concerns: "fields.body" -> "body", "items.2.valid_until"
    -> "valid_until", "schedule.0.days" -> "schedule"; "" for the whole item or body."""
    path = _ITEM_PREFIX.sub("", path)
    parts = path.split(".")
    if parts[0] == "fields" and len(parts) > 1:
        return parts[1]
    if parts[0] in _ITEM_FIELDS:
        return parts[0]
    return parts[0] if parts[0] not in ("", "$") else ""


def as_json(problem: Problem, path: str | None = None) -> dict[str, Any]:
    """A problem as the page shows it (STUDIO_API.md): `path` replaces the problem's own
    (an item checked alone is items.0 to the board, the item itself to the page)."""
    shown = problem.path if path is None else path
    return {
        "path": shown,
        "field": form_field(shown),
        "message_vi": in_vietnamese(problem.message),
        "message_en": problem.message,
    }


def problem(path: str, message: str) -> dict[str, Any]:
    """A problem of the request itself (not of the board's validation), in both languages."""
    return as_json(Problem(path, message))


def layout_file_vi(source: str, message: str) -> str:
    """A layout file's problem (the folder's file is left out, the others work)."""
    # The layout loader's English is a technician's; the file's name says where to look.
    detail = in_vietnamese(message) if row_of(message) is not None else message
    return f"Tệp bố cục {source} có lỗi nên chưa dùng được: {detail}"
