"""Text rules of every payload: what inbound text may contain, and how long outbound
text may be (cut, never refused)."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

# Limits against absurd input; generous for real notices.
MAX_TEXT_CHARS = 4000


def clean_text(value: str) -> str:
    """NFC-normalise and refuse control characters (NUL, escape codes) and lone surrogates
    (not Unicode: they cannot even be encoded to UTF-8); keep newlines and tabs."""
    for index, char in enumerate(value):
        if "\ud800" <= char <= "\udfff":
            raise ValueError(f"contains a lone surrogate U+{ord(char):04X} at position {index}")
    text = unicodedata.normalize("NFC", value)
    for index, char in enumerate(text):
        if unicodedata.category(char) == "Cc" and char not in "\n\t":
            raise ValueError(f"contains control character U+{ord(char):04X} at position {index}")
    return text


def clean_name(value: str) -> str:
    """`clean_text` for one-line strings (names, senders): no newlines or tabs either."""
    text = clean_text(value)
    for index, char in enumerate(text):
        if char in "\n\t":
            raise ValueError(f"contains control character U+{ord(char):04X} at position {index}")
    return text


NoticeText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS), AfterValidator(clean_text)
]


LOG_EXCERPT_CHARS = 2000


def log_excerpt(text: str, limit: int = LOG_EXCERPT_CHARS) -> str:
    """`text` cut to `limit` characters for a log line (an event may echo long input)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


# Outbound text is bounded, whatever it quotes: a rejected payload just under the payload
# limit must not come back as an event the broker refuses (CONTRACT §3, event). Values
# are cut, never refused: an outbound message is built by the agent, not validated input.
MAX_PATH_CHARS = 200
MAX_MESSAGE_CHARS = 300
MAX_OUTBOUND_TEXT_CHARS = 500
MAX_URL_CHARS = 2048  # the inbound limit of an image URL
MAX_RESULT_ERROR_CHARS = 1000


def truncate(limit: int) -> Any:
    """A validator that cuts text to `limit` characters, ending it with "…"."""

    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            return value[: limit - 1] + "…"
        return value

    return BeforeValidator(cut)


# Outbound text of at most so many characters (cut, and said so in the schema).
PathText = Annotated[str, truncate(MAX_PATH_CHARS), Field(max_length=MAX_PATH_CHARS)]
MessageText = Annotated[str, truncate(MAX_MESSAGE_CHARS), Field(max_length=MAX_MESSAGE_CHARS)]
OutboundText = Annotated[
    str, truncate(MAX_OUTBOUND_TEXT_CHARS), Field(max_length=MAX_OUTBOUND_TEXT_CHARS)
]
UrlText = Annotated[str, truncate(MAX_URL_CHARS), Field(max_length=MAX_URL_CHARS)]
ResultErrorText = Annotated[
    str, truncate(MAX_RESULT_ERROR_CHARS), Field(max_length=MAX_RESULT_ERROR_CHARS)
]
