"""`signage-agent keys generate` and `signage-agent sign` as the city's key holder runs
them: the files and their modes, refusals, and a JWS that an independent check (here,
with `cryptography` directly, not the agent's code) verifies. No private key material
in any output."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from tests.support import REPO

CAP_EXAMPLES = sorted((REPO / "docs" / "examples" / "cap").glob("*.xml"))
PLAYLIST = REPO / "docs" / "examples" / "playlist-commune.json"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def agent(*args: str, stdin: bytes = b"", umask: int = 0o022) -> Run:
    result = subprocess.run(
        [sys.executable, "-m", "agent", *args],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=False,
        umask=umask,
    )
    return Run(
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
    )


def generate(name: str, out: Path, umask: int = 0o022) -> Run:
    result = agent("keys", "generate", name, "--out", str(out), umask=umask)
    assert result.returncode == 0, result.output
    return result


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def secrets_of(key_file: Path) -> list[str]:
    """Every form in which the private key could leak into text: the PEM body's lines,
    and the raw 32 bytes as base64, base64url and hex."""
    pem = key_file.read_text(encoding="ascii")
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    private_key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(private_key, Ed25519PrivateKey)
    raw = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    encoded = base64.b64encode(raw).decode()
    return [
        *body,
        encoded.rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        encoded[:16],  # a part of it is a leak too
    ]


def assert_no_secret(run: Run, key_file: Path) -> None:
    for secret in secrets_of(key_file):
        assert secret not in run.output


def verify_independently(jws: str, jwk_file: Path) -> tuple[dict[str, Any], bytes]:
    """RFC 7515 compact serialization checked by hand: three base64url parts without
    padding, an Ed25519 signature (RFC 8037) over the first two, with the JWK's key."""
    parts = jws.split(".")
    assert len(parts) == 3
    assert all("=" not in part for part in parts)
    protected, payload, signature = parts
    jwk = json.loads(jwk_file.read_text(encoding="utf-8"))
    public_key = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    public_key.verify(b64url_decode(signature), f"{protected}.{payload}".encode("ascii"))
    header = json.loads(b64url_decode(protected))
    assert isinstance(header, dict)
    return header, b64url_decode(payload)


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    out = tmp_path / "keys"
    out.mkdir()
    generate("alerts-2026", out)
    return out


def test_generate_writes_an_owner_only_private_key_and_a_public_jwk(tmp_path: Path) -> None:
    result = generate("alerts-2026", tmp_path)
    private, public = tmp_path / "alerts-2026.key", tmp_path / "alerts-2026.pub.jwk"
    assert mode(private) == 0o600
    assert mode(public) == 0o644
    assert str(private) in result.stdout
    assert str(public) in result.stdout
    pem = private.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8, unencrypted
    private_key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private_key, Ed25519PrivateKey)
    jwk = json.loads(public.read_text(encoding="utf-8"))
    assert set(jwk) == {"kty", "crv", "x", "kid"}
    assert (jwk["kty"], jwk["crv"], jwk["kid"]) == ("OKP", "Ed25519", "alerts-2026")
    assert "=" not in jwk["x"]
    raw_public = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert b64url_decode(jwk["x"]) == raw_public
    assert_no_secret(result, private)


@pytest.mark.parametrize("umask", [0o000, 0o077])
def test_the_modes_do_not_depend_on_the_umask(tmp_path: Path, umask: int) -> None:
    # umask 000: the private key is still never readable by others; 077: the public key
    # is still readable by the service that copies it to the boards.
    generate("k", tmp_path, umask=umask)
    assert mode(tmp_path / "k.key") == 0o600
    assert mode(tmp_path / "k.pub.jwk") == 0o644


def test_each_key_is_new(tmp_path: Path) -> None:
    generate("one", tmp_path)
    generate("two", tmp_path)
    assert (tmp_path / "one.key").read_bytes() != (tmp_path / "two.key").read_bytes()


def test_generate_never_overwrites_a_private_key(key_dir: Path) -> None:
    private = key_dir / "alerts-2026.key"
    before = private.read_bytes(), (key_dir / "alerts-2026.pub.jwk").read_bytes()
    result = agent("keys", "generate", "alerts-2026", "--out", str(key_dir))
    assert result.returncode == 73
    assert f"{private} exists already" in result.stderr
    assert "never overwrites" in result.stderr
    assert result.stdout == ""
    assert (private.read_bytes(), (key_dir / "alerts-2026.pub.jwk").read_bytes()) == before
    assert "Traceback" not in result.stderr


