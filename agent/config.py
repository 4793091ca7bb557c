"""The agent's TOML configuration (CONTRACT §1), validated at start-up.

A bad file stops the agent with exit status 78 and one line per problem, each naming the
file (or environment variable), the key path and what is wrong. `SIGNAGE_<SECTION>__<KEY>`
environment variables override keys, which suits systemd drop-ins.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    Field,
    PlainValidator,
    ValidationError,
    field_validator,
    model_validator,
)

from agent import time_zones
from agent.config_alerts import AlertsConfig
from agent.config_base import Section
from agent.config_mqtt import MqttConfig
from agent.config_trust import TrustConfig, TrustKeyConfig
from agent.messages import (
    MAX_AREA_CODES,
    MAX_GROUPS,
    AreaCode,
    ClockTime,
    OutputKind,
    Slug,
    clean_name,
)
from agent.messages.assignment import distinct
from display_layouts.input_problems import Problem, Problems, dotted, named_pattern, translate

if TYPE_CHECKING:
    from firmware_bridge.protocols import SerialSettings

    SerialConfig = SerialSettings
else:
    SerialConfig = Any  # checked by `_serial_section`, which loads the models it needs

# The sections kept in modules of their own, re-exported: `from agent.config import MqttConfig`.
__all__ = [
    "AlertsConfig",
    "MqttConfig",
    "Section",
    "TrustConfig",
    "TrustKeyConfig",
]

DEFAULT_CONFIG_PATH = Path("/etc/signage-agent/agent.toml")
ENV_PREFIX = "SIGNAGE_"
EX_CONFIG = 78


ALPHA_ADDRESS_PATTERN = named_pattern(r"^[0-9A-Fa-f]{2}$", "two hexadecimal digits, e.g. 00")


LANGUAGE_PATTERN = named_pattern(
    r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$", "a language tag such as vi or vi-VN"
)


class BoardLocation(Section):
    """Where the board stands (WGS-84, decimal degrees), for CAP polygons and circles."""

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class BoardConfig(Section):
    id: Slug = Field(description="Board id; also the MQTT client id")
    # Optional since the 2025 reform (CONTRACT §8): the district channel (and the commune
    # channel, whose topic names the district) exists only when it is set.
    district: Slug | None = Field(
        default=None, description="District slug; absent: no district or commune channel"
    )
    commune: Slug
    groups: Annotated[list[Slug], Field(max_length=MAX_GROUPS)] = Field(
        default_factory=list,
        description="Groups the board belongs to (unit codes, truong-hoc, …): group:{g} channels",
    )
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(clean_name)] = Field(
        description="Display name, any Unicode (NFC; no control characters)"
    )
    timezone: str = "Asia/Ho_Chi_Minh"
    # Addition (CONTRACT §6): which `<info>` of a CAP alert the board shows, and what it
    # checks an alert's `<area>`s against (the administrative unit codes it lies in, and
    # where it stands). A board with neither shows area-targeted alerts, and says so.
    language: Annotated[str, Field(pattern=LANGUAGE_PATTERN, max_length=35)] = Field(
        default="vi", description="Language tag (RFC 5646) of the alerts shown, e.g. vi"
    )
    area_codes: Annotated[list[AreaCode], Field(max_length=MAX_AREA_CODES)] = Field(
        default_factory=list,
        description="CAP <geocode> values that cover this board (commune, province codes)",
    )
    location: BoardLocation | None = None

    @field_validator("area_codes")
    @classmethod
    def _distinct_codes(cls, codes: list[str]) -> list[str]:
        return distinct(codes, "an area code")

    @field_validator("groups")
    @classmethod
    def _distinct_groups(cls, groups: list[str]) -> list[str]:
        return distinct(groups, "a group")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            time_zones.zone(zone)
        except time_zones.NoZoneDatabase as exc:  # not the name's fault: say what is missing
            raise ValueError(str(exc)) from None
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{zone}' (e.g. Asia/Ho_Chi_Minh)") from None
        return zone


class DisplayConfig(Section):
    output: OutputKind = "screen"
    width: Annotated[int, Field(ge=8, le=8192)] | None = None
    height: Annotated[int, Field(ge=8, le=8192)] | None = None
    fullscreen: bool = True
    fps: Annotated[int, Field(ge=1, le=120)] = 30
    # Addition: a folder of extra layout files (YAML) next to the built-in ones.
    layouts_dir: Path | None = None
    # Issue 17: a clip's sound track plays only when this is true; otherwise audio is
    # ignored. Most boards hang in the street with no speaker, and one that has one must
    # not start talking because a clip happens to carry sound. Off, the audio stream is
    # never decoded (no CPU spent, no sound device opened).
    audio: bool = False

    @model_validator(mode="after")
    def _both_or_neither(self) -> DisplayConfig:
        if (self.width is None) != (self.height is None):
            raise ValueError("give both width and height, or neither")
        return self


def _serial_section(value: object) -> SerialConfig | None:
    """`[serial]`: each protocol declares its own keys beside its code, `protocol` tells
    them apart (firmware_bridge/protocols/<name>_settings.py; docs/serial.md); problems
    keep their key paths below `serial`. Loaded only for a config with the section:
    boards without one never build those models (about 0.6 MB), and pyserial and the
    protocols' code wait for a board that opens its controller."""
    if value is None:  # a config built in code (demo) may say so
        return None
    from firmware_bridge.protocols import read_section

    return read_section(value)


