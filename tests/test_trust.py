"""Signed messages (CONTRACT §7): the JWS reader, the key files, the keyring in force and
the gate's reasons, against the tests' own signer (tests/trust_signer.py)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa, x25519
from hypothesis import given
from hypothesis import strategies as st

from agent.messages import Keyring
from agent.storage import StorageHealth
from agent.trust.gate import Admitted, TrustGate
from agent.trust.jws import looks_like_jws, parse_jws
from agent.trust.keyring import KeyringApplied, KeyringStale, KeyringState
from agent.trust.keys import TrustedKey, parse_public_key, read_public_key
from agent.validation import InvalidInput
from tests.trust_signer import SigningKey, b64, keyring

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ALERT = json.dumps({"type": "alert", "id": "flood-1"}).encode()
CAP = b'<?xml version="1.0"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>'


def root(
    key: SigningKey, *kinds: str, scopes: list[str] | None = None, **extra: object
) -> TrustedKey:
    not_after = extra.get("not_after")
    assert not_after is None or isinstance(not_after, datetime)
    return TrustedKey(
        kid=key.kid,
        public_bytes=key.public_raw,
        may_sign=frozenset(kinds),  # type: ignore[arg-type]
        scopes=None if scopes is None else frozenset(scopes),
        not_after=not_after,
        root=True,
    )


def gate(
    tmp_path: Path,
    *roots: TrustedKey,
    require: bool = True,
    synced: list[bool | None] | None = None,
) -> TrustGate:
    state = KeyringState(roots, tmp_path, StorageHealth())
    flag = synced if synced is not None else [True]
    return TrustGate(
        require_signatures=require,
        keyring=state,
        clock_synced=lambda: flag[0],
        max_bytes=1 << 20,
    )


def reason(exc: pytest.ExceptionInfo[InvalidInput]) -> str:
    (problem,) = exc.value.errors
    return problem.message


# --- the JWS reader ---------------------------------------------------------------------


def test_a_signed_message_is_told_from_json_and_cap() -> None:
    key = SigningKey("k")
    assert looks_like_jws(key.sign(ALERT))
    assert looks_like_jws(b"  " + key.sign(ALERT) + b"\n")
    assert not looks_like_jws(ALERT)
    assert not looks_like_jws(CAP)
    assert not looks_like_jws(b"")
    assert not looks_like_jws(b"a.b")


def test_the_reader_gives_kid_cty_and_payload() -> None:
    jws = parse_jws(SigningKey("alerts-2026").sign(CAP), max_bytes=1 << 20)
    assert (jws.kid, jws.cty, jws.payload) == ("alerts-2026", "cap+xml", CAP)


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ({"alg": "HS256"}, "alg HS256 is not EdDSA"),
        ({"alg": "none"}, "alg none is not EdDSA"),
        ({"kid": ""}, "no kid"),
        ({"crit": ["exp"]}, "crit extensions"),
        ({"cty": "xml"}, "cty xml is neither"),
    ],
)
def test_headers_other_than_ours_are_refused(header: dict[str, object], words: str) -> None:
    signed = SigningKey("k").sign(ALERT, **header)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as exc:
        parse_jws(signed, max_bytes=1 << 20)
    assert words in reason(exc)


def test_cty_must_say_what_the_payload_is() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_jws(SigningKey("k").sign(CAP, cty="json"), max_bytes=1 << 20)
    assert reason(exc) == "JWS cty is json but the payload is an XML document"


def test_a_payload_beyond_the_limit_is_refused_before_its_signature() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_jws(SigningKey("k").sign(b"{" + b" " * 5000 + b"}"), max_bytes=1024)
    assert "too large" in reason(exc) or "limit 1024" in reason(exc)


def test_non_canonical_base64_is_refused() -> None:
    head, body, signature = SigningKey("k").sign(ALERT).split(b".")
    # The last character of a 64-byte signature carries 4 spare bits: set one.
    last = signature[-1:]
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    bent = bytes([alphabet[alphabet.index(last) | 1]]) if alphabet.index(last) % 2 == 0 else last
    if bent == last:
        pytest.skip("the signature's last character has its spare bit set already")
    with pytest.raises(InvalidInput) as exc:
        parse_jws(b".".join([head, body, signature[:-1] + bent]), max_bytes=1 << 20)
    assert "not canonical base64url" in reason(exc)


# --- public key files ----------------------------------------------------------------------


def test_a_jwk_and_a_pem_file_give_the_same_key(tmp_path: Path) -> None:
    key = SigningKey("k")
    pem = tmp_path / "k.pem"
    pem.write_bytes(key.pem())
    assert read_public_key(key.write_jwk(tmp_path)) == key.public_raw
    assert read_public_key(pem) == key.public_raw


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"kty": "RSA"}', "not an Ed25519 JWK"),
        (b'{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}', "is 3 bytes"),
        (b'{"kty": "OKP", "crv": "Ed25519", "x": "' + b"A" * 43 + b'", "d": "x"}', "private"),
        (b"-----BEGIN PRIVATE KEY-----\n", "private key"),
        (b"hello", "neither a JWK"),
    ],
)
def test_bad_key_files_say_what_is_wrong(data: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_public_key(data)


def _public_pem(key: object) -> bytes:
    public = key.public_key()  # type: ignore[attr-defined]
    return bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "(a RSA)"),
        (lambda: ec.generate_private_key(ec.SECP256R1()), "(a EC)"),
        (ed448.Ed448PrivateKey.generate, "(a Ed448)"),
        (x25519.X25519PrivateKey.generate, "(a X25519)"),
    ],
    ids=["rsa", "p256", "ed448", "x25519"],
)
def test_a_pem_key_of_another_kind_is_named(make: Any, words: str) -> None:
    """PEM files are read without a crypto library (agent/trust/ed25519.py): real keys
    of other kinds, made by `cryptography`, are refused by name."""
    with pytest.raises(ValueError, match=re.escape(f"not an Ed25519 key {words}")):
        parse_public_key(_public_pem(make()))


def test_a_damaged_pem_key_says_so() -> None:
    pem = SigningKey("k").pem()
    lines = pem.splitlines()
    with pytest.raises(ValueError, match="not base64"):
        parse_public_key(b"\n".join([lines[0], b"@@" + lines[1][2:], *lines[2:]]))
    with pytest.raises(ValueError, match="RFC 8410"):
        parse_public_key(b"\n".join([lines[0], b"MCowBQYDK2VwAyEA", *lines[2:]]))
    with pytest.raises(ValueError, match="END PUBLIC KEY"):
        parse_public_key(lines[0] + b"\n" + lines[1])


# --- the gate --------------------------------------------------------------------------------


def test_a_signed_alert_is_admitted_as_its_payload(tmp_path: Path) -> None:
    key = SigningKey("alerts")
    admitted = gate(tmp_path, root(key, "alert")).admit("alert", "city", key.sign(ALERT), NOW)
    assert admitted == Admitted(ALERT, "alerts")


def test_a_signed_cap_document_is_admitted_as_its_xml(tmp_path: Path) -> None:
    key = SigningKey("alerts")
    admitted = gate(tmp_path, root(key, "alert")).admit("alert", "city", key.sign(CAP), NOW)
    assert admitted.payload == CAP


def test_unsigned_is_refused_when_signatures_are_required(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        gate(tmp_path, root(SigningKey("k"), "alert")).admit("alert", "city", ALERT, NOW)
    assert reason(exc).startswith("unsigned: ")


def test_an_empty_payload_cannot_be_signed_so_it_is_refused_too(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        gate(tmp_path, root(SigningKey("k"), "alert")).admit("alert", "city", b"", NOW)
    assert reason(exc).startswith("unsigned: an empty payload")


def test_an_inbox_file_is_physical_access(tmp_path: Path) -> None:
    trust = gate(tmp_path, root(SigningKey("k"), "playlist"))
    assert trust.admit("playlist", "local", ALERT, NOW, physical=True) == Admitted(ALERT, None)


def test_unsigned_is_accepted_when_signatures_are_optional(tmp_path: Path) -> None:
    trust = gate(tmp_path, root(SigningKey("k"), "alert"), require=False)
    assert trust.admit("alert", "city", ALERT, NOW) == Admitted(ALERT, None)


def test_an_optional_signature_is_still_checked(tmp_path: Path) -> None:
    key = SigningKey("k")
    trust = gate(tmp_path, root(key, "alert"), require=False)
    with pytest.raises(InvalidInput) as exc:
        trust.admit("alert", "city", SigningKey("k").sign(ALERT), NOW)
    assert reason(exc).startswith("bad signature: ")


def test_without_trust_keys_a_signed_message_is_refused() -> None:
    trust = TrustGate(
        require_signatures=False, keyring=None, clock_synced=lambda: True, max_bytes=1 << 20
    )
    assert trust.admit("alert", "city", ALERT, NOW) == Admitted(ALERT, None)
    with pytest.raises(InvalidInput) as exc:
        trust.admit("alert", "city", SigningKey("k").sign(ALERT), NOW)
    assert reason(exc).startswith("signed message, but this board has no [trust] keys")


def test_one_byte_changed_is_a_bad_signature(tmp_path: Path) -> None:
    key = SigningKey("k")
    head, _body, signature = key.sign(ALERT).split(b".")
    changed = b64(ALERT.replace(b"flood-1", b"flood-2")).encode()
    with pytest.raises(InvalidInput) as exc:
        gate(tmp_path, root(key, "alert")).admit(
            "alert", "city", b".".join([head, changed, signature]), NOW
        )
    assert reason(exc) == "bad signature: key 'k' did not sign these bytes"


@pytest.mark.parametrize(
    ("kinds", "scopes", "scope", "words"),
    [
        (("playlist",), None, "city", "not allowed to sign this kind: key 'k' may sign playlist"),
        (("alert",), ["district"], "city", "outside its scopes: key 'k' signs for district"),
    ],
)
def test_a_key_signs_only_its_kinds_and_scopes(
    tmp_path: Path, kinds: tuple[str, ...], scopes: list[str] | None, scope: str, words: str
) -> None:
    key = SigningKey("k")
    with pytest.raises(InvalidInput) as exc:
        gate(tmp_path, root(key, *kinds, scopes=scopes)).admit("alert", scope, key.sign(ALERT), NOW)
    assert reason(exc).startswith(words)


def test_an_unknown_kid_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        gate(tmp_path, root(SigningKey("k"), "alert")).admit(
            "alert", "city", SigningKey("stranger").sign(ALERT), NOW
        )
    assert reason(exc) == "unknown kid: no trusted key is called 'stranger'"


def test_an_expired_key_is_refused_on_a_synchronised_clock(tmp_path: Path) -> None:
    key = SigningKey("k")
    trust = gate(tmp_path, root(key, "alert", not_after=NOW - timedelta(days=1)))
    with pytest.raises(InvalidInput) as exc:
        trust.admit("alert", "city", key.sign(ALERT), NOW)
    assert reason(exc).startswith("expired key: key 'k' expired at 2026-11-30")


def test_an_unsynchronised_clock_keeps_the_last_decision(tmp_path: Path) -> None:
    key = SigningKey("k")
    synced: list[bool | None] = [True]
    trust = gate(tmp_path, root(key, "alert", not_after=NOW), synced=synced)
    assert trust.admit("alert", "city", key.sign(ALERT), NOW - timedelta(hours=1)).note is None
    synced[0] = False  # the clock jumps years ahead at a reboot without NTP
    admitted = trust.admit("alert", "city", key.sign(ALERT), NOW + timedelta(days=900))
    assert admitted.note == (
        "clock not synchronised: key 'k' kept as valid (not_after 2026-12-01T09:00:00+00:00)"
    )
    assert trust.expiry_held == {"k"}
    synced[0] = True
    with pytest.raises(InvalidInput) as exc:
        trust.admit("alert", "city", key.sign(ALERT), NOW + timedelta(days=900))
    assert reason(exc).startswith("expired key")
    assert trust.expiry_held == set()


def test_a_key_never_judged_is_judged_on_the_boards_clock(tmp_path: Path) -> None:
    key = SigningKey("k")
    trust = gate(tmp_path, root(key, "alert", not_after=NOW), synced=[None])
    admitted = trust.admit("alert", "city", key.sign(ALERT), NOW - timedelta(hours=1))
    assert admitted.note == "clock not synchronised: key 'k' judged on the board's clock"


# --- the keyring ----------------------------------------------------------------------------


def _keyring(raw: bytes) -> Keyring:
    return Keyring.model_validate_json(raw, strict=True)


def test_a_keyring_adds_keys_and_revokes_others(tmp_path: Path) -> None:
    ring, old, new = SigningKey("ring"), SigningKey("alerts-old"), SigningKey("alerts-new")
    trust = gate(tmp_path, root(ring, "keyring"))
    state = trust.keyring
    assert state is not None
    assert state.offer(_keyring(keyring(1, [(old, ["alert"])], []))) == KeyringApplied(1, 2, 0)
    assert trust.admit("alert", "city", old.sign(ALERT), NOW).kid == "alerts-old"
    assert state.offer(_keyring(keyring(2, [(new, ["alert"])], ["alerts-old"]))) == (
        KeyringApplied(2, 2, 1)
    )
    assert trust.admit("alert", "city", new.sign(ALERT), NOW).kid == "alerts-new"
    with pytest.raises(InvalidInput) as exc:
        trust.admit("alert", "city", old.sign(ALERT), NOW)
    assert reason(exc) == "revoked: key 'alerts-old' was revoked (keyring 2)"


def test_only_a_newer_keyring_replaces_the_one_held(tmp_path: Path) -> None:
    state = KeyringState([], tmp_path, StorageHealth())
    state.offer(_keyring(keyring(5, [(SigningKey("a"), ["alert"])], [])))
    assert state.offer(_keyring(keyring(5, [], []))) == KeyringStale(5, "already held")
    assert state.offer(_keyring(keyring(4, [], []))) == KeyringStale(4, "older than version 5")
    assert set(state.keys) == {"a"}


def test_a_keyring_never_touches_a_root(tmp_path: Path) -> None:
    ring = SigningKey("ring")
    state = KeyringState([root(ring, "keyring")], tmp_path, StorageHealth())
    with pytest.raises(InvalidInput) as exc:
        state.offer(_keyring(keyring(1, [(SigningKey("ring"), ["keyring"])], ["ring"])))
    assert [(e.path, e.message) for e in exc.value.errors] == [
        ("keys.0.kid", "'ring' is a root key of the config: no keyring replaces it"),
        ("revoked.0", "'ring' is a root key of the config: no keyring revokes it"),
        ("revoked.0", "'ring' is both given in keys and revoked"),
    ]
    assert state.version is None
    assert state.keys["ring"].public_bytes == ring.public_raw


def test_the_keyring_survives_a_restart(tmp_path: Path) -> None:
    ring, alerts = SigningKey("ring"), SigningKey("alerts")
    roots = [root(ring, "keyring")]
    KeyringState(roots, tmp_path, StorageHealth()).offer(
        _keyring(keyring(3, [(alerts, ["alert"])], ["gone"]))
    )
    restarted = KeyringState(roots, tmp_path, StorageHealth())
    restarted.load()
    assert restarted.version == 3
    assert restarted.keys["alerts"].public_bytes == alerts.public_raw
    assert restarted.revoked == {"gone"}


def test_a_damaged_keyring_file_is_set_aside_and_the_roots_remain(tmp_path: Path) -> None:
    said: list[str] = []
    (tmp_path / "trust-keyring.json").write_text("{not json", encoding="utf-8")
    state = KeyringState(
        [root(SigningKey("ring"), "keyring")], tmp_path, StorageHealth(said.append)
    )
    state.load()
    assert state.version is None
    assert set(state.keys) == {"ring"}
    assert len(said) == 1
    assert "is not a valid keyring" in said[0]
    assert [p.name.startswith("trust-keyring.json.bad-") for p in tmp_path.iterdir()] == [True]


# --- [trust] in the config ------------------------------------------------------------------


def _config(tmp_path: Path, trust: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(
        '[board]\nid = "hn-01"\ndistrict = "ba-dinh"\ncommune = "phuc-xa"\nname = "B"\n' + trust,
        encoding="utf-8",
    )
    return path


def test_the_config_reads_root_keys(tmp_path: Path) -> None:
    from agent.config import load_config

    key = SigningKey("alerts")
    trust = (
        "[trust]\nrequire_signatures = true\ncommand_max_age_s = 60\n"
        f'[[trust.keys]]\nkid = "alerts"\npublic_key = "{key.write_jwk(tmp_path)}"\n'
        'may_sign = ["alert"]\nscopes = ["city"]\nnot_after = 2027-01-01T00:00:00+07:00\n'
    )
    config = load_config(_config(tmp_path, trust), env={}).trust
    assert config is not None
    (entry,) = config.keys
    assert (entry.kid, entry.may_sign, entry.scopes) == ("alerts", ["alert"], ["city"])
    assert entry.not_after == datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    assert config.command_max_age_s == 60


@pytest.mark.parametrize(
    ("trust", "problem"),
    [
        ("[trust]\nrequire_signatures = true\n", "trust: require_signatures = true needs at"),
        (
            '[[trust.keys]]\nkid = "k"\npublic_key = "/nonexistent.jwk"\nmay_sign = ["alert"]\n',
            "trust.keys.0.public_key: cannot read /nonexistent.jwk",
        ),
        (
            '[[trust.keys]]\nkid = "k"\npublic_key = "KEY"\nmay_sign = ["alerts"]\n',
            "trust.keys.0.may_sign.0: ",
        ),
        (
            '[[trust.keys]]\nkid = "k"\npublic_key = "KEY"\nmay_sign = ["alert"]\n'
            "not_after = 2027-01-01T00:00:00\n",
            "trust.keys.0.not_after: give the time with its offset",
        ),
        (
            '[[trust.keys]]\nkid = "k"\npublic_key = "KEY"\nmay_sign = ["alert"]\n' * 2,
            "trust.keys: a kid is listed twice",
        ),
    ],
)
def test_config_problems_name_the_key_path(tmp_path: Path, trust: str, problem: str) -> None:
    from agent.config import ConfigError, load_config

    key = SigningKey("k").write_jwk(tmp_path)
    with pytest.raises(ConfigError) as exc:
        load_config(_config(tmp_path, trust.replace("KEY", str(key))), env={})
    assert any(problem in line for line in exc.value.problems), exc.value.problems


# --- the city's signer (agent/trust/signing.py) against the board's gate --------------------


def test_what_signage_agent_sign_makes_the_board_admits(tmp_path: Path) -> None:
    from agent.trust.signing import generate_key_files, load_signing_key, sign_message

    files = generate_key_files("pctt-2026", tmp_path)
    signer = load_signing_key(tmp_path / "pctt-2026.key")
    public = read_public_key(tmp_path / "pctt-2026.pub.jwk")
    key = TrustedKey("pctt-2026", public, frozenset({"alert"}), None, None, root=True)
    trust = gate(tmp_path, key)
    cap = (Path(__file__).parents[1] / "docs/examples/cap/vn-flood.xml").read_bytes()
    for payload in (ALERT, cap):
        signed = sign_message(signer, payload).encode()
        assert trust.admit("alert", "city", signed, NOW) == Admitted(payload, "pctt-2026")
    assert files.public == tmp_path / "pctt-2026.pub.jwk"


_PINNED = re.compile(rb"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


@given(
    st.binary(max_size=40)
    | st.lists(st.sampled_from([b"a", b"Z", b"-", b".", b" ", b"{"])).map(b"".join)
)
def test_the_shape_of_a_jws_is_the_pinned_one(data: bytes) -> None:
    """`looks_like_jws` is the wire format's rule: after whitespace, three base64url parts."""
    stripped = data.strip(b" \t\r\n")
    assert looks_like_jws(data) is (_PINNED.match(stripped) is not None and b"\n" not in stripped)
