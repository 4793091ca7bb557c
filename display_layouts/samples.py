"""Sample Vietnamese notices for every built-in layout: the gallery, the golden-image
tests and the benchmark all draw these, so what is documented is what is tested.

Between them the samples use every Vietnamese letter with every tone mark (see
`ALL_LETTERS`), including the stacked ones (ẩ, ễ, Ặ) that a careless renderer cuts.
"""

from __future__ import annotations

import base64
import io
import unicodedata
from datetime import datetime, timedelta, timezone
from functools import cache

from display_layouts import theme
from display_layouts.image_formats import DATA_URI, PNG, RemoteImage, is_data_uri

# A fixed moment (a Friday afternoon in Hanoi): samples draw the same every time.
HANOI = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 27, 14, 5, 33, tzinfo=HANOI)
BOARD_NAME = "Bảng tin phường Bến Nghé"

VOWELS = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")


def _letters(vowels: str) -> str:
    return "".join(unicodedata.normalize("NFC", v + tone) for v in vowels for tone in TONES)


# Every Vietnamese vowel with every tone, lower and upper case, and đ Đ: 146 letters.
ALL_LETTERS = _letters(VOWELS) + _letters(VOWELS.upper()) + "đĐ"

BODY = (
    "Ủy ban nhân dân phường thông báo: do ảnh hưởng của bão số 3, từ 22 giờ đêm nay sẽ "
    "tạm ngừng cấp điện khu vực đường Nguyễn Trãi. Người dân chuẩn bị nước sinh hoạt."
)
# Pangram-like notices: together they hold every letter of ALL_LETTERS.
DIACRITICS = (
    "Thông báo khẩn cấp: Ấp Ầu, Ẩn Ẫn Ậy — ấ ầ ẫ ậ ặ ẳ ẵ ằ ắ; ế ề ể ễ ệ; ố ồ ổ ỗ ộ; ớ ờ ở ỡ ợ; "
    "ứ ừ ử ữ ự; ý ỳ ỷ ỹ ỵ; í ì ỉ ĩ ị; ú ù ủ ũ ụ; á à ả ã ạ; é è ẻ ẽ ẹ; ó ò ỏ õ ọ; "
    "Á À Ả Ã Ạ Ă Ắ Ằ Ẳ Ẵ Ặ Â Ấ Ầ Ẩ Ẫ Ậ É È Ẻ Ẽ Ẹ Ê Ế Ề Ể Ễ Ệ Í Ì Ỉ Ĩ Ị "
    "Ó Ò Ỏ Õ Ọ Ô Ố Ồ Ổ Ỗ Ộ Ơ Ớ Ờ Ở Ỡ Ợ Ú Ù Ủ Ũ Ụ Ư Ứ Ừ Ử Ữ Ự Ý Ỳ Ỷ Ỹ Ỵ "
    "ă â ê ô ơ ư đ Đ a e i o u y A E I O U Y"
)


def notices() -> dict[str, dict[str, str | RemoteImage]]:
    """Typical content for each built-in layout (the video's clip is
    sample_video.SAMPLE_CLIP, drawn by sample_video.SAMPLE_VIDEOS)."""
    from display_layouts.sample_video import SAMPLE_CLIP

    photo = sample_photo()
    return {
        "fullscreen_text": {"title": "Thông báo khẩn cấp", "text": BODY},
        "headline": {
            "title": "Lịch tiêm chủng",
            "body": BODY,
            "image": photo,
            "ticker": "Cảnh báo ngập lụt • Mất điện khu phố 3 • Nước sinh hoạt",
        },
        "image_caption": {"image": photo, "caption": "Đường Nguyễn Trãi sau cải tạo"},
        "led_text": {"text": "Bão số 3"},
        "video": {"video": SAMPLE_CLIP, "caption": "Hướng dẫn phòng chống bão"},
        "alert_full": {
            "headline": "Cảnh báo ngập lụt",
            "description": "Nước dâng cao tại đường Nguyễn Trãi, khu phố 3 và khu phố 4.",
            "instruction": "Không đi vào vùng ngập. Di chuyển tài sản lên cao.",
            "authority": "Ủy ban nhân dân phường Bến Nghé",
            "issued": "Phát lúc 13:50 27/11/2026",
            "expires": "Hết hiệu lực 22:00 27/11",
            **_risk(3),
        },
        "alert_banner": {
            "headline": "Ngập úng cục bộ tại đường Phúc Xá",
            "description": "Mưa lớn gây ngập sâu 30–40 cm đoạn từ ngõ 11 đến chợ Long Biên.",
            "label": "DIỄN TẬP",
            **_risk(1),
        },
        "idle": {},
    }


