"""Remote commands from the dashboard (CONTRACT §3, command) and their results."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Protocol

import pygame
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agent import __version__
from agent.messages import (
    BrightnessArgs,
    Command,
    CommandBase,
    CommandResult,
    KnownCommand,
    NoArgs,
    PowerArgs,
    board_time,
    is_identifier,
)
from agent.output import png_bytes
from agent.storage import StateFileProblem, StorageHealth, atomic_write, read_state_file, set_aside
from agent.trust.replay import stale_command
from agent.validation import InvalidInput, decode, error
from display_layouts.input_problems import Problem, from_validation

if TYPE_CHECKING:
    from agent.brightness import Brightness
    from agent.clock import Clock
    from agent.link import MqttLink
    from agent.messages import Channel
    from agent.output import Output
    from agent.topics import Topics
    from agent.trust.desk import TrustDesk
    from display_layouts.library import LayoutLibrary

log = logging.getLogger(__name__)


EX_RESTART = 75  # EX_TEMPFAIL: "try again", which systemd's Restart=on-failure does
RETAINED_IGNORED = (
    "retained command ignored: commands are never taken from retained messages "
    "(publish commands without the retain flag; clear this one with an empty retained message)"
)

SCREENSHOT_SHRINK_TRIES = 6  # each try aims just under the limit; PNG sizes vary


def _scaled(surface: pygame.Surface, size: tuple[int, int]) -> pygame.Surface:
    try:
        return pygame.transform.smoothscale(surface, size)
    except ValueError:  # smoothscale needs 24 or 32 bits per pixel
        return pygame.transform.scale(surface, size)


class StallArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, defer_build=True)

    seconds: Annotated[float, Field(ge=0, le=600)] = 5


class StallCommand(CommandBase):
    """Test hook (SIGNAGE_TEST_HOOKS=1): freezes the render loop, for the watchdog tests.
    Not a `KnownCommand`: it is in no published schema."""

    command: Literal["stall"]
    args: StallArgs = Field(default_factory=StallArgs)


# Every command the runner can parse: the published union, and the test hook (which runs
# only when its handler is registered).
_TYPED: Final = TypeAdapter[KnownCommand | StallCommand](
    Annotated[KnownCommand | StallCommand, Field(discriminator="command")]
)


class CommandFailed(Exception):
    """A command that could not be carried out; the message goes into the result."""


def typed_command(command: Command) -> KnownCommand | StallCommand:
    """The command as its member of the union, typed args and all; what its args get
    wrong fails the command, naming each path (`args.percent: …`)."""
    try:
        return _TYPED.validate_python(command.model_dump(), strict=True)
    except ValidationError as exc:
        # The union's tag (the command's name) is left out of each error's path.
        found = from_validation(exc, KnownCommand | StallCommand)
        problems = "; ".join(f"{e.path}: {e.message}" for e in found)
        raise CommandFailed(problems) from None


def _recoverable_id(payload: bytes) -> str | None:
    """The id of a malformed command, when there is one to answer to."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    command_id = data.get("id") if isinstance(data, dict) else None
    # Only an id that is valid as such is echoed (no lone surrogates, no control codes).
    return command_id if isinstance(command_id, str) and is_identifier(command_id) else None


class SeenCommands:
    """Ids of the commands already run, kept on disk: a command runs at most once, also
    when the broker redelivers it after a restart. Commands are rare: a write each is fine.

    A damaged file (garbage, not a list of ids, not a file) is set aside and reported: the
    ids are then unknown, so a command the broker redelivers may run once more."""

    KEEP = 500
    MAX_FILE_BYTES = 1024 * 1024  # 500 ids of at most 128 characters, with room to spare

    def __init__(self, path: Path, health: StorageHealth | None = None) -> None:
        self.path = path
        self.health = health or StorageHealth()
        self._ids: dict[str, None] = dict.fromkeys(self._load())

    def _load(self) -> list[str]:
        instead = "the commands already run are forgotten: a redelivered one may run again"
        try:
            raw = read_state_file(self.path, self.MAX_FILE_BYTES)
            if raw is None:
                return []
            ids = json.loads(raw)
        except StateFileProblem as problem:
            set_aside(self.path, problem.reason, instead, self.health)
            return []
        except (ValueError, RecursionError):
            set_aside(self.path, "is not JSON", instead, self.health)
            return []
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            set_aside(self.path, "is not a list of command ids", instead, self.health)
            return []
        return ids[-self.KEEP :]

    def first_time(self, command_id: str) -> bool:
        if command_id in self._ids:
            return False
        self._ids[command_id] = None
        while len(self._ids) > self.KEEP:
            del self._ids[next(iter(self._ids))]
        try:
            atomic_write(self.path, json.dumps(list(self._ids)).encode())
        except OSError as exc:
            self.health.problem(
                f"write:{self.path}",
                f"cannot record command ids in {self.path} ({exc.strerror or exc}): after a "
                "restart a redelivered command may run again",
            )
        else:
            self.health.resolved(f"write:{self.path}")
        return True


