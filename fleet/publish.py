"""`signage-fleet publish KIND FILE` (CONTRACT §9): validate a message with the agent's
own validators, optionally sign it, and publish it to the topic and with the retain flag
the agent's topic table gives; `--bump` raises a version above the one the broker holds,
`command --wait` prints the board's result. The guide is docs/fleet-publish.md.

Exit status: 0 done (a command's result ok), 1 the command's result not ok, 2 usage,
65 bad input (EX_DATAERR), 69 broker unreachable or refusing (EX_UNAVAILABLE), 75 no
result in time (EX_TEMPFAIL). Every failure is one line per problem on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from agent.alert_kind import looks_like_cap
from agent.trust.jws import looks_like_jws, parse_jws
from agent.validation import InvalidInput, parse_json
from fleet import publish_messages as messages
from fleet import publish_targets as targets
from fleet.commands import PublishFailed
from fleet.defaults import EX_DATAERR, EX_NOT_OK, EX_OK, EX_TEMPFAIL, EX_UNAVAILABLE, EX_USAGE
from fleet.mqtt_publish import MqttSession, TooLarge, read_retained
from fleet.publish_messages import Message
from fleet.publish_targets import BadTarget, Destination

# The playlist checks load pygame (pictures): its banner must not reach a script's stdout.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

if TYPE_CHECKING:
    from agent.trust.signing import SigningKey
    from display_layouts.spec import LayoutSpec

VERSIONED: Final = ("playlist", "assignment", "keyring")
MAX_FILE_BYTES: Final = 2 * messages.MAX_PAYLOAD_BYTES  # a JWS is 4/3 of its message


class Usage(Exception):
    """Options that do not go together (exit 2)."""


class BadInput(Exception):
    """The file (or an option naming a topic level) cannot be published (exit 65)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def publish(args: argparse.Namespace) -> int:
    try:
        return _Publication(args).run()
    except Usage as exc:
        print(f"signage-fleet publish: {exc}", file=sys.stderr)
        return EX_USAGE
    except BadInput as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return EX_DATAERR
    except TooLarge as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EX_DATAERR
    except PublishFailed as exc:
        print(f"signage-fleet publish: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE


def _broker(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise Usage(f"--broker '{text}' is not HOST:PORT")
    return host.strip("[]"), int(port)


class _Publication:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.kind: str = args.kind
        self.source: str = args.file
        self.host, self.port = _broker(args.broker)
        if args.bump and self.kind not in VERSIONED:
            raise Usage(f"--bump: only a {', '.join(VERSIONED)} has a version")
        if args.wait and self.kind != "command":
            raise Usage("--wait: only a command has a result to wait for")
        if args.timeout <= 0:
            raise Usage("--timeout must be more than 0 seconds")
        self.session: MqttSession | None = None

    def bad(self, problems: list[str]) -> BadInput:
        if self.source != "-":
            shown = self.source
        else:
            shown = "signage-fleet publish clear" if self.kind == "clear" else "<stdin>"
        return BadInput([f"{shown}: {problem}" for problem in problems])

    def run(self) -> int:
        raw = b"" if self.kind == "clear" and self.source == "-" else self._read()
        signed = looks_like_jws(raw)
        if signed and (self.args.key or self.args.bump):
            raise Usage("FILE is signed already: --key and --bump need the message itself")
        if self.kind == "keyring" and not signed and self.args.key is None:
            # Every board refuses an unsigned keyring (CONTRACT §7): never worth sending.
            raise Usage("a keyring is taken only signed: give --key (a key that may sign keyring)")
        try:
            inner = parse_jws(raw, max_bytes=MAX_FILE_BYTES).payload if signed else raw
            key = self._key()
            message = self._message(inner)  # checked before any connection is made
            destination = self._destination(message)
            session = self._session()
            if self.args.bump:
                message = self._bumped(message, destination)
            wire = raw if signed else self._signed(key, message.payload)
            waiter = self._result_waiter(message) if self.args.wait else None
            session.publish(destination.topic, wire, retain=destination.retain, qos=destination.qos)
            self._report(message, destination, wire, signed_by=self._kid(wire))
            return EX_OK if waiter is None else waiter.outcome(self.args.timeout)
        except InvalidInput as exc:
            raise self.bad([str(problem) for problem in exc.errors]) from None
        except BadTarget as exc:
            raise self.bad([str(exc)]) from None
        finally:
            if self.session is not None:
                self.session.close()

    def _read(self) -> bytes:
        try:
            if self.source == "-":
                data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
            else:
                with Path(self.source).open("rb") as file:
                    data = file.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise self.bad([f"cannot read: {exc.strerror or exc}"]) from None
        if len(data) > MAX_FILE_BYTES:
            raise self.bad([f"larger than the {MAX_FILE_BYTES} bytes a message may be"])
        return data

    def _session(self) -> MqttSession:
        """The broker connection, opened at first need (a refusal needs none)."""
        if self.session is not None:
            return self.session
        password = None
        if self.args.password_file is not None:
            try:
                text = self.args.password_file.read_text(encoding="utf-8")
                password = next(iter(text.splitlines()), "")
            except (OSError, UnicodeDecodeError) as exc:
                raise Usage(
                    f"--password-file {self.args.password_file}: cannot read: {exc}"
                ) from None
        session = MqttSession(self.host, self.port, username=self.args.username, password=password)
        session.open()
        self.session = session
        return session

    # --- what is sent, and where -----------------------------------------------------------

    def _message(self, raw: bytes) -> Message:
        kind = self.kind
        if kind == "clear":
            if not raw:
                return Message("clear", "clear", b"")
            found = self._message_of_file(raw)  # names the topic; its payload is not sent
            return replace(found, what=f"empty payload (clears {found.what})", payload=b"")
        if kind == "playlist":
            return messages.read_playlist(raw, self._layouts_for(raw))
        readers = {
            "alert": messages.read_alert,
            "cancel": messages.read_cancel,
            "assignment": messages.read_assignment,
            "command": messages.read_command,
            "keyring": messages.read_keyring,
        }
        if kind == "layout":
            return messages.read_layout(raw, self.source)
        return readers[kind](raw)

    def _message_of_file(self, raw: bytes) -> Message:
        """`clear FILE`: the message whose topic is to be emptied, told by its content."""
        if self.source.endswith((".yaml", ".yml")):
            return messages.read_layout(raw, self.source)
        if looks_like_cap(raw):
            return messages.read_alert(raw)
        kind = (
            parse_json(raw.decode("utf-8", "replace")).get("type")
            if raw.lstrip()[:1] == b"{"
            else None
        )
        if kind == "alert":
            return messages.read_alert(raw)
        if kind == "playlist":
            return messages.read_playlist(raw, self._layouts_for(raw))
        raise self.bad(["clear takes an alert, a playlist or a layout file (or - with --to)"])

    def _destination(self, message: Message) -> Destination:
        root, to = self.args.root, self.args.to
        if self.kind == "clear" and message.kind == "clear":
            return targets.clearable(root, to)
        match message.kind:
            case "playlist":
                return targets.content(root, targets.parse_target(to))
            case "alert":
                assert message.alert_id is not None
                return targets.alert(root, targets.parse_target(to), message.alert_id)
            case "layout":
                assert message.layout_name is not None
                if to is not None and to != message.layout_name:
                    raise BadTarget(
                        f"--to '{to}': the layout's name is '{message.layout_name}', and a board "
                        "takes a layout only on the topic of its own name"
                    )
                return targets.layout(root, message.layout_name)
            case "assignment" | "command":
                return targets.board_topic(root, message.kind, targets.board_of(to))
            case _:
                if to is not None:
                    raise Usage("a keyring goes to {root}/trust: no --to")
                return targets.keyring(root)

    def _layouts_for(self, raw: bytes) -> Mapping[str, LayoutSpec]:
        """The layouts a playlist may name: the built-in ones, --layouts-dir's, and those
        the broker holds retained on `{root}/layout/{name}` (what boards have received)."""
        from display_layouts.library import builtin_library, scan_library
        from display_layouts.loader import parse_layout
        from display_layouts.problems import LayoutError

        library = (
            builtin_library()
            if self.args.layouts_dir is None
            else scan_library(self.args.layouts_dir).library
        )
        specs = dict(library.specs)
        data = messages.loads_object_or_none(raw)
        items = data.get("items") if data is not None else None
        wanted = (
            {item.get("layout") for item in items if isinstance(item, dict)}
            if isinstance(items, list)
            else set()
        )
        for name in sorted(n for n in wanted if isinstance(n, str) and n not in specs):
            try:
                topic = targets.layout(self.args.root, name).topic
            except BadTarget:
                continue  # the playlist's check names the bad layout name
            held = self._retained(topic)
            if held is None:
                continue
            if looks_like_jws(held):
                held = parse_jws(held, max_bytes=MAX_FILE_BYTES).payload
            try:
                specs[name] = parse_layout(held.decode("utf-8", "replace"), topic).spec
            except LayoutError:
                continue  # boards refused it too: the playlist is refused for it
        return specs

    def _retained(self, topic: str) -> bytes | None:
        """What the broker holds retained on `topic`; the end of its answer is marked on a
        topic of this publisher's own, `{root}/fleet/sync/{client id}`."""
        session = self._session()
        sync = f"{self.args.root}/fleet/sync/{session.client_id}"
        return read_retained(session, topic, sync_topic=sync).get(topic)

    def _bumped(self, message: Message, destination: Destination) -> Message:
        assert message.version is not None
        held_payload = self._retained(destination.topic)
        held = None if held_payload is None else messages.held_version(held_payload)
        version = message.version if held is None else max(message.version, held + 1)
        shown = "none" if held is None else str(held)
        print(f"version {version} (held on {destination.topic}: {shown})")
        if version == message.version:
            return message
        return self._message(messages.with_version(message, version))

    def _key(self) -> SigningKey | None:
        if self.args.key is None:
            return None
        from agent.trust.signing import SigningRefused, load_signing_key

        try:
            return load_signing_key(Path(self.args.key))
        except SigningRefused as exc:
            raise BadInput([str(exc)]) from None

    def _signed(self, key: SigningKey | None, payload: bytes) -> bytes:
        if key is None or not payload:
            return payload
        from agent.trust.signing import SigningRefused, sign_message

        try:
            return sign_message(key, payload).encode("ascii")
        except SigningRefused as exc:
            lines = [str(exc), *(str(problem) for problem in exc.problems)]
            raise self.bad(lines) from None

    @staticmethod
    def _kid(wire: bytes) -> str | None:
        return parse_jws(wire, max_bytes=MAX_FILE_BYTES).kid if looks_like_jws(wire) else None

    def _report(
        self, message: Message, destination: Destination, wire: bytes, signed_by: str | None
    ) -> None:
        retained = "retained" if destination.retain else "not retained"
        signature = f"signed by {signed_by}" if signed_by else "unsigned"
        what = "empty payload (clears it)" if message.kind == "clear" else message.what
        print(
            f"published {what} to {destination.topic}: {retained}, QoS {destination.qos}, "
            f"{len(wire)} bytes, {signature}"
        )

    def _result_waiter(self, message: Message) -> _ResultWaiter:
        assert message.command_id is not None
        topic = targets.board_topic(
            self.args.root, "command_result", targets.board_of(self.args.to)
        ).topic
        waiter = _ResultWaiter(message.command_id)
        self._session().subscribe(topic, waiter.on_message)  # before the command: no result missed
        return waiter


class _ResultWaiter:
    """The board's `command_result` for one command id."""

    def __init__(self, command_id: str) -> None:
        self.command_id = command_id
        self.result: dict[str, object] | None = None
        self._arrived = threading.Event()

    def on_message(self, _topic: str, payload: bytes, _retained: bool) -> None:
        data = messages.loads_object_or_none(payload)
        if data is not None and data.get("id") == self.command_id and not self._arrived.is_set():
            self.result = data
            self._arrived.set()

    def outcome(self, timeout: float) -> int:
        if not self._arrived.wait(timeout):
            print(
                f"signage-fleet publish: no result for command {self.command_id} "
                f"within {timeout:g} s",
                file=sys.stderr,
            )
            return EX_TEMPFAIL
        assert self.result is not None
        print(json.dumps(self.result, ensure_ascii=False))
        return EX_OK if self.result.get("ok") is True else EX_NOT_OK
