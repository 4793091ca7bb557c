"""The agent's TOML configuration (CONTRACT §1), validated at start-up.

A bad file stops the agent with exit status 78 and one line per problem, each naming the
file (or environment variable), the key path and what is wrong. `SIGNAGE_<SECTION>__<KEY>`
environment variables override keys, which suits systemd drop-ins.
"""

from __future__ import annotations

import os
import tomllib
import urllib.parse
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agent.messages import (
    MAX_KEYRING_KEYS,
    ClockTime,
    Kid,
    OutputKind,
    ScopeName,
    SignedKind,
    Slug,
    clean_name,
)
from agent.tls_files import private_key_exposure, tls_files_problem
from display_layouts.input_problems import Problem, Problems, dotted, named_pattern, translate

if TYPE_CHECKING:
    from firmware_bridge.protocols import SerialSettings

    SerialConfig = SerialSettings
else:
    SerialConfig = Any  # checked by `_serial_section`, which loads the models it needs

DEFAULT_CONFIG_PATH = Path("/etc/signage-agent/agent.toml")
ENV_PREFIX = "SIGNAGE_"
EX_CONFIG = 78


# Named forms: an error says the words, the JSON Schema shows the pattern.
TOPIC_ROOT_PATTERN = named_pattern(
    r"^[^#+/\s][^#+\s]*[^#+/\s]$|^[^#+/\s]$",
    "an MQTT topic root such as signage/v1: no '#', '+' or spaces, no '/' at either end",
)
ALPHA_ADDRESS_PATTERN = named_pattern(r"^[0-9A-Fa-f]{2}$", "two hexadecimal digits, e.g. 00")


class Section(BaseModel):
    # TOML allows nan and inf: no number in the config may be anything but finite.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


LANGUAGE_PATTERN = named_pattern(
    r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$", "a language tag such as vi or vi-VN"
)
MAX_AREA_CODES = 64
AREA_CODE_PATTERN = named_pattern(
    r"^[^\s,<&]+$", "a CAP geocode value: no spaces, commas, '<' or '&'"
)
AreaCode = Annotated[str, Field(min_length=1, max_length=64, pattern=AREA_CODE_PATTERN)]


class BoardLocation(Section):
    """Where the board stands (WGS-84, decimal degrees), for CAP polygons and circles."""

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class BoardConfig(Section):
    id: Slug = Field(description="Board id; also the MQTT client id")
    district: Slug
    commune: Slug
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
        if len(set(codes)) != len(codes):
            raise ValueError("an area code is listed twice")
        return codes

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{zone}' (e.g. Asia/Ho_Chi_Minh)") from None
        return zone