def _risk(level: int) -> dict[str, str]:
    """The risk band slots, as agent.alert_slots.alert_fields fills them."""
    band, ink = theme.risk_band(level)
    return {"risk": f"CẤP ĐỘ RỦI RO {level}", "risk_color": band, "risk_ink": ink}


# Alerts as an alerting authority sends them (CAP-like, docs/examples/alert-*.json), as
# the agent fills `alert_full` from them at the board's time zone (Asia/Ho_Chi_Minh);
# the gallery draws them, and the tests check that alert_fields gives exactly these.
ALERT_EXAMPLES: dict[str, dict[str, str]] = {
    "alert-city-storm": {
        "label": "CẢNH BÁO",
        "headline": "Bão số 3 đổ bộ: người dân ở trong nhà",
        "description": "Gió mạnh cấp 10, giật cấp 12, mưa rất to từ chiều nay đến sáng mai.",
        "instruction": "Không ra ngoài khi không cần thiết. Gọi 114 khi cần cứu hộ.",
        "authority": "Ban Chỉ huy Phòng thủ dân sự thành phố Hà Nội",
        "issued": "Phát lúc 14:05 27/11/2026",
        "expires": "Hết hiệu lực 06:00 28/11",
        **_risk(4),
    },
    "alert-district-flood": {
        "label": "CẢNH BÁO",
        "headline": "Lũ sông Hồng lên nhanh, vượt báo động 2",
        "description": "Mực nước tại Long Biên đạt 9,8 m và còn lên. Vùng bãi ngoài đê phường "
        "Phúc Xá có nguy cơ ngập sâu 0,5–1 m.",
        "instruction": "Người dân vùng bãi di chuyển tài sản, sẵn sàng sơ tán theo hướng dẫn "
        "của tổ dân phố.",
        "authority": "Ban Chỉ huy Phòng chống thiên tai quận Ba Đình",
        "issued": "Phát lúc 15:30 27/11/2026",
        "expires": "Hết hiệu lực 18:00 29/11",
        **_risk(3),
    },
    "alert-city-epidemic": {  # an epidemic is not a natural disaster: no risk level
        "label": "CẢNH BÁO",
        "headline": "Dịch sốt xuất huyết tại phường Phúc Xá",
        "description": "Đã ghi nhận 42 ca bệnh trong tuần, tập trung ở khu tập thể và khu "
        "vực ven đê.",
        "instruction": "Diệt bọ gậy, đậy kín dụng cụ chứa nước. Sốt cao, xuất huyết: đến "
        "ngay cơ sở y tế.",
        "authority": "Trung tâm Kiểm soát bệnh tật thành phố Hà Nội",
        "issued": "Phát lúc 08:00 27/11/2026",
        "expires": "Hết hiệu lực 08:00 11/12",
    },
    "alert-city-heat": {
        "label": "CẢNH BÁO",
        "headline": "Nắng nóng đặc biệt gay gắt, 40–42 °C",
        "description": "Độ ẩm thấp nhất 35–40 %. Nguy cơ cháy nổ, mất nước và sốc nhiệt khi "
        "làm việc ngoài trời.",
        "instruction": "Hạn chế ra ngoài từ 11 đến 16 giờ, uống đủ nước, không để trẻ em "
        "trong xe ô tô.",
        "authority": "Trung tâm Dự báo khí tượng thủy văn quốc gia",
        "issued": "Phát lúc 06:00 27/11/2026",
        "expires": "Hết hiệu lực 19:00 28/11",
        **_risk(2),
    },
}


def text_notice(layout: str) -> dict[str, str]:
    """notices()[layout] for a layout whose slots are all text or pictures."""
    fields = notices()[layout]
    texts = {name: value for name, value in fields.items() if isinstance(value, str)}
    if len(texts) != len(fields):
        raise ValueError(f"the {layout} notice holds a clip, not only text")
    return texts


def with_every_diacritic(layout: str) -> dict[str, str | RemoteImage]:
    """The layout's notice with DIACRITICS in every text slot."""
    return {
        name: DIACRITICS if isinstance(value, str) and not is_data_uri(value) else value
        for name, value in notices()[layout].items()
    }


@cache
def sample_photo() -> str:
    """A small generated picture (sky, sun, river, bank) as a PNG data: URI."""
    import pygame

    image = pygame.Surface((480, 300))
    image.fill((110, 170, 220))
    pygame.draw.circle(image, (255, 214, 90), (360, 80), 42)
    pygame.draw.rect(image, (58, 140, 82), (0, 170, 480, 130))
    pygame.draw.polygon(image, (40, 110, 170), [(0, 300), (150, 190), (260, 190), (480, 300)])
    buffer = io.BytesIO()
    pygame.image.save(image, buffer, "photo.png")
    return f"{DATA_URI}{PNG.mime};base64," + base64.b64encode(buffer.getvalue()).decode()
