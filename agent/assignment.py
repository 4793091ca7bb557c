"""Where the board belongs (CONTRACT §8): the config's `[board]` values, replaced by the
last remote assignment accepted from `{root}/board/{b}/assignment`.

An assignment is applied when its version is greater than the one held (the config's
values count as no version: any first assignment replaces them). It is kept in the state
dir (written atomically before it is announced), so a board restarted without its broker
belongs where it was last put. A damaged saved assignment is set aside and reported once;
the config's values are used until the next assignment arrives.

This module holds the fact; what changes with it (the link's subscriptions, the groups'
content, alert targeting, the idle screen's name) is wired by the core (`Agent.place`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from agent.caches import short_reason
from agent.config import BoardConfig
from agent.messages import Assignment, AssignmentHealth
from agent.messages.assignment import heartbeat_area_codes
from agent.storage import StateFileProblem, StorageHealth, atomic_write, read_state_file, set_aside

log = logging.getLogger(__name__)

ASSIGNMENT_FILE: Final = "assignment.json"
MAX_ASSIGNMENT_BYTES: Final = 64 * 1024  # 32 groups, 64 codes and a name fit well within


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the board belongs now: what targeting and the idle screen use."""

    version: int | None  # the remote assignment in force; None: the config's values
    groups: tuple[str, ...]
    area_codes: tuple[str, ...]
    location: tuple[float, float] | None  # (lat, lon)
    name: str

    @classmethod
    def of_config(cls, board: BoardConfig) -> Placement:
        where = board.location
        return cls(
            version=None,
            groups=tuple(board.groups),
            area_codes=tuple(board.area_codes),
            location=(where.lat, where.lon) if where else None,
            name=board.name,
        )

    def assigned(self, assignment: Assignment) -> Placement:
        """This placement with an assignment's values; what it leaves out stays."""
        return Placement(
            version=assignment.version,
            groups=tuple(assignment.groups),
            area_codes=self.area_codes
            if assignment.area_codes is None
            else tuple(assignment.area_codes),
            location=self.location if assignment.location is None else assignment.location,
            name=self.name if assignment.name is None else assignment.name,
        )


@dataclass(frozen=True, slots=True)
class Moved:
    """An assignment accepted: where the board was and where it is now."""

    before: Placement
    after: Placement

    @property
    def joined(self) -> list[str]:
        return [group for group in self.after.groups if group not in self.before.groups]

    @property
    def left(self) -> list[str]:
        return [group for group in self.before.groups if group not in self.after.groups]


@dataclass(frozen=True, slots=True)
class Stale:
    version: int
    reason: str


class AssignmentState:
    def __init__(self, board: BoardConfig, state_dir: Path, health: StorageHealth) -> None:
        self.configured = Placement.of_config(board)
        # Not part of an assignment (CONTRACT §8): the district's and commune's channels
        # come from the config alone.
        self.district = board.district
        self.commune = board.commune
        self.placement = self.configured
        self.path = state_dir / ASSIGNMENT_FILE
        self.health = health

    def load(self) -> Placement:
        """The assignment kept before a restart (no broker needed), or the config's values
        when there is none; a damaged file is set aside and reported once."""
        instead = "the config's [board] values are used until an assignment is sent again"
        try:
            raw = read_state_file(self.path, MAX_ASSIGNMENT_BYTES)
            if raw is None:
                return self.placement
            assignment = Assignment.model_validate_json(raw, strict=True)
        except StateFileProblem as problem:
            set_aside(self.path, problem.reason, instead, self.health)
            return self.placement
        except (ValidationError, ValueError, RecursionError) as exc:
            reason = f"is not a valid assignment ({short_reason(exc)})"
            set_aside(self.path, reason, instead, self.health)
            return self.placement
        self.placement = self.configured.assigned(assignment)
        log.info(
            "assignment version %d restored: groups %s",
            assignment.version,
            ", ".join(self.placement.groups) or "none",
        )
        return self.placement

    def offer(self, assignment: Assignment) -> Moved | Stale:
        """A valid (and, where required, signed) assignment: in force when newer, kept on
        disk first; an equal or older version changes nothing."""
        held = self.placement.version
        if held is not None and assignment.version <= held:
            reason = (
                "already held"
                if assignment.version == held
                else f"older than the held version {held}"
            )
            return Stale(assignment.version, reason)
        key = f"write:{self.path}"
        try:
            atomic_write(self.path, assignment.model_dump_json(exclude_none=True).encode())
        except OSError as exc:
            self.health.problem(
                key,
                f"cannot save the assignment to {self.path} ({exc.strerror or exc}): after a "
                "restart the board belongs where its config says until it is sent again",
            )
        else:
            self.health.resolved(key)
        before = self.placement
        self.placement = self.configured.assigned(assignment)
        return Moved(before, self.placement)

    def health_report(self) -> AssignmentHealth:
        """The heartbeat's `assignment`."""
        placement = self.placement
        return AssignmentHealth(
            version=placement.version,
            groups=list(placement.groups),
            district=self.district,
            commune=self.commune,
            area_codes=heartbeat_area_codes(placement.area_codes),
            area_codes_count=len(placement.area_codes),
            location=placement.location,
        )