class Display(Protocol):
    def set_power(self, on: bool) -> None: ...


class CommandHost(Protocol):
    """What commands need of the agent: its parts (read only) and a few actions. The core
    provides it; commands never import the core (no cycle)."""

    @property
    def clock(self) -> Clock: ...
    @property
    def storage(self) -> StorageHealth: ...
    @property
    def topics(self) -> Topics: ...
    @property
    def library(self) -> LayoutLibrary: ...
    @property
    def brightness(self) -> Brightness: ...
    @property
    def display(self) -> Display: ...
    @property
    def output(self) -> Output: ...
    @property
    def link(self) -> MqttLink | None: ...

    def reject(self, topic: str, channel: Channel | None, errors: list[Problem]) -> bool: ...
    def send(self, topic: str, body: str, *, urgent: bool = False) -> None: ...
    def publish(self, topic: str, payload: bytes) -> None: ...
    def reload(self) -> str | None: ...
    def request_stop(self, exit_code: int = 0) -> None: ...


class CommandRunner:
    def __init__(self, agent: CommandHost, seen_path: Path, trust: TrustDesk | None = None) -> None:
        self.agent = agent
        self.trust = trust  # None: commands are taken unsigned, as before [trust] (tests)
        self.seen = SeenCommands(seen_path, agent.storage)
        # Each takes its command's typed args (`typed_command`).
        self.handlers: dict[str, Callable[[Any], dict[str, Any]]] = {
            "ping": self.ping,
            "screenshot": self.screenshot,
            "reload": self.reload,
            "set_brightness": self.set_brightness,
            "display_power": self.display_power,
            "restart": self.restart,
        }
        if os.environ.get("SIGNAGE_TEST_HOOKS") == "1":
            self.handlers["stall"] = self.stall  # freezes the render loop: watchdog tests only

    def on_payload(self, topic: str, payload: bytes, *, retained: bool = False) -> None:
        if not payload:
            # How a retained command is removed from the broker: nothing to do, nothing wrong.
            log.info("empty message on %s (a retained command cleared): ignored", topic)
            return
        if retained:
            # A retained command would run again at every reconnect (a stale
            # `display_power off` switching the board off each time): never run one.
            self._refuse(topic, payload, [error("$", RETAINED_IGNORED)])
            return
        now = self.agent.clock.now()
        try:
            signed_by = None
            if self.trust is not None:
                admitted = self.trust.admit("command", None, payload, now)
                payload, signed_by = admitted.payload, admitted.kid
            command = decode(payload, Command, max_bytes=64 * 1024)
        except InvalidInput as exc:
            self._refuse(topic, payload, exc.errors)
            return
        if signed_by is not None and self.trust is not None:
            max_age = self.trust.command_max_age_s or 0
            stale = stale_command(command.issued_at, now, max_age)
            if stale is not None:
                self._refuse(topic, payload, [error("issued_at", stale)])
                return
        if command.command not in self.handlers:
            # Refused before it is recorded as seen: junk costs no disk write.
            known = ", ".join(sorted(self.handlers))
            unknown = f"unknown command '{command.command}' (known: {known})"
            if self.agent.reject(topic, None, [error("command", unknown)]):
                self._answer(CommandResult(id=command.id, ok=False, error=unknown))
            return
        if not self.seen.first_time(command.id):
            log.info("command %s already ran; not running it again", command.id)
            return
        self._answer(self.run(command))

    def _refuse(self, topic: str, payload: bytes, errors: list[Problem]) -> None:
        """One `content.rejected`, and an `ok:false` result when the command has an id to
        answer to; neither beyond the flood limit or for a retained replay (agent.reject)."""
        if not self.agent.reject(topic, None, errors):
            return
        command_id = _recoverable_id(payload)
        if command_id is not None:
            reason = "; ".join(f"{e.path}: {e.message}" for e in errors)
            self._answer(CommandResult(id=command_id, ok=False, error=f"invalid: {reason}"))

    def run(self, command: Command) -> CommandResult:
        handler = self.handlers.get(command.command)
        if handler is None:
            known = ", ".join(sorted(self.handlers))
            return CommandResult(
                id=command.id,
                ok=False,
                error=f"unknown command '{command.command}' (known: {known})",
            )
        try:
            data = handler(typed_command(command).args)
        except CommandFailed as exc:
            return CommandResult(id=command.id, ok=False, error=str(exc))
        log.info("command %s (%s) done", command.id, command.command)
        return CommandResult(id=command.id, ok=True, data=data)

    def _answer(self, result: CommandResult) -> None:
        self.agent.send(self.agent.topics.command_result, result.model_dump_json(exclude_none=True))

    def ping(self, _args: NoArgs) -> dict[str, Any]:
        return {"agent_version": __version__, "at": board_time(self.agent.clock.now())}

    def reload(self, _args: NoArgs) -> dict[str, Any]:
        """Read the layouts again and redraw (what SIGHUP does)."""
        problem = self.agent.reload()
        if problem is not None:
            raise CommandFailed(problem)
        return {"layouts": len(self.agent.library.specs)}

    def set_brightness(self, wanted: BrightnessArgs) -> dict[str, Any]:
        now = self.agent.clock.now()
        brightness = self.agent.brightness
        brightness.set(wanted.percent, wanted.for_s, now)  # applied by the next tick
        until = brightness.override.until if brightness.override else None
        return {"percent": wanted.percent, "until": board_time(until) if until else None}

    def display_power(self, wanted: PowerArgs) -> dict[str, Any]:
        self.agent.display.set_power(wanted.state == "on")  # the setting; an alert may outrank it
        return {"state": wanted.state}

    def restart(self, _args: NoArgs) -> dict[str, Any]:
        """Exit cleanly with EX_TEMPFAIL: systemd (Restart=on-failure) starts us again."""
        self.agent.request_stop(EX_RESTART)
        return {"exit_status": EX_RESTART}

    def stall(self, args: StallArgs) -> dict[str, Any]:
        seconds = args.seconds
        time.sleep(seconds)
        return {"stalled_s": seconds}

    def screenshot(self, _args: NoArgs) -> dict[str, Any]:
        """Publish a PNG of the frame on show, then answer with its size.

        A PNG bigger than the broker's maximum packet size would cost the connection: it
        is scaled down until it fits (the result says from what size), or refused.
        """
        canvas = self.agent.output.canvas
        topic = self.agent.topics.screenshot
        link = self.agent.link
        image = png_bytes(canvas)
        shot = canvas
        limit = link.max_packet_size if link is not None else None
        for _ in range(SCREENSHOT_SHRINK_TRIES):
            if link is None or link.fits(topic, image):
                break
            assert limit is not None
            ratio = max(0.1, min(0.9, (limit / link.packet_size(topic, image)) ** 0.5 * 0.9))
            width, height = shot.get_size()
            if min(width, height) * ratio < 8:
                break
            shot = _scaled(shot, (max(1, int(width * ratio)), max(1, int(height * ratio))))
            image = png_bytes(shot)
        if link is not None and not link.fits(topic, image):
            raise CommandFailed(
                f"screenshot too large for the broker: {len(image)} bytes, its maximum "
                f"packet size is {limit} bytes (raise max_packet_size at the broker)"
            )
        self.agent.publish(topic, image)
        width, height = shot.get_size()
        data: dict[str, Any] = {"width": width, "height": height, "bytes": len(image)}
        if shot is not canvas:
            data["scaled_from"] = list(canvas.get_size())
            data["reason"] = f"the broker's maximum packet size is {limit} bytes"
        return data
