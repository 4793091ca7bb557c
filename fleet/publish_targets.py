"""Where `signage-fleet publish` sends a message: `--to` read as a target, and the topic
with its QoS and retain flag taken from the agent's own topic table (agent/topic_table.py)
— the rows the boards subscribe from, so a topic is never spelt here.

Targets (CONTRACT §2, §8): `city`, `district/D`, `commune/D/C`, `board/B`, `group/G` for
content and alerts; `board/B` (or `B`) for an assignment or a command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from agent.messages import is_identifier
from agent.messages.base import SLUG_PATTERN
from agent.topic_table import ALERT_ID, CONTENT_ROWS, LAYOUT_NAME, TOPIC_TABLE, TopicRow, row_for
from display_layouts.input_problems import printable
from display_layouts.model import LAYOUT_NAME_PATTERN, LAYOUT_NAME_WORDS

_SLUG: Final = re.compile(SLUG_PATTERN)
_LAYOUT: Final = re.compile(LAYOUT_NAME_PATTERN)
TARGET_FORMS: Final = "city, district/D, commune/D/C, board/B or group/G"


class BadTarget(ValueError):
    """`--to` (or an id that would become a topic level) cannot name a topic."""


@dataclass(frozen=True, slots=True)
class Destination:
    topic: str
    retain: bool
    qos: int
    row: TopicRow


@dataclass(frozen=True, slots=True)
class Target:
    """A content or alert scope and the topic levels it names."""

    scope: str  # city, district, commune, board, group (the table's `scope`)
    district: str | None = None
    commune: str | None = None
    board: str | None = None
    group: str | None = None

    def __str__(self) -> str:
        levels = [self.district, self.commune, self.board, self.group]
        return "/".join([self.scope, *(level for level in levels if level)])


def _slug(value: str, what: str) -> str:
    if len(value) > 64 or not _SLUG.fullmatch(value):
        raise BadTarget(
            f"'{printable(value, 80)}' is not a {what}: lower-case letters, digits and '-'"
        )
    return value


def parse_target(text: str | None) -> Target:
    """`--to` for content and alerts."""
    if not text:
        raise BadTarget(f"--to is required: {TARGET_FORMS}")
    scope, *levels = text.strip("/").split("/")
    shapes = {"city": 0, "district": 1, "commune": 2, "board": 1, "group": 1}
    if scope not in shapes or len(levels) != shapes[scope]:
        raise BadTarget(f"--to '{printable(text, 80)}' is not one of {TARGET_FORMS}")
    if scope == "district":
        return Target(scope, district=_slug(levels[0], "district"))
    if scope == "commune":
        district, commune = levels
        return Target(
            scope, district=_slug(district, "district"), commune=_slug(commune, "commune")
        )
    if scope == "board":
        return Target(scope, board=_slug(levels[0], "board id"))
    if scope == "group":
        return Target(scope, group=_slug(levels[0], "group"))
    return Target(scope)


def board_of(text: str | None) -> str:
    """`--to` for a board's own topics: `board/B` or `B`."""
    if not text:
        raise BadTarget("--to is required: the board, as board/B or B")
    return _slug(text.removeprefix("board/"), "board id")


def _address(row: TopicRow, root: str, **levels: str | None) -> Destination:
    values = {
        "root": root,
        "district": None,
        "commune": None,
        "board": None,
        "group": None,
        ALERT_ID: None,
        LAYOUT_NAME: None,
        **levels,
    }
    return Destination(row.template.format_map(values), row.retain, row.qos, row)


def content(root: str, target: Target) -> Destination:
    return _address(
        CONTENT_ROWS[target.scope],
        root,
        district=target.district,
        commune=target.commune,
        board=target.board,
        group=target.group,
    )


def _alert_row(scope: str) -> TopicRow:
    return next(row for row in TOPIC_TABLE if row.purpose == "alert" and row.scope == scope)


def alert(root: str, target: Target, alert_id: str) -> Destination:
    if not is_identifier(alert_id):
        raise BadTarget(
            f"'{printable(alert_id, 80)}' cannot be an alert topic's last level (letters, "
            "digits and . _ : - only, at most 128; a board refuses it too)"
        )
    return _address(
        _alert_row(target.scope),
        root,
        district=target.district,
        commune=target.commune,
        board=target.board,
        group=target.group,
        **{ALERT_ID: alert_id},
    )


def layout(root: str, name: str) -> Destination:
    if not _LAYOUT.fullmatch(name):
        raise BadTarget(f"'{printable(name, 80)}' is not a layout name: {LAYOUT_NAME_WORDS}")
    return _address(row_for("layout"), root, **{LAYOUT_NAME: name})


def board_topic(root: str, purpose: str, board: str) -> Destination:
    """assignment, command or command_result of one board."""
    rows = {"assignment", "command", "command_result"}
    assert purpose in rows
    return _address(row_for(purpose), root, board=board)  # type: ignore[arg-type]


def keyring(root: str) -> Destination:
    return _address(row_for("keyring"), root)


def clearable(root: str, text: str | None) -> Destination:
    """`clear -` with `--to` naming the topic under the root: `content/TARGET`,
    `alert/TARGET/ID` or `layout/NAME` — the rows whose messages include `clear`."""
    if not text:
        raise BadTarget(
            "clear -: --to names the topic: content/TARGET, alert/TARGET/ID, layout/NAME"
        )
    kind, _, rest = text.strip("/").partition("/")
    if kind == "content":
        return content(root, parse_target(rest))
    if kind == "alert":
        where, _, alert_id = rest.rpartition("/")
        if not where:
            raise BadTarget(f"--to '{printable(text, 80)}': an alert's topic is alert/TARGET/ID")
        return alert(root, parse_target(where), alert_id)
    if kind == "layout":
        return layout(root, rest)
    raise BadTarget(
        f"--to '{printable(text, 80)}': clear empties content/TARGET, alert/TARGET/ID or "
        "layout/NAME (the retained topics an empty payload clears)"
    )
