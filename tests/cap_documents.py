"""CAP documents for the tests and the bench: the examples in docs/examples/cap, edits of
them that must be refused, and generated ones (many areas, many points)."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples" / "cap"
SPEC_EXAMPLES = ("spec-homeland-security", "spec-thunderstorm", "spec-earthquake", "spec-amber")
VIETNAMESE_EXAMPLES = (
    "vn-storm-bao-so-3",
    "vn-storm-bao-so-3-update",
    "vn-storm-bao-so-3-cancel",
    "vn-flood",
    "vn-epidemic",
    "vn-heat",
)


def example(name: str) -> bytes:
    return (EXAMPLES / f"{name}.xml").read_bytes()


def edited(name: str, old: str, new: str, count: int = 1) -> bytes:
    """Example `name` with `old` replaced by `new` (`count` times); fails loudly when `old`
    is not there, so a test cannot pass on a document it did not change."""
    text = example(name).decode()
    assert text.count(old) >= count, f"{old!r} not in {name} {count} times"
    return text.replace(old, new, count).encode()


def polygon_text(centre_lat: float, centre_lon: float, radius_deg: float, corners: int) -> str:
    """A closed, convex polygon of `corners` corners (the first repeated last)."""
    points = [
        (
            centre_lat + radius_deg * math.sin(2 * math.pi * i / corners),
            centre_lon + radius_deg * math.cos(2 * math.pi * i / corners),
        )
        for i in range(corners)
    ]
    points.append(points[0])
    return " ".join(f"{lat:.5f},{lon:.5f}" for lat, lon in points)


def many_areas(areas: int = 50, corners: int = 12) -> bytes:
    """A storm warning for `areas` communes, each a polygon and a geocode: the size of a
    province-wide bulletin."""

    def polygon(i: int) -> str:
        return polygon_text(20.5 + (i // 10) * 0.1, 105.3 + (i % 10) * 0.1, 0.04, corners)

    blocks = "".join(
        f"""
    <area>
      <areaDesc>Xã số {i + 1}</areaDesc>
      <polygon>{polygon(i)}</polygon>
      <geocode><valueName>MaDVHC</valueName><value>{10000 + i}</value></geocode>
    </area>"""
        for i in range(areas)
    )
    return edited(
        "vn-storm-bao-so-3",
        """    <area>
      <areaDesc>Nội thành Hà Nội</areaDesc>""",
        blocks.lstrip("\n")
        + """
    <area>
      <areaDesc>Nội thành Hà Nội</areaDesc>""",
    )


def cap_alert(
    identifier: str,
    sent: datetime,
    *,
    msg_type: str = "Alert",
    references: tuple[tuple[str, datetime], ...] = (),
    status: str = "Actual",
    severity: str = "Severe",
    urgency: str = "Immediate",
    certainty: str = "Observed",
    expires: datetime | None = None,
    headline: str = "Bão số 3 đổ bộ",
    area: str = "",
    sender: str = "pctt@hanoi.gov.vn",
    infos: int = 1,
    resource: str = "",
) -> bytes:
    """A CAP 1.2 message of one incident, as the tests need them: `references` are
    (identifier, sent) of earlier messages of the same sender; `area` is an <area>'s
    inner XML (none when empty), `resource` a <resource>'s."""
    refs = " ".join(f"{sender},{ident},{cap_time(at)}" for ident, at in references)
    info = f"""
  <info>
    <language>vi-VN</language>
    <category>Met</category>
    <event>Bão</event>
    <urgency>{urgency}</urgency>
    <severity>{severity}</severity>
    <certainty>{certainty}</certainty>
    {f"<expires>{cap_time(expires)}</expires>" if expires else ""}
    <senderName>Ban Chỉ huy PCTT TP Hà Nội</senderName>
    <headline>{headline}</headline>
    <description>Gió mạnh cấp 10, giật cấp 12.</description>
    <parameter><valueName>riskLevel</valueName><value>4</value></parameter>
    {f"<resource>{resource}</resource>" if resource else ""}
    {f"<area>{area}</area>" if area else ""}
  </info>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>{sender}</sender>
  <sent>{cap_time(sent)}</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {f"<references>{refs}</references>" if refs else ""}{info * infos}
</alert>
""".encode()


def cap_time(at: datetime) -> str:
    """CAP's time form: seconds, an offset, never "Z"."""
    return at.replace(microsecond=0).isoformat()