class MqttConfig(Section):
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        default=None, description="1883, or 8883 with TLS"
    )
    topic_root: Annotated[str, Field(pattern=TOPIC_ROOT_PATTERN)] = "signage/v1"
    username: str | None = None
    password_file: Path | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    # Additions: reconnect backoff bounds (a random per-board jitter is applied on top).
    reconnect_min_s: Annotated[float, Field(gt=0, le=300)] = 1.0
    reconnect_max_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    max_queued_messages: Annotated[int, Field(ge=10, le=100_000)] = 1000
    # Heartbeats, events and command results kept while the broker is unreachable.
    outbox_bound: Annotated[int, Field(ge=10, le=1_000_000)] = 10_000
    # Addition: MQTT version. `auto` tries MQTT 5 and falls back to 3.1.1 for the rest of
    # the session when the broker refuses the protocol or closes before its CONNACK.
    protocol: Literal["auto", "5", "3.1.1"] = "auto"
    # Addition: the CONNACK deadline (also bounds the TCP connect and the TLS handshake).
    connect_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    # Addition: the broker's maximum packet size when it does not announce one (MQTT 3.1.1
    # brokers never do); the smaller of this and the announced one applies.
    max_packet_size: Annotated[int, Field(ge=1024, le=268_435_455)] | None = None

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol_number(cls, value: Any) -> Any:
        # `protocol = 5` in TOML is an integer; so is SIGNAGE_MQTT__PROTOCOL=5 once parsed.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def effective_port(self) -> int:
        return self.port or (8883 if self.tls else 1883)

    @field_validator("password_file", "ca_file", "cert_file", "key_file")
    @classmethod
    def _readable(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        # `validate` on a laptop checks a board's config whose key files are on the board.
        check = not (info.context or {}).get("files_elsewhere", False)
        if check and path is not None and not os.access(path, os.R_OK):
            raise ValueError(f"cannot read {path}")
        return path

    def named_files(self) -> dict[str, Path]:
        names = ("password_file", "ca_file", "cert_file", "key_file")
        return {f"mqtt.{n}": p for n in names if (p := getattr(self, n)) is not None}

    @field_validator("key_file")
    @classmethod
    def _private(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        check = not (info.context or {}).get("files_elsewhere", False)
        if check and path is not None and (exposed := private_key_exposure(path)) is not None:
            raise ValueError(exposed)
        return path

    @model_validator(mode="after")
    def _pairs(self) -> MqttConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.password_file is not None and self.username is None:
            raise ValueError("password_file needs a username")
        tls_files = [n for n in ("ca_file", "cert_file", "key_file") if getattr(self, n)]
        if tls_files and not self.tls:
            # Without it the board would send its password and content in clear.
            raise ValueError(f"{' and '.join(tls_files)} given but tls = false: set tls = true")
        return self

    @model_validator(mode="after")
    def _usable_tls_files(self, info: ValidationInfo) -> MqttConfig:
        if (info.context or {}).get("files_elsewhere", False) or not self.tls:
            return self
        problem = tls_files_problem(self.ca_file, self.cert_file, self.key_file)
        if problem is not None:
            raise ValueError(problem)
        return self

    def password(self) -> str | None:
        """The first line of `password_file`, as documented (a note or a second secret
        below it is not part of the password); doctor says when there are more lines."""
        if self.password_file is None:
            return None
        lines = self.password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""


class DisplayConfig(Section):
    output: OutputKind = "screen"
    width: Annotated[int, Field(ge=8, le=8192)] | None = None
    height: Annotated[int, Field(ge=8, le=8192)] | None = None
    fullscreen: bool = True
    fps: Annotated[int, Field(ge=1, le=120)] = 30
    # Addition: a folder of extra layout files (YAML) next to the built-in ones.
    layouts_dir: Path | None = None

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

    @field_validator("allowed_hosts")
    @classmethod
    def _lower_case_hosts(cls, hosts: list[str]) -> list[str]:
        return [host.lower().strip("[]") for host in hosts]  # as urlsplit gives them


# An alert feed's address (CONTRACT §6): https only, an alert must not be forged on the way.
_HTTPS_URL_PATTERN = named_pattern(r"^https://[^\s/?#]+\S*$", "an https:// URL, no spaces")
MAX_FEEDS = 8  # each one is polled in turn by one thread: a handful, not a directory


def _feed_address(url: str) -> str:
    try:
        parts = urllib.parse.urlsplit(url)
        host, _port = parts.hostname, parts.port  # a port that is not 1–65535 raises
    except ValueError:
        raise ValueError("a broken host or port (a port is a number from 1 to 65535)") from None
    if not host:
        raise ValueError("no host")
    return url


FeedUrl = Annotated[
    str,
    Field(pattern=_HTTPS_URL_PATTERN, max_length=2048),
    AfterValidator(_feed_address),
]


class AlertsConfig(Section):
    """Addition (CONTRACT §6): where alerts come from besides the MQTT alert topics."""

    # CAP Atom/RSS feeds, or single CAP documents, polled over https.
    feeds: Annotated[list[FeedUrl], Field(max_length=MAX_FEEDS)] = Field(default_factory=list)
    # Seconds between two polls of a feed (jittered by ±10 %; longer after failures).
    feed_interval_s: Annotated[float, Field(ge=15, le=86_400)] = 60.0
    # How long a CAP alert without `<expires>` stays on, from its `sent`.
    default_expiry_s: Annotated[int, Field(ge=60, le=7 * 86_400)] = 3600
    # An extreme or severe alert switches a display that is off on and lifts it to 100 %
    # while it lasts (agent/display_control.py); false leaves power and brightness to the
    # schedule and the commands, alerts or not.
    wake_display: bool = True

    @field_validator("feeds")
    @classmethod
    def _distinct_feeds(cls, feeds: list[str]) -> list[str]:
        if len(set(feeds)) != len(feeds):
            raise ValueError("a feed is listed twice")
        return feeds


class TrustKeyConfig(Section):
    """A root key (CONTRACT §7): trusted from the config file, so no keyring removes it."""

    kid: Kid = Field(description="The key's id, as signed messages name it (JWS kid)")
    public_key: Path = Field(description="A JWK or PEM public key file")
    may_sign: Annotated[list[SignedKind], Field(min_length=1)] = Field(
        description="What it may sign: playlist, alert, command, assignment, layout, keyring"
    )
    scopes: list[ScopeName] | None = Field(
        default=None, description="Channels or groups it may sign for; absent: all"
    )
    not_after: datetime | None = Field(
        default=None, description="After this time (with its offset) its signatures are refused"
    )

    @field_validator("public_key")
    @classmethod
    def _a_public_key(cls, path: Path, info: ValidationInfo) -> Path:
        if (info.context or {}).get("files_elsewhere", False):
            return path  # `validate` on a laptop: the key file is on the board
        from agent.trust.keys import read_public_key

        read_public_key(path)  # ValueError naming the file and what is wrong
        return path

    @field_validator("not_after")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time with its offset, e.g. 2027-01-01T00:00:00+07:00")
        return value

    @field_validator("may_sign")
    @classmethod
    def _distinct_kinds(cls, kinds: list[SignedKind]) -> list[SignedKind]:
        if len(set(kinds)) != len(kinds):
            raise ValueError("a kind is listed twice")
        return kinds


class TrustConfig(Section):
    """Addition (CONTRACT §7): signed messages, and the keys this board trusts."""

    # Refuse every unsigned message from the broker (inbox files are physical access).
    require_signatures: bool = False
    keys: Annotated[list[TrustKeyConfig], Field(max_length=MAX_KEYRING_KEYS)] = Field(
        default_factory=list
    )
    # A signed command older than this (its `issued_at`) is refused: no replays.
    command_max_age_s: Annotated[int, Field(ge=10, le=86_400)] = 300

    @field_validator("keys")
    @classmethod
    def _distinct_kids(cls, keys: list[TrustKeyConfig]) -> list[TrustKeyConfig]:
        kids = [key.kid for key in keys]
        if len(set(kids)) != len(kids):
            raise ValueError("a kid is listed twice")
        return keys

    @model_validator(mode="after")
    def _keys_to_check_with(self) -> TrustConfig:
        if self.require_signatures and not self.keys:
            raise ValueError("require_signatures = true needs at least one [[trust.keys]]")
        return self


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