class BrightnessStep(Section):
    at: ClockTime = Field(description="time of day, HH:MM, board time zone")
    percent: Annotated[int, Field(ge=0, le=100)]


class BrightnessConfig(Section):
    """Addition: brightness by time of day; each step holds until the next one."""

    schedule: list[BrightnessStep] = Field(default_factory=list)

    @field_validator("schedule")
    @classmethod
    def _distinct_times(cls, steps: list[BrightnessStep]) -> list[BrightnessStep]:
        times = [s.at for s in steps]
        if len(set(times)) != len(times):
            raise ValueError("two steps at the same time")
        return steps


class HealthConfig(Section):
    heartbeat_interval_s: Annotated[float, Field(ge=1, le=86_400)] = 30


class StorageConfig(Section):
    state_dir: Path = Path("/var/lib/signage-agent")


class InboxConfig(Section):
    dir: Path
    # Addition: content files read at most (the first by name); each also at most
    # [content] max_payload_bytes.
    max_files: Annotated[int, Field(ge=1, le=10_000)] = 100


# A host name or an IP address as it appears in a URL (no scheme, port or path).
_HOST_PATTERN = named_pattern(
    r"^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z]([0-9A-Za-z.-]{0,251}[0-9A-Za-z])?)$",
    "a host name or IP address, without scheme, port or path (e.g. cdn.example.vn)",
)


class ContentConfig(Section):
    """Addition: limits on inbound content."""

    max_payload_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    # Largest image downloaded for an item ({"url", "sha256"}).
    max_asset_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 16 * 1024 * 1024
    # Deadlines of one image download: connecting, the first byte of the answer, and the
    # whole download (a server that drips a byte a second is cut off by the last one).
    download_connect_timeout_s: Annotated[float, Field(gt=0, le=300)] = 10.0
    download_first_byte_timeout_s: Annotated[float, Field(gt=0, le=600)] = 20.0
    download_deadline_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    # Images downloaded at once (each streams to disk as it arrives); one per server.
    download_workers: Annotated[int, Field(ge=1, le=8)] = 3
    # Empty: images come from any host, and redirects stay on the same scheme and host.
    # Otherwise the only hosts images are fetched from, and the hosts redirects may go to.
    allowed_hosts: list[Annotated[str, Field(pattern=_HOST_PATTERN)]] = Field(default_factory=list)
    # Pictures (downloaded or data: URIs) larger than this are refused from their header,
    # before decoding: a decoded picture costs width × height × 4 bytes.
    max_image_side: Annotated[int, Field(ge=16, le=32768)] = 8192
    # At most what the renderer itself decodes (display_layouts.images.MAX_PIXELS).
    max_image_pixels: Annotated[int, Field(ge=256, le=4096 * 4096)] = 4 * 1024 * 1024
    # Largest video clip downloaded for an item (CONTRACT §10); clips stream to disk.
    max_video_bytes: Annotated[int, Field(ge=1024, le=4 * 1024 * 1024 * 1024)] = 200 * 1024 * 1024
    # The whole download of one clip (a 200 MiB clip on a slow cellular link takes long).
    video_download_deadline_s: Annotated[float, Field(gt=0, le=86_400)] = 1800.0
    # Space a clip download leaves free on the state directory's disk: the board's
    # content, its outbox and the system's logs share the SD card.
    min_free_disk_mb: Annotated[int, Field(ge=0, le=1024 * 1024)] = 64

    @field_validator("allowed_hosts")
    @classmethod
    def _lower_case_hosts(cls, hosts: list[str]) -> list[str]:
        return [host.lower().strip("[]") for host in hosts]  # as urlsplit gives them


