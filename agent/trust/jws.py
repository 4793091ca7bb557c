"""Signed messages on the wire (CONTRACT §7): the JWS compact serialization (RFC 7515)
with `alg` EdDSA over Ed25519 (RFC 8037).

    b64url(protected) "." b64url(payload) "." b64url(signature)

The protected header is `{"alg": "EdDSA", "kid": KID, "cty": "json" | "cap+xml" | "yaml"}`; the
signature covers the ASCII bytes `b64url(protected) "." b64url(payload)`. Reading the
framing is pure standard library (base64url and the strict JSON reader); only `verify`
needs a crypto library (PyNaCl, agent/trust/ed25519.py), loaded by the first key (a
board with `[trust]` makes its verifiers at start: agent/trust/gate.py `prepare`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from agent.validation import InvalidInput, error, parse_json, printable

if TYPE_CHECKING:
    from nacl.signing import VerifyKey

ContentType = Literal["json", "cap+xml", "yaml"]  # yaml: a layout's text (CONTRACT §8)
CONTENT_TYPES: Final[tuple[ContentType, ...]] = ("json", "cap+xml", "yaml")
ALGORITHM: Final = "EdDSA"
SIGNATURE_BYTES: Final = 64  # an Ed25519 signature, always
MAX_HEADER_BYTES: Final = 1024  # {"alg","kid","cty"}: a few dozen bytes; more is not ours
MAX_KID_CHARS: Final = 128
_B64URL: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_WHITESPACE: Final = b" \t\r\n"


@dataclass(frozen=True, slots=True)
class Jws:
    """A compact JWS read (not yet verified): who says they signed it, and what."""

    kid: str
    cty: ContentType
    payload: bytes  # the signed message: JSON or CAP XML bytes
    signing_input: bytes  # what the signature covers
    signature: bytes


def _compact(data: bytes) -> bool:
    """Three non-empty base64url parts joined by dots, nothing else (^[A-Za-z0-9_-]+ "."
    … $ without a regular expression: `translate` is one C loop, 100 KB in microseconds)."""
    return (
        data.translate(None, _B64URL) == b".."
        and not data.startswith(b".")
        and not data.endswith(b".")
        and b".." not in data
    )


def looks_like_jws(payload: bytes) -> bool:
    """Whether `payload` is a compact JWS (after whitespace): cheap for the common case,
    a JSON or XML payload is told apart by its first byte. JSON starts with "{", CAP with
    "<": the shapes never overlap."""
    start = payload.lstrip(_WHITESPACE)[:1]
    if start in (b"{", b"<", b""):
        return False
    return _compact(payload.strip(_WHITESPACE))


def b64url_decode(text: bytes, what: str) -> bytes:
    """Strict base64url without padding (RFC 7515 §2): one spelling per value, so a
    signature cannot be changed without changing its bytes."""
    spare = {0: 0, 2: 0x0F, 3: 0x03}.get(len(text) % 4)
    if spare is None or text.translate(None, _B64URL):
        raise InvalidInput([error("$", f"{what}: not base64url")])
    if spare and _B64URL.index(text[-1:]) & spare:  # stray bits in the last character
        raise InvalidInput([error("$", f"{what}: not canonical base64url")])
    try:
        return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInput([error("$", f"{what}: not base64url")]) from None


def b64url_encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _header(encoded: bytes) -> tuple[str, ContentType]:
    if len(encoded) > MAX_HEADER_BYTES * 4 // 3 + 4:
        raise InvalidInput([error("$", f"JWS header longer than {MAX_HEADER_BYTES} bytes")])
    raw = b64url_decode(encoded, "JWS header")
    try:
        header = parse_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput([error("$", "JWS header: not UTF-8")]) from None
    except InvalidInput as exc:
        raise InvalidInput([error("$", f"JWS header: {e.message}") for e in exc.errors]) from None
    if not isinstance(header, dict):
        raise InvalidInput([error("$", "JWS header: not a JSON object")])
    alg, kid, cty = header.get("alg"), header.get("kid"), header.get("cty")
    problems = []
    if alg != ALGORITHM:
        shown = printable(str(alg)) if alg is not None else "none"
        problems.append(error("$", f"JWS header: alg {shown} is not {ALGORITHM} (Ed25519)"))
    if "crit" in header:  # extensions we would have to understand: we understand none
        problems.append(error("$", "JWS header: crit extensions are not supported"))
    if not isinstance(kid, str) or not kid:
        problems.append(error("$", "JWS header: no kid (which key signed it)"))
    elif len(kid) > MAX_KID_CHARS or not kid.isprintable():
        problems.append(error("$", f"JWS header: kid '{printable(kid)}' is not a key id"))
    if cty not in CONTENT_TYPES:
        shown = printable(str(cty)) if cty is not None else "none"
        problems.append(error("$", f"JWS header: cty {shown} is neither json, cap+xml nor yaml"))
    if problems:
        raise InvalidInput(problems)
    assert isinstance(kid, str)
    return kid, next(known for known in CONTENT_TYPES if known == cty)


def parse_jws(payload: bytes, *, max_bytes: int) -> Jws:
    """The parts of a compact JWS, or `InvalidInput` saying what is wrong; the payload
    must be what `cty` says (a JSON object, or an XML document for CAP)."""
    if len(payload) > max_bytes * 4 // 3 + MAX_HEADER_BYTES * 2:
        raise InvalidInput([error("$", f"signed message is {len(payload)} bytes; too large")])
    compact = payload.strip(_WHITESPACE)
    if not _compact(compact):
        raise InvalidInput([error("$", "not a JWS compact serialization (three base64url parts)")])
    header_part, payload_part, signature_part = compact.split(b".")
    kid, cty = _header(header_part)
    body = b64url_decode(payload_part, "JWS payload")
    if len(body) > max_bytes:
        raise InvalidInput([error("$", f"signed payload is {len(body)} bytes; limit {max_bytes}")])
    signature = b64url_decode(signature_part, "JWS signature")
    if len(signature) != SIGNATURE_BYTES:
        message = f"JWS signature is {len(signature)} bytes; Ed25519 signs with {SIGNATURE_BYTES}"
        raise InvalidInput([error("$", message)])
    start = body.lstrip(_WHITESPACE)[:1]
    # YAML may start with anything (a comment, a key, even "{"): the layout loader judges it.
    if cty != "yaml" and (
        (cty == "json") != (start == b"{") or (cty == "cap+xml" and start != b"<")
    ):
        found = {b"{": "a JSON object", b"<": "an XML document"}.get(start, "neither")
        raise InvalidInput([error("$", f"JWS cty is {cty} but the payload is {found}")])
    signing_input = header_part + b"." + payload_part
    return Jws(kid=kid, cty=cty, payload=body, signing_input=signing_input, signature=signature)


def verify(jws: Jws, key: VerifyKey) -> bool:
    """Whether `key` made the signature (the one cryptographic step: agent/trust/ed25519.py)."""
    from agent.trust.ed25519 import signed_by

    return signed_by(key, jws.signing_input, jws.signature)
