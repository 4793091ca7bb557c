"""The command (CONTRACT §3): its envelope, the known commands with their typed
arguments, and the result the board answers with."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from agent.messages.base import Identifier, Inbound, Outbound
from agent.messages.text import ResultErrorText, clean_name, clean_text

# A command is read in two steps. `Command` is the envelope: what every command must be
# (an id to answer to, a name, free-form JSON args); a malformed one is rejected. Its name
# then selects one member of `KnownCommand`, the discriminated union on `command`, whose
# typed args are checked; what they get wrong fails that command (an `ok:false` result
# naming `args.percent`, …), and an unknown name is refused. The published schema of a
# command is `KnownCommand`: every command with its arguments.


MAX_ARGS_DEPTH = 8


def _clean_json_value(value: Any, path: str, depth: int) -> Any:
    # Free-form JSON (command args): the same rules as every other field, all the way down.
    if depth > MAX_ARGS_DEPTH:
        raise ValueError(f"{path}: nested deeper than {MAX_ARGS_DEPTH} levels")
    if isinstance(value, str):
        try:
            return clean_text(value)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path}: numbers must be finite (got {value})")
    if isinstance(value, list):
        return [_clean_json_value(v, f"{path}.{i}", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, dict):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            try:
                name = clean_name(key)
            except ValueError as exc:
                raise ValueError(f"{path}: a key {exc}") from None
            cleaned[name] = _clean_json_value(item, f"{path}.{name[:64]}", depth + 1)
        return cleaned
    return value


def _clean_args(args: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = _clean_json_value(args, "args", 0)
    return cleaned


CleanArgs = Annotated[dict[str, Any], AfterValidator(_clean_args)]


class CommandBase(BaseModel):
    """What the envelope and every member share. Not an `Inbound` model of its own: the
    members are read from an envelope already decoded (and its args cleaned), with the
    same rules."""

    model_config = Inbound.model_config

    type: Literal["command"]
    id: Identifier
    # Addition (CONTRACT §7): when the dashboard issued it. A signed command must carry
    # it and is refused once older than [trust] command_max_age_s (no replays).
    issued_at: AwareDatetime | None = Field(
        default=None, description="When it was issued (required on a signed command)"
    )


class Command(Inbound, CommandBase):
    """The envelope of every command, known or not: what is decoded from the wire."""

    command: Annotated[
        str, StringConstraints(min_length=1, max_length=64), AfterValidator(clean_name)
    ]
    args: CleanArgs = Field(default_factory=dict)


def _no_arguments(value: Any) -> Any:
    if isinstance(value, dict) and value:
        raise ValueError(f"takes no arguments (got {', '.join(sorted(value))})")
    return value


class NoArgs(BaseModel):
    """The args of a command that takes none: `{}` (or none at all)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _none_given(cls, value: Any) -> Any:
        return _no_arguments(value)


class BrightnessArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)

    percent: Annotated[int, Field(ge=0, le=100)] = Field(description="Brightness, 0-100 %.")
    for_s: Annotated[float, Field(gt=0, le=7 * 86_400)] | None = Field(
        default=None,
        description="Seconds to keep it (at most 7 days); without it, until the brightness "
        "schedule's next step.",
    )


class PowerArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    state: Literal["on", "off"]


class PingCommand(CommandBase):
    """Answers with the agent's version and the board's time."""

    command: Literal["ping"]
    args: NoArgs = Field(default_factory=NoArgs)


class ScreenshotCommand(CommandBase):
    """Publishes a PNG of the frame on show to the screenshot topic, then its result."""

    command: Literal["screenshot"]
    args: NoArgs = Field(default_factory=NoArgs)


class ReloadCommand(CommandBase):
    """Reads the layouts again and redraws (what SIGHUP does)."""

    command: Literal["reload"]
    args: NoArgs = Field(default_factory=NoArgs)


class SetBrightnessCommand(CommandBase):
    """Sets the brightness, optionally for a while."""

    command: Literal["set_brightness"]
    args: BrightnessArgs


class DisplayPowerCommand(CommandBase):
    """Switches the display on or off."""

    command: Literal["display_power"]
    args: PowerArgs


class RestartCommand(CommandBase):
    """Exits with EX_TEMPFAIL (75): systemd starts the agent again."""

    command: Literal["restart"]
    args: NoArgs = Field(default_factory=NoArgs)


KnownCommand = Annotated[
    PingCommand
    | ScreenshotCommand
    | ReloadCommand
    | SetBrightnessCommand
    | DisplayPowerCommand
    | RestartCommand,
    Field(discriminator="command"),
]


class CommandResult(Outbound):
    type: Literal["command_result"] = "command_result"
    id: str
    ok: bool
    data: dict[str, Any] | None = None
    error: ResultErrorText | None = None