class AgentConfig(Section):
    board: BoardConfig
    mqtt: MqttConfig | None = None
    display: DisplayConfig = DisplayConfig()
    serial: Annotated[SerialConfig | None, PlainValidator(_serial_section)] = None
    health: HealthConfig = HealthConfig()
    brightness: BrightnessConfig = BrightnessConfig()
    storage: StorageConfig = StorageConfig()
    inbox: InboxConfig | None = None
    content: ContentConfig = ContentConfig()
    alerts: AlertsConfig = AlertsConfig()
    trust: TrustConfig | None = None

    @model_validator(mode="after")
    def _serial_needs_section(self) -> AgentConfig:
        if self.display.output == "serial" and self.serial is None:
            raise ValueError('display.output = "serial" needs a [serial] section')
        return self


# A configuration that cannot be used: the one problem exception; `problems` are
# ready-to-print lines naming the file (or environment variable), the key and what is wrong.
ConfigError = Problems


def _parse_env_value(raw: str) -> Any:
    # Environment values are strings; read them as TOML values when they are one
    # (1883, true, "quoted", [1, 2]), else take the text as it is.
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Fold SIGNAGE_<SECTION>__<KEY> overrides into `data`; returns {dotted key: variable}."""
    origins: dict[str, str] = {}
    for name, raw in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name.removeprefix(ENV_PREFIX).lower().partition("__")
        target = data.setdefault(section, {})
        if isinstance(target, dict):
            target[key] = _parse_env_value(raw)
            origins[f"{section}.{key}"] = name
    return origins


def validate_config(
    data: dict[str, Any],
    source: str,
    origins: Mapping[str, str],
    *,
    files_elsewhere: bool = False,
) -> AgentConfig:
    try:
        return AgentConfig.model_validate(data, context={"files_elsewhere": files_elsewhere})
    except ValidationError as exc:
        problems = []
        # The config's reader wrote its values: each sentence ends with the one given.
        for loc, message in translate(exc, AgentConfig, show_input=True):
            where = origins.get(".".join(str(part) for part in loc))
            origin = f"{where} (environment)" if where else source
            problems.append(Problem(dotted(loc) if loc else "(top level)", message, origin))
        raise ConfigError(problems) from None


def load_config(
    path: Path, env: Mapping[str, str] | None = None, *, files_elsewhere: bool = False
) -> AgentConfig:
    """Read, merge environment overrides and validate; raises `ConfigError`.

    `files_elsewhere`: the files the config names (password, certificates) live on the
    board, not here, so their readability is not checked."""
    try:
        text = path.read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError([Problem("", f"cannot read: {exc.strerror or exc}", str(path))]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem("", f"not UTF-8 (byte {exc.start})", str(path))]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem("", f"invalid TOML: {exc}", str(path))]) from None
    origins = apply_env(data, os.environ if env is None else env)
    return validate_config(data, str(path), origins, files_elsewhere=files_elsewhere)
