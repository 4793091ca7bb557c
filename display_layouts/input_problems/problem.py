"""`Problem`, the exception that carries them, and did-you-mean."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

ROOT = "$"  # the path of a whole payload
MAX_KEY_CHARS = 64
# A misspelling is short; a longer "word" is input nobody typed (and costly to compare).
MAX_SUGGESTED_WORD_CHARS = 64


class Problem(BaseModel):
    """One thing wrong with an input: where it came from (a file, an environment variable;
    empty for a payload, whose event names the topic), where in it (a dotted key path, `$`
    for a whole payload), what is wrong, and the line of the file when known.

    A model, so that it serialises like the `{path, message}` an event carries."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    path: str
    message: str
    source: str = ""
    line: int | None = None

    def __init__(self, path: str, message: str, source: str = "", line: int | None = None) -> None:
        super().__init__(path=path, message=message, source=source, line=line)

    def __str__(self) -> str:
        text = ": ".join([*(part for part in (self.source, self.path) if part), self.message])
        return f"{text} (line {self.line})" if self.line is not None else text

    def within(self, source: object) -> str:
        """The line as printed under a heading that names `source` already."""
        if self.source != str(source):
            return str(self)
        return str(Problem(self.path, self.message, "", self.line))


class Problems(Exception):
    """An input that must be refused, with every problem found in it (not just the first).

    `errors` are the problems themselves; `problems` the same as ready-to-print lines
    ("SOURCE: PATH: message (line N)")."""

    def __init__(self, errors: Iterable[Problem]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.problems))

    @property
    def problems(self) -> list[str]:
        return [str(problem) for problem in self.errors]


def printable(text: str, limit: int = MAX_KEY_CHARS) -> str:
    """Untrusted text fit to quote in an error, an event or a log line: control characters
    and lone surrogates (which cannot even be encoded as UTF-8) escaped, length bounded."""
    if len(text) > limit:
        text = text[:limit] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` was most likely meant to be, if any is close enough."""
    if len(word) > MAX_SUGGESTED_WORD_CHARS:
        return None
    options = [c for c in choices if c != word]
    # "RGB" for "rgb": a word that differs only in case is the one meant (difflib compares
    # case-sensitively and finds nothing).
    close = [c for c in options if c.casefold() == word.casefold()][:1]
    close = close or difflib.get_close_matches(word, options, n=1)
    # "qrcode" for "qr", "colour" for "color": a shared start is a strong hint too.
    close = close or [c for c in options if len(c) > 1 and word.startswith(c[:2])][:1]
    return close[0] if close else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'X'?" for the closest choice, or "" when none is close."""
    match = closest(word, choices)
    return f"; did you mean '{printable(match)}'?" if match is not None else ""
