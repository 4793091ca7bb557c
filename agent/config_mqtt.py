"""`[mqtt]` (CONTRACT §1): the broker, the account, TLS files, the session's settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from agent.config_base import Section
from agent.tls_files import private_key_exposure, tls_files_problem
from display_layouts.input_problems import named_pattern

# A named form: an error says the words, the JSON Schema shows the pattern.
TOPIC_ROOT_PATTERN = named_pattern(
    r"^[^#+/\s][^#+\s]*[^#+/\s]$|^[^#+/\s]$",
    "an MQTT topic root such as signage/v1: no '#', '+' or spaces, no '/' at either end",
)


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
