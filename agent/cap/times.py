"""CAP date-times: `YYYY-MM-DDThh:mm:ss±hh:mm`, nothing else (CAP 1.2 §3.3.2).

Stricter than ISO 8601 on purpose: "Z" is not allowed (UTC is written -00:00) and the
schema has no fractions, so a time has one-second resolution. A sender that writes
either is told exactly that, rather than "bad time".
"""

from __future__ import annotations

import re
from datetime import datetime

_CAP_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", re.ASCII)
_FRACTION = re.compile(r"T\d\d:\d\d:\d\d[.,]\d")
_FORM = "YYYY-MM-DDThh:mm:ss±hh:mm"


def parse_cap_time(text: str) -> datetime:
    """The aware datetime `text` names; ValueError with a sentence for the sender."""
    if _CAP_TIME.fullmatch(text) is None:
        if text.endswith(("Z", "z")):
            raise ValueError(f"'Z' is not allowed in CAP times: write UTC as -00:00 ({_FORM})")
        if _FRACTION.search(text):
            raise ValueError(f"fractions of a second are not allowed in CAP times ({_FORM})")
        raise ValueError(f"must be a CAP time {_FORM}")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"is not a real date and time ({_FORM})") from None


def format_cap_time(moment: datetime) -> str:
    """`moment` as CAP writes it (UTC as -00:00), for references and round trips."""
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "-00:00" if text.endswith("+00:00") else text
