"""The city's side of signed messages (CONTRACT §7): Ed25519 key files, and the JWS
compact serialization (RFC 7515, `alg` EdDSA per RFC 8037) that a board verifies.

    key = generate_key_files("alerts-2026", Path("/media/keys"))   # NAME.key, NAME.pub.jwk
    signer = load_signing_key(Path("/media/keys/alerts-2026.key"))
    jws = sign_message(signer, payload)                           # payload checked first

The cryptography itself is the `cryptography` package's; this module only frames it
(base64url, the protected header) and keeps private key material out of every message
it raises. It is imported by the `keys` and `sign` commands only: a board's `run` never
loads `cryptography` (it verifies with PyNaCl: agent/trust/ed25519.py).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import TypeAdapter, ValidationError

from agent.alert_kind import looks_like_cap
from agent.messages import Identifier
from agent.trust.jws import ContentType, b64url_encode
from agent.validate import MAX_FILE_BYTES
from agent.validation import InvalidInput, parse_json
from display_layouts.input_problems import ROOT, Problem, printable, translate

KEY_SUFFIX = ".key"
PUBLIC_KEY_SUFFIX = ".pub.jwk"
# A PKCS8 PEM Ed25519 key is 119 bytes; anything far bigger is not one (and is not read
# into memory whole).
MAX_KEY_FILE_BYTES = 16 * 1024

_KID: TypeAdapter[str] = TypeAdapter(Identifier)


class SigningRefused(Exception):
    """A key name, key file or message that cannot be used, in sentences that name it.

    Never carries key material: the text is built here from names and sizes only, not
    from the library's own messages about a key's bytes."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)


class BadKeyName(SigningRefused):
    """NAME is not fit to be a kid and a file name."""


class KeyFileExists(SigningRefused):
    """`keys generate` never overwrites a key: a lost private key cannot be undone."""


class CannotWrite(SigningRefused):
    """The key files could not be created (no such folder, no permission, disk full)."""


class CannotRead(SigningRefused):
    """A key file or message could not be read."""


class BadKeyFile(SigningRefused):
    """The file is not an unencrypted PKCS8 PEM Ed25519 private key named NAME.key."""


class BadMessage(SigningRefused):
    """The message is neither a strict JSON object nor a valid CAP 1.2 document."""


