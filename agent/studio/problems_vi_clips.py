"""The Vietnamese rows for a video slot's clip (issue 17), part of problems_vi.py's table
(kept apart for its length): what `probe_clip` refuses (agent/video/probe.py), what the
download says (agent/assets/download.py), and a slot that holds no clip reference
(agent/preview/clips.py). Each English sentence starts with the clip's URL, kept in the
Vietnamese so the content manager sees which clip. tests/studio/test_api_vi.py provokes
each row with a real clip served by a real HTTP server."""

from __future__ import annotations

CLIP_ROWS: tuple[tuple[str, str, str], ...] = (
    (
        "video_not_ref",
        r"a video slot takes \{\"url\": …, \"sha256\": …\}: where the clip is served and "
        r"its SHA-256",
        'Ô video cần {{"url": …, "sha256": …}}: địa chỉ nơi đặt đoạn phim và mã SHA-256 của nó.',
    ),
    (
        "clip_unreadable",
        r"(?P<where>\S+): not a video file the board can read \((?P<why>.*)\)",
        "Tệp {where} không phải đoạn phim mà bảng tin đọc được ({why}): hãy xuất lại phim "
        "dạng MP4 (H.264) hoặc WebM (VP9).",
    ),
    (
        "clip_no_video",
        r"(?P<where>\S+): no video stream \(streams: (?P<kinds>.*)\)",
        "Tệp {where} không có hình (chỉ có: {kinds}): hãy chọn tệp phim có hình.",
    ),
    (
        "clip_too_long",
        r"(?P<where>\S+): (?P<n>\d+) s long, beyond the limit of (?P<limit>\d+) s",
        "Đoạn phim {where} dài {n} giây; tối đa {limit} giây: hãy cắt ngắn lại.",
    ),
    (
        "clip_size",
        r"(?P<where>\S+): picture size (?P<w>\d+)x(?P<h>\d+) is beyond the limit of "
        r"(?P<mw>\d+)x(?P<mh>\d+)",
        "Đoạn phim {where} có khung hình {w}x{h}; tối đa {mw}x{mh}: hãy xuất phim nhỏ hơn.",
    ),
    (
        "clip_truncated",
        r"(?P<where>\S+): the clip's data ends (?:near|before) (?P<at>[\d.]+) s of the "
        r"(?P<total>[\d.]+) s its header says",
        "Đoạn phim {where} bị thiếu: dữ liệu hết sớm, khoảng giây {at} trong {total} giây; hãy "
        "tải lên lại tệp đầy đủ.",
    ),
    (
        "clip_sha256",
        r"(?P<where>\S+): SHA-256 mismatch: got (?P<got>[0-9a-f]{64})",
        "Tệp tải về từ {where} không khớp mã SHA-256 đã ghi (mã của tệp là {got}): hãy kiểm "
        "tra lại mã hoặc tệp.",
    ),
    (
        "clip_http",
        r"(?P<where>\S+): HTTP (?P<status>\d{3})\b.*",
        "Không tải được đoạn phim từ {where} (máy chủ trả lời HTTP {status}): hãy kiểm tra "
        "địa chỉ.",
    ),
    (
        "clip_unreachable",
        r"(?P<where>\S+): unreachable: (?P<why>.*)",
        "Không kết nối được tới máy chủ của {where} ({why}).",
    ),
)
