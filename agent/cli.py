"""The `signage-agent` command line (CONTRACT §5)."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from agent import __version__
from agent.config import DEFAULT_CONFIG_PATH, EX_CONFIG, AgentConfig, ConfigError, load_config
from agent.time_zones import NoZoneDatabase, zone

log = logging.getLogger("signage-agent")

EX_USAGE = 2
EX_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer cut off this way


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("watchdog").setLevel(logging.WARNING)


def _load_or_exit(path: Path) -> AgentConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        print("signage-agent: configuration error:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(EX_CONFIG) from None


def _run_agent(config: AgentConfig, frame_file: Path | None = None) -> int:
    from agent.lean_pygame import import_pygame_without_sound

    import_pygame_without_sound()  # before anything imports pygame: see agent/lean_pygame.py
    from agent.core import Agent
    from agent.messages import set_board_zone
    from display_layouts.problems import LayoutError

    set_board_zone(zone(config.board.timezone))  # every outbound time in board time

    try:
        agent = Agent(config, frame_file=frame_file)
    except LayoutError as exc:
        print("signage-agent: layout error:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EX_CONFIG
    agent.install_signal_handlers()
    return agent.run()


def cmd_run(args: argparse.Namespace) -> int:
    config = _load_or_exit(args.config)
    _setup_logging(args.verbose)
    log.info("signage-agent %s starting for board %s", __version__, config.board.id)
    return _run_agent(config)


def cmd_demo(args: argparse.Namespace) -> int:
    from agent.demo import missing_for_demo, prepare_demo, stop_after

    missing = missing_for_demo()
    if missing is not None:
        print(f"signage-agent: {missing}", file=sys.stderr)
        return 1
    _setup_logging(args.verbose)
    config, frame_file = prepare_demo(args.state_dir)
    if args.seconds is not None:
        stop_after(args.seconds)
    return _run_agent(config, frame_file)


def cmd_validate(args: argparse.Namespace) -> int:
    from agent.validate import validate_files

    # --config: signed files are checked against that board's keys, as it would.
    config = _load_or_exit(args.config) if args.config is not None else None
    return validate_files(args.files, sys.stdout, config, layouts_dir=args.layouts_dir)


def cmd_verify(args: argparse.Namespace) -> int:
    from agent.verify import verify_message

    return verify_message(_load_or_exit(args.config), args.message, args.topic, sys.stdout)


def cmd_schema(args: argparse.Namespace) -> int:
    from agent.schema import asyncapi_document, json_schemas, schema_document

    if args.asyncapi:
        document = asyncapi_document()
    elif args.name:
        schemas = json_schemas()
        if args.name not in schemas:
            print(f"unknown payload '{args.name}'; known: {', '.join(schemas)}", file=sys.stderr)
            return EX_USAGE
        document = schemas[args.name]
    else:
        document = schema_document()
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from agent.preview import preview

    return preview(args)


def cmd_studio(args: argparse.Namespace) -> int:
    from agent.studio import studio

    return studio(args)


def cmd_doctor(args: argparse.Namespace) -> int:
    from agent.doctor import run_doctor

    return run_doctor(args.config, sys.stdout)


def cmd_keys_generate(args: argparse.Namespace) -> int:
    from agent.trust.signing_cli import generate_keys

    return generate_keys(args.name, args.out, sys.stdout, sys.stderr)


def cmd_sign(args: argparse.Namespace) -> int:
    from agent.trust.signing_cli import sign

    return sign(args.key, args.message, sys.stdin.buffer, sys.stdout, sys.stderr)


def _add_signing_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # The city's side of signed messages (CONTRACT §7); `verify` is the board's side.
    keys = sub.add_parser("keys", help="the city's Ed25519 signing keys")
    actions = keys.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    generate = actions.add_parser("generate", help="write NAME.key (0600) and NAME.pub.jwk")
    generate.add_argument("name", metavar="NAME", help="the key's kid, e.g. alerts-2026")
    generate.add_argument("--out", type=Path, default=Path(), metavar="DIR")
    generate.set_defaults(func=cmd_keys_generate)

    sign = sub.add_parser("sign", help="print a message signed as a JWS")
    sign.add_argument("--key", type=Path, required=True, metavar="FILE.key")
    sign.add_argument("message", metavar="MESSAGE", help='a JSON or CAP file, or "-" for stdin')
    sign.set_defaults(func=cmd_sign)


def _add_studio_arguments(parser: argparse.ArgumentParser) -> None:
    # Here, not in agent/studio: the board's `run` builds this parser and must not load
    # the studio's package.
    parser.add_argument(
        "--listen", default="127.0.0.1:8765", metavar="HOST:PORT", help="default 127.0.0.1:8765"
    )
    parser.add_argument(
        "--save-dir", type=Path, metavar="DIR", help="where playlists are saved (default: here)"
    )
    parser.add_argument(
        "--layouts-dir", type=Path, metavar="DIR", help="offer this folder's layouts too"
    )
    parser.add_argument("--broker", metavar="HOST:PORT", help="allow publishing to this broker")
    parser.add_argument("--key", type=Path, metavar="FILE.key", help="sign what is published")
    parser.add_argument("--kid", help="the key's kid (checked against FILE.key's name)")
    parser.add_argument("--open", action="store_true", help="open the page in the browser")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="signage-agent", description="Edge agent for city LED/LCD information boards."
    )
    parser.add_argument("--version", action="version", version=f"signage-agent {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the agent (what systemd starts)")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH)
    run.add_argument("-v", "--verbose", action="store_true")
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser("demo", help="the whole agent on sample content, no broker needed")
    demo.add_argument("--state-dir", type=Path, help="keep the demo's state here")
    demo.add_argument("--seconds", type=float, help="stop after this many seconds")
    demo.add_argument("-v", "--verbose", action="store_true")
    demo.set_defaults(func=cmd_demo)

    preview = sub.add_parser("preview", help="draw a layout as the board will")
    preview.add_argument(
        "layout", nargs="?", help="a layout's name or file (default: the one the item names)"
    )
    preview.add_argument(
        "--content", type=Path, help="a playlist, one playlist item, or a JSON object of slots"
    )
    preview.add_argument("--size", default="1920x1080", help="WIDTHxHEIGHT (default 1920x1080)")
    preview.add_argument("--out", type=Path, help="write a PNG instead of opening a window")
    preview.add_argument("--watch", action="store_true", help="re-render when files change")
    preview.add_argument("--led", action="store_true", help="draw as LED dots")
    preview.add_argument(
        "--at",
        type=float,
        metavar="SECONDS",
        help="the still this many seconds after the item came on screen (scrolling text)",
    )
    preview.set_defaults(func=cmd_preview)

    studio = sub.add_parser("studio", help="a local web page to write and preview content")
    _add_studio_arguments(studio)
    studio.set_defaults(func=cmd_studio)

    validate = sub.add_parser("validate", help="check playlists, alerts, commands and configs")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.add_argument(
        "--config", type=Path, help="check signed files' signatures with this board's keys"
    )
    validate.add_argument(
        "--layouts-dir",
        type=Path,
        metavar="DIR",
        help="check playlists against these layouts too (a board's [display] layouts_dir)",
    )
    validate.set_defaults(func=cmd_validate)

    verify = sub.add_parser("verify", help="would a board with this config accept a message?")
    verify.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH)
    verify.add_argument("--topic", help="the topic it would come on (checks the key's scopes)")
    verify.add_argument("message", type=Path, metavar="MESSAGE")
    verify.set_defaults(func=cmd_verify)

    doctor = sub.add_parser("doctor", help="a technician's checks of this board")
    doctor.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH)
    doctor.set_defaults(func=cmd_doctor)

    schema = sub.add_parser("schema", help="JSON Schemas of the payloads and an AsyncAPI document")
    schema.add_argument("name", nargs="?", help="one payload: playlist, alert, heartbeat, …")
    schema.add_argument("--asyncapi", action="store_true", help="only the AsyncAPI document")
    schema.set_defaults(func=cmd_schema)

    _add_signing_commands(sub)
    return parser


def _never_fail_to_print() -> None:
    """Output redirected on Windows is in the ANSI code page (cp1252), which has no 'đ':
    a Vietnamese notice's problem must still be said, escaped, not end the command."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    _never_fail_to_print()
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()  # here, where a broken pipe is caught, not at exit
    except KeyboardInterrupt:
        return 130
    except NoZoneDatabase as exc:  # a laptop without tzdata: what to install, in one line
        print(f"signage-agent: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `schema --asyncapi | head`: the reader left; that is no error worth a traceback.
        # Point stdout at /dev/null so that the flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EX_BROKEN_PIPE
    except Exception as exc:
        # A user sees one sentence; the traceback goes to the log for the developers.
        log.debug("unexpected error", exc_info=True)
        print(f"signage-agent: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