@dataclass(frozen=True, slots=True)
class KeyFiles:
    private: Path
    public: Path


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey

    def __repr__(self) -> str:  # never the key, even in a debugger or a traceback
        return f"SigningKey(kid={self.kid!r})"


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2), as text: the board's reader's framing."""
    return b64url_encode(data).decode("ascii")


def check_key_name(name: str) -> str:
    """NAME as given to `keys generate`: it becomes the kid that boards' keyrings name and
    the stem of two file names, so it is an id of the contract (no '/', no leading '.')."""
    try:
        return _KID.validate_python(name)
    except ValidationError as exc:
        sentences = "; ".join(sentence for _loc, sentence in translate(exc))
        raise BadKeyName(f"key name '{printable(name)}': {sentences}") from None


def public_jwk(name: str, private_key: Ed25519PrivateKey) -> dict[str, str]:
    """The public half as an RFC 8037 JWK, with the kid the signatures will carry."""
    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": name}


def generate_key_files(name: str, out_dir: Path) -> KeyFiles:
    """A new Ed25519 key pair: NAME.key (PKCS8 PEM, mode 0600 from its creation) and
    NAME.pub.jwk (mode 0644). Refuses, creating nothing, if either file exists."""
    check_key_name(name)
    files = KeyFiles(out_dir / f"{name}{KEY_SUFFIX}", out_dir / f"{name}{PUBLIC_KEY_SUFFIX}")
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk = json.dumps(public_jwk(name, private_key), indent=2) + "\n"
    private_fd = _create(files.private, 0o600)
    try:
        public_fd = _create(files.public, 0o644)
    except SigningRefused:
        os.close(private_fd)
        files.private.unlink()  # still empty: ours, created a moment ago
        raise
    try:
        _write_and_close(private_fd, files.private, pem)
        _write_and_close(public_fd, files.public, jwk.encode("utf-8"))
    except CannotWrite:  # e.g. a full stick: no half-written pair left to be trusted
        files.private.unlink(missing_ok=True)
        files.public.unlink(missing_ok=True)
        raise
    return files


def _create(path: Path, mode: int) -> int:
    # O_EXCL: never replace a file (nor follow a link planted where the key goes). The
    # mode is given at creation, so the private key is never readable by others, not
    # even for an instant; fchmod then sets it exactly whatever the umask.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise KeyFileExists(
            f"{path} exists already; keys generate never overwrites a key "
            "(choose another NAME, or move the old files away first)"
        ) from None
    except OSError as exc:
        raise CannotWrite(f"cannot create {path}: {exc.strerror or exc}") from None
    os.fchmod(fd, mode)
    return fd


def _write_and_close(fd: int, path: Path, data: bytes) -> None:
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except OSError as exc:
        raise CannotWrite(f"cannot write {path}: {exc.strerror or exc}") from None


def load_signing_key(path: Path) -> SigningKey:
    """The private key in NAME.key, with NAME as its kid."""
    if not path.name.endswith(KEY_SUFFIX) or path.name == KEY_SUFFIX:
        raise BadKeyFile(
            f"{path}: a signing key file is named NAME{KEY_SUFFIX} (NAME is the kid the "
            "signature carries), as `signage-agent keys generate NAME` writes it"
        )
    try:
        kid = check_key_name(path.name.removesuffix(KEY_SUFFIX))
    except BadKeyName as exc:
        raise BadKeyFile(f"{path}: {exc} (NAME.key: NAME is the kid)") from None
    pem = _read_bounded(path, MAX_KEY_FILE_BYTES, "key file")
    # The library's own error text is not passed on: it is not ours to vouch that it
    # never quotes the bytes it could not parse.
    try:
        private_key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise BadKeyFile(
            f"{path}: the key is encrypted with a passphrase; sign reads an unencrypted "
            "PKCS8 key, kept on encrypted storage (see docs/security.md)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise BadKeyFile(
            f"{path}: not a PEM private key (PKCS8, as keys generate writes)"
        ) from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise BadKeyFile(f"{path}: not an Ed25519 key (boards verify EdDSA with Ed25519 only)")
    return SigningKey(kid, private_key)


def read_message(path: Path) -> bytes:
    return _read_bounded(path, MAX_FILE_BYTES, "message")


def read_message_from(stream: BinaryIO, name: str = "stdin") -> bytes:
    """A message piped in (`sign --key K -`), bounded like a file."""
    try:
        data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CannotRead(f"cannot read message from {name}: {exc.strerror or exc}") from None
    return _within(data, MAX_FILE_BYTES, f"message on {name}")


def _read_bounded(path: Path, limit: int, what: str) -> bytes:
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise CannotRead(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    return _within(data, limit, f"{what} {path}")


def _within(data: bytes, limit: int, what: str) -> bytes:
    if len(data) > limit:
        raise CannotRead(f"{what} is larger than the {limit} bytes allowed")
    return data


def content_type(payload: bytes) -> ContentType:
    """`cap+xml` for a valid CAP 1.2 document, `json` for a strict JSON object, `yaml`
    for a valid layout file's text (CONTRACT §8: what `{root}/layout/{name}` carries);
    anything else is refused, naming each problem and where (a board would refuse it too,
    and a signature on it would only vouch for garbage)."""
    if looks_like_cap(payload):
        from agent.cap import parse_cap

        try:
            parse_cap(payload)
        except InvalidInput as exc:
            raise BadMessage("not a valid CAP 1.2 document", exc.errors) from None
        return "cap+xml"
    if payload.lstrip().startswith(b"eyJ"):  # base64url of '{"': a JWS's header
        raise BadMessage("already signed (a JWS): sign the message itself, once")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadMessage(f"not UTF-8: invalid byte at offset {exc.start}") from None
    if _looks_like_layout(text):
        from display_layouts.loader import parse_layout
        from display_layouts.problems import LayoutError

        try:
            parse_layout(text, "")
        except LayoutError as exc:
            raise BadMessage("not a valid layout (YAML)", exc.errors) from None
        return "yaml"
    try:
        document = parse_json(text)
    except InvalidInput as exc:
        raise BadMessage("not a strict JSON object", exc.errors) from None
    if not isinstance(document, dict):
        raise BadMessage(
            "not a JSON object (a playlist, alert, command, assignment or keyring is one)",
            [Problem(ROOT, f"expected a JSON object, got {type(document).__name__}")],
        )
    return "json"


def _looks_like_layout(text: str) -> bool:
    """A layout's YAML text, told from JSON and junk by a top-level `zones:` key (every
    layout has one; a JSON message never starts a line with it)."""
    return any(line.startswith("zones:") for line in text.splitlines())


def sign_message(key: SigningKey, payload: bytes) -> str:
    """The JWS compact serialization of `payload`, checked first (see `content_type`):
    b64url(header) "." b64url(payload) "." b64url(Ed25519 over the first two parts)."""
    header = {"alg": "EdDSA", "kid": key.kid, "cty": content_type(payload)}
    protected = b64url(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    signing_input = f"{protected}.{b64url(payload)}"
    signature = key.private_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}"
