"""The remote assignment (CONTRACT §8): where a board belongs, sent by the city on
`{root}/board/{b}/assignment` (retained), so moving a board between units or groups
needs no visit. Also the words the config's `[board]` shares with it: groups, area
codes, a location."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from agent.messages.base import Inbound, Outbound, Slug
from agent.messages.text import clean_name
from display_layouts.input_problems import named_pattern

MAX_GROUPS = 32  # a school, a ward, a route: a handful; a bound keeps subscriptions few
MAX_AREA_CODES = 64
# The first codes a heartbeat reports, by number and by their characters together (a
# code may be 64 characters): a heartbeat must stay small (under 1200 bytes).
HEARTBEAT_AREA_CODES = 16
HEARTBEAT_AREA_CODE_CHARS = 256


def heartbeat_area_codes(codes: tuple[str, ...]) -> list[str]:
    """The first area codes that fit the heartbeat's bound; `area_codes_count` tells the rest."""
    kept: list[str] = []
    used = 0
    for code in codes[:HEARTBEAT_AREA_CODES]:
        used += len(code)
        if used > HEARTBEAT_AREA_CODE_CHARS:
            break
        kept.append(code)
    return kept


AREA_CODE_PATTERN = named_pattern(
    r"^[^\s,<&]+$", "a CAP geocode value: no spaces, commas, '<' or '&'"
)
AreaCode = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=AREA_CODE_PATTERN)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
BoardName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(clean_name)]


def distinct(values: list[str], what: str) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} is listed twice")
    return values


class Assignment(Inbound):
    type: Literal["assignment"]
    version: Annotated[int, Field(ge=1, le=2**53)]
    groups: Annotated[list[Slug], Field(max_length=MAX_GROUPS)] = Field(
        description="The groups the board belongs to: its `group:{g}` channels"
    )
    area_codes: Annotated[list[AreaCode], Field(max_length=MAX_AREA_CODES)] | None = Field(
        default=None, description="CAP <geocode> values that cover the board; absent: the config's"
    )
    location: tuple[Latitude, Longitude] | None = Field(
        default=None, description="[lat, lon], WGS-84; absent: the config's"
    )
    name: BoardName | None = Field(default=None, description="Display name; absent: the config's")

    @field_validator("groups")
    @classmethod
    def _distinct_groups(cls, groups: list[str]) -> list[str]:
        return distinct(groups, "a group")

    @field_validator("area_codes")
    @classmethod
    def _distinct_codes(cls, codes: list[str] | None) -> list[str] | None:
        return None if codes is None else distinct(codes, "an area code")


class AssignmentHealth(Outbound):
    """The heartbeat's `assignment`: where the board belongs now."""

    version: int | None  # the remote assignment in force; null: the config's values
    groups: list[str]
    # Where the board is, for the fleet's alert reach (who is in scope of a district,
    # commune or area-targeted alert): the config's district and commune, and the codes
    # and location in force. The codes are bounded so a heartbeat stays small; the count
    # says how many the board holds.
    district: str | None = None
    commune: str | None = None
    area_codes: list[str] = Field(default_factory=list)
    area_codes_count: int = 0
    location: tuple[float, float] | None = None  # [lat, lon]
