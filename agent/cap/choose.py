"""Which `<info>` of a message the board shows, and what Vietnam's risk level is."""

from __future__ import annotations

from agent.cap.model import CapMessage, Info
from agent.cap.parse import RISK_LEVEL


def language_matches(wanted: str, language: str) -> bool:
    """Whether an info's `language` serves a board set to `wanted`: the same tag, or the
    same primary language ("vi" matches "vi-VN", and "vi-VN" matches "vi")."""
    wanted, language = wanted.casefold(), language.casefold()
    return wanted.partition("-")[0] == language.partition("-")[0]


def pick_language(infos: tuple[Info, ...], language: str) -> Info | None:
    """Of `infos`, the one in the board's language (an exact tag first), else the first."""
    for info in infos:
        if info.language.casefold() == language.casefold():
            return info
    for info in infos:
        if language_matches(language, info.language):
            return info
    return infos[0] if infos else None


def choose_info(message: CapMessage, language: str) -> Info | None:
    """The `<info>` to show on a board whose `[board] language` is `language` (CONTRACT
    §6); None only for a message without any (a Cancel, an Ack or an Error may have
    none)."""
    return pick_language(message.infos, language)


def risk_level(info: Info) -> int | None:
    """Vietnam's disaster risk level (1–5) from the `riskLevel` parameter, if given.

    The parser has checked every riskLevel value is 1–5; the first one counts."""
    for parameter in info.parameters:
        if parameter.name.casefold() == RISK_LEVEL.casefold():
            return int(parameter.value)
    return None
