"""The `[serial]` keys every protocol has, and how a protocol declares the line it needs.

Each protocol's own settings model (`protocols/<name>_settings.py`) extends
`ProtocolSettings` with `protocol: Literal["<name>"]` and its own keys; `[serial]` in the
agent's config is the union of them, told apart by `protocol`. Only pydantic and the
problems' wording (`display_layouts.input_problems`, a leaf) are imported here: any config
with `[serial]` loads these, on a laptop too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import InitErrorDetails, ValidationError

from display_layouts.input_problems import did_you_mean

ColorModel = Literal["mono", "tricolor", "rgb"]
Parity = Literal["none", "even", "odd"]
AckPolicy = Literal["auto", "wait", "off"]
Dither = Literal["none", "ordered"]


def not_one_of(value: str, options: Sequence[str], what: str) -> str:
    """`not a parity; did you mean 'even'?` when a choice is close, else the choices."""
    return f"not {what}" + (did_you_mean(value, options) or f": {', '.join(options)}")


def one_of(options: Sequence[str], what: str) -> BeforeValidator:
    """A check that a text value is one of `options`, in words (`not_one_of`). Values
    of other types pass on to the field's own type, whose error says what is wrong."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and value not in options:
            raise ValueError(not_one_of(value, options, what))
        return value

    return BeforeValidator(check)


def choice(literal: Any, what: str) -> BeforeValidator:
    """`one_of` the values of a `Literal[...]` type."""
    return one_of(get_args(literal), what)


@dataclass(frozen=True, slots=True)
class LineNeeds:
    """What a protocol needs of the serial line, checked when the config loads."""

    data_bits: frozenset[int] = frozenset((7, 8))
    data_bits_why: str = ""  # in words: why only these data bits work
    max_baudrate: int | None = None
    max_baudrate_why: str = ""  # in words: why no faster


class ProtocolSettings(BaseModel):
    # As the agent's config sections: unknown keys and non-finite numbers are refused.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    LINE: ClassVar[LineNeeds] = LineNeeds()

    protocol: str
    port: Annotated[str, Field(min_length=1)] = Field(
        description="device path or any pyserial URL (socket://host:port, rfc2217://…)"
    )
    baudrate: Annotated[int, Field(ge=300, le=12_000_000)] = 115200
    panel_width: Annotated[int, Field(ge=8, le=1024)]
    panel_height: Annotated[int, Field(ge=7, le=512)]
    color: Annotated[ColorModel, choice(ColorModel, "a colour model")] = "mono"
    # Line format: bits per character; what the controller is set to.
    bytesize: Literal[7, 8] = 8
    parity: Annotated[Parity, choice(Parity, "a parity")] = "none"
    stopbits: Literal[1, 2] = 1
    # Added to a packet's transmission time: a write stuck longer means the line is dead.
    write_timeout_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    reconnect_min_s: Annotated[float, Field(gt=0, le=300)] = 0.5
    reconnect_max_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    # Mono conversion: luminance threshold (0-255), or ordered dither for pictures.
    threshold: Annotated[int, Field(ge=0, le=255)] = 128
    dither: Annotated[Dither, choice(Dither, "a dither")] = "none"
    gamma: Annotated[float, Field(ge=1.0, le=4.0)] = 2.2  # RGB: LEDs are linear, frames sRGB

    @model_validator(mode="after")
    def _line_as_needed(self) -> ProtocolSettings:
        needs = type(self).LINE
        problems: list[tuple[str, int, str]] = []
        if self.bytesize not in needs.data_bits:
            problems.append(("bytesize", self.bytesize, needs.data_bits_why))
        if needs.max_baudrate is not None and self.baudrate > needs.max_baudrate:
            problems.append(("baudrate", self.baudrate, needs.max_baudrate_why))
        if problems:
            # Raised as a ValidationError so that each problem keeps its own key path.
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type="value_error", loc=(key,), input=value, ctx={"error": ValueError(why)}
                    )
                    for key, value, why in problems
                ],
            )
        return self

    # --- what the writer reads ----------------------------------------------------------------

    @property
    def size(self) -> tuple[int, int]:
        return (self.panel_width, self.panel_height)

    @property
    def bits_per_byte(self) -> int:
        """Start bit, data bits, parity bit, stop bits: what one byte costs on the line."""
        return 1 + self.bytesize + (0 if self.parity == "none" else 1) + self.stopbits

    @property
    def bytes_per_second(self) -> float:
        return self.baudrate / self.bits_per_byte

    @property
    def line_format(self) -> str:
        """8N1, 7E1… as technicians write it."""
        return f"{self.bytesize}{self.parity[0].upper()}{self.stopbits}"

    @property
    def ack_policy(self) -> AckPolicy:
        """Whether to wait for the controller's acknowledgements; only protocols whose
        controllers send them (TPM2) have keys for it."""
        return "off"

    @property
    def ack_timeout(self) -> float:
        """How long beyond a packet's transmission time its acknowledgement may take."""
        return 0.0
