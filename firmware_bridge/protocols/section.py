"""`[serial]`: the union of the protocols' settings, told apart by `protocol`, with its
problems in words: each keeps its key path (`serial.alpha_mode`, not pydantic's
`serial.alpha.alpha_mode`), an unknown protocol or key gets the one that was meant, and
a key of another protocol says whose it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, get_args

from pydantic import Field, TypeAdapter, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError, ValidationError
from pydantic_core.core_schema import ErrorType

from display_layouts.input_problems import did_you_mean
from firmware_bridge.protocols.adalight_settings import AdalightSettings
from firmware_bridge.protocols.alpha_settings import AlphaSettings
from firmware_bridge.protocols.common import ProtocolSettings, not_one_of
from firmware_bridge.protocols.tpm2_settings import Tpm2Settings

# One line per protocol: its settings model (`<name>_settings.py`) in this union.
SerialSettings = Annotated[
    Tpm2Settings | AlphaSettings | AdalightSettings, Field(discriminator="protocol")
]


def _named(model: type[ProtocolSettings]) -> str:
    name: str = get_args(model.model_fields["protocol"].annotation)[0]
    return name


PROTOCOLS: dict[str, type[ProtocolSettings]] = {
    _named(model): model for model in get_args(get_args(SerialSettings)[0])
}
_KNOWN_ERROR_TYPES = frozenset(get_args(ErrorType))


class UnknownProtocol(ValueError):
    pass


def _in_words(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError as exc:
        section = value if isinstance(value, Mapping) else {}
        errors = [_reworded(detail, section) for detail in exc.errors()]
        raise ValidationError.from_exception_data(exc.title, errors) from None


def _custom(kind: str, message: str, loc: tuple[int | str, ...], value: Any) -> InitErrorDetails:
    error = PydanticCustomError(kind, "{message}", {"message": message})
    return InitErrorDetails(type=error, loc=loc, input=value)


def _reworded(detail: ErrorDetails, section: Mapping[str, Any]) -> InitErrorDetails:
    protocol = section.get("protocol")
    if detail["type"] == "union_tag_invalid":
        names = list(PROTOCOLS)
        message = (
            not_one_of(protocol, names, "a serial protocol")
            if isinstance(protocol, str)
            else f"not a serial protocol: {', '.join(names)}"
        )
        return _custom("serial_protocol", message, ("protocol",), protocol)
    if detail["type"] == "union_tag_not_found":
        return InitErrorDetails(type="missing", loc=("protocol",), input=section)
    loc = detail["loc"]
    if isinstance(protocol, str) and protocol in PROTOCOLS and loc[:1] == (protocol,):
        loc = loc[1:]  # the model's name is not a key of the file
        if detail["type"] == "extra_forbidden" and len(loc) == 1:
            return _custom("serial_key", _stray_key(str(loc[0]), protocol), loc, section)
    if detail["type"] not in _KNOWN_ERROR_TYPES:  # a custom error: its words as they are
        return _custom(detail["type"], detail["msg"], loc, detail["input"])
    again = InitErrorDetails(type=detail["type"], loc=loc, input=detail["input"])
    if "ctx" in detail:
        again["ctx"] = detail["ctx"]
    return again


def _stray_key(key: str, protocol: str) -> str:
    owners = [name for name, model in PROTOCOLS.items() if key in model.model_fields]
    if owners:
        whose = ", ".join(f"'{name}'" for name in owners)
        return f"only for protocol {whose} (this [serial] has protocol '{protocol}')"
    return "unknown key" + did_you_mean(key, PROTOCOLS[protocol].model_fields)


# `[serial]` in the agent's config.
SerialSection = Annotated[SerialSettings, WrapValidator(_in_words)]


def _known(name: object) -> str:
    if not isinstance(name, str) or name not in PROTOCOLS:
        raise UnknownProtocol(f"unknown serial protocol {name!r}")
    return name


@cache
def _adapter() -> TypeAdapter[SerialSettings]:
    return TypeAdapter(SerialSection)


def read_section(section: object) -> SerialSettings:
    """`[serial]` checked: raises pydantic's `ValidationError`, in words (`_in_words`)."""
    return _adapter().validate_python(section)


def serial_settings(**keys: Any) -> SerialSettings:
    """Settings from `[serial]` keys, as the config checks them (tests, benchmarks, the
    probe). Raises `UnknownProtocol`, or pydantic's `ValidationError`."""
    _known(keys.get("protocol"))
    return read_section(keys)


def unchecked_settings(**keys: Any) -> SerialSettings:
    """Settings taken as given, defaults filled in, nothing checked: for the protocols'
    worked examples and test panels smaller than a real one (2×1). The agent never uses
    this; its settings come through the config's checks."""
    settings: SerialSettings = PROTOCOLS[_known(keys.get("protocol"))].model_construct(**keys)  # type: ignore[assignment]
    return settings