def test_a_public_key_in_the_way_leaves_no_private_key_behind(tmp_path: Path) -> None:
    public = tmp_path / "k.pub.jwk"
    public.write_text("{}", encoding="utf-8")
    result = agent("keys", "generate", "k", "--out", str(tmp_path))
    assert result.returncode == 73
    assert f"{public} exists already" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.pub.jwk"]
    assert public.read_text(encoding="utf-8") == "{}"


def test_generate_does_not_follow_a_planted_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    (tmp_path / "k.key").symlink_to(target)
    result = agent("keys", "generate", "k", "--out", str(tmp_path))
    assert result.returncode == 73
    assert not target.exists()


@pytest.mark.parametrize(
    "name", ["../evil", "a/b", "/etc/passwd", ".hidden", "", "x" * 129, "tab\there", "k y"]
)
def test_a_name_that_is_not_a_safe_kid_is_refused(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = agent("keys", "generate", name, "--out", str(out))
    assert result.returncode == 2
    assert "key name" in result.stderr
    assert "String should" in result.stderr
    assert list(tmp_path.rglob("*")) == [out]
    assert "Traceback" not in result.stderr


def test_generate_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    result = agent("keys", "generate", "k", "--out", str(tmp_path / "absent"))
    assert result.returncode == 73
    assert f"cannot create {tmp_path / 'absent' / 'k.key'}" in result.stderr


def test_a_signed_playlist_verifies_and_carries_the_exact_bytes(key_dir: Path) -> None:
    result = agent("sign", "--key", str(key_dir / "alerts-2026.key"), str(PLAYLIST))
    assert result.returncode == 0, result.output
    assert result.stdout.endswith("\n")
    assert result.stdout.count("\n") == 1
    header, payload = verify_independently(result.stdout.strip(), key_dir / "alerts-2026.pub.jwk")
    assert header == {"alg": "EdDSA", "kid": "alerts-2026", "cty": "json"}
    assert payload == PLAYLIST.read_bytes()
    assert result.stderr == ""
    assert_no_secret(result, key_dir / "alerts-2026.key")


def test_a_message_on_stdin_is_signed_byte_for_byte(key_dir: Path) -> None:
    message = '{"type": "alert", "title": "Cảnh báo lũ"}\n'.encode()
    result = agent("sign", "--key", str(key_dir / "alerts-2026.key"), "-", stdin=message)
    assert result.returncode == 0, result.output
    header, payload = verify_independently(result.stdout.strip(), key_dir / "alerts-2026.pub.jwk")
    assert header["cty"] == "json"
    assert payload == message


@pytest.mark.parametrize("example", CAP_EXAMPLES, ids=[p.name for p in CAP_EXAMPLES])
def test_a_signed_cap_document_says_cap_xml(key_dir: Path, example: Path) -> None:
    result = agent("sign", "--key", str(key_dir / "alerts-2026.key"), str(example))
    assert result.returncode == 0, result.output
    header, payload = verify_independently(result.stdout.strip(), key_dir / "alerts-2026.pub.jwk")
    assert header == {"alg": "EdDSA", "kid": "alerts-2026", "cty": "cap+xml"}
    assert payload == example.read_bytes()


def test_one_changed_byte_breaks_the_signature(key_dir: Path) -> None:
    from cryptography.exceptions import InvalidSignature

    result = agent("sign", "--key", str(key_dir / "alerts-2026.key"), str(PLAYLIST))
    protected, payload, signature = result.stdout.strip().split(".")
    changed = bytearray(b64url_decode(payload))
    changed[10] ^= 1
    forged = base64.urlsafe_b64encode(bytes(changed)).decode().rstrip("=")
    with pytest.raises(InvalidSignature):
        verify_independently(f"{protected}.{forged}.{signature}", key_dir / "alerts-2026.pub.jwk")


BAD_MESSAGES = {
    "not-json": (b"hello", "not a strict JSON object"),
    "array": (b"[1, 2]", "not a JSON object"),
    "duplicate-key": (b'{"status": "test", "status": "actual"}', "duplicate key 'status'"),
    "nan": (b'{"x": NaN}', "numbers must be finite"),
    "not-utf8": (b'{"x": "\xff"}', "not UTF-8"),
    "empty": (b"", "not a strict JSON object"),
    "cap-1.1": (
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.1"><identifier>x</identifier></alert>',
        "not a valid CAP 1.2 document",
    ),
    "cap-with-dtd": (b'<!DOCTYPE alert [<!ENTITY a "b">]><alert/>', "not a valid CAP"),
    "xml-broken": (b"<alert", "not a valid CAP 1.2 document"),
}


@pytest.mark.parametrize("name", BAD_MESSAGES)
def test_a_message_that_is_not_json_or_cap_is_not_signed(key_dir: Path, name: str) -> None:
    message, reason = BAD_MESSAGES[name]
    path = key_dir.parent / f"{name}.msg"
    path.write_bytes(message)
    result = agent("sign", "--key", str(key_dir / "alerts-2026.key"), str(path))
    assert result.returncode == 65, result.output
    assert result.stdout == ""
    assert f"refusing to sign {path}: " in result.stderr
    assert reason in result.stderr
    assert "Traceback" not in result.stderr


def test_a_signed_message_is_not_signed_again(key_dir: Path) -> None:
    key = str(key_dir / "alerts-2026.key")
    jws = agent("sign", "--key", key, str(PLAYLIST)).stdout
    result = agent("sign", "--key", key, "-", stdin=jws.encode())
    assert result.returncode == 65
    assert "refusing to sign stdin: already signed (a JWS)" in result.stderr


def test_signing_the_key_itself_does_not_echo_it(key_dir: Path) -> None:
    key = key_dir / "alerts-2026.key"
    result = agent("sign", "--key", str(key), str(key))
    assert result.returncode == 65
    assert_no_secret(result, key)


def test_a_damaged_key_file_is_refused_without_quoting_it(key_dir: Path) -> None:
    key = key_dir / "alerts-2026.key"
    damaged = key_dir / "damaged.key"
    lines = key.read_text(encoding="ascii").splitlines()
    lines[1] = "AAAA" + lines[1][4:]  # the ASN.1 framing, not only key bits
    damaged.write_text("\n".join(lines) + "\n", encoding="ascii")
    damaged.chmod(0o600)
    result = agent("sign", "--key", str(damaged), str(PLAYLIST))
    assert result.returncode == 65
    assert f"{damaged}: not a PEM private key" in result.stderr
    assert_no_secret(result, key)
    assert lines[1] not in result.output


def test_a_key_of_another_algorithm_is_refused(tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "p256.key"
    path.write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    result = agent("sign", "--key", str(path), str(PLAYLIST))
    assert result.returncode == 65
    assert "not an Ed25519 key" in result.stderr
    assert result.stdout == ""


def test_an_encrypted_key_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "locked.key"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    result = agent("sign", "--key", str(path), str(PLAYLIST))
    assert result.returncode == 65
    assert "encrypted with a passphrase" in result.stderr
    assert "docs/security.md" in result.stderr


@pytest.mark.parametrize("file_name", ["alerts-2026.pem", ".key", "bad name.key"])
def test_the_key_file_name_must_give_the_kid(key_dir: Path, file_name: str) -> None:
    path = key_dir / file_name
    path.write_bytes((key_dir / "alerts-2026.key").read_bytes())
    result = agent("sign", "--key", str(path), str(PLAYLIST))
    assert result.returncode == 65
    assert str(path) in result.stderr
    assert result.stdout == ""
    assert_no_secret(result, key_dir / "alerts-2026.key")


def test_files_that_cannot_be_read_exit_66(key_dir: Path, tmp_path: Path) -> None:
    missing_key = agent("sign", "--key", str(tmp_path / "absent.key"), str(PLAYLIST))
    assert missing_key.returncode == 66
    assert f"cannot read key file {tmp_path / 'absent.key'}" in missing_key.stderr
    key = str(key_dir / "alerts-2026.key")
    missing_message = agent("sign", "--key", key, str(tmp_path / "absent.json"))
    assert missing_message.returncode == 66
    assert f"cannot read message {tmp_path / 'absent.json'}" in missing_message.stderr


def test_the_board_never_loads_the_signing_side() -> None:
    # Run's import graph: the agent's core. cryptography is for `keys`, `sign`, `verify`
    # and a board with [trust] only.
    code = "import sys, agent.cli, agent.core; print('cryptography' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy"),
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "False", result.stderr
