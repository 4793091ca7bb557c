"""The options of `signage-fleet publish` (kept apart from fleet/publish.py so that the
command line's `--help` loads no validator)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from fleet.defaults import DEFAULT_ROOT

KINDS: Final = (
    "playlist",
    "alert",
    "cancel",
    "clear",
    "layout",
    "assignment",
    "command",
    "keyring",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("file", help="the message file (- for standard input; clear -: none)")
    parser.add_argument(
        "--to",
        metavar="TARGET",
        help="content/alerts: city, district/D, commune/D/C, board/B, group/G; "
        "assignment/command: board/B; layout: its name; clear -: content/T, alert/T/ID, layout/N",
    )
    parser.add_argument("--key", metavar="FILE.key", help="sign with this key (kid = NAME)")
    parser.add_argument("--broker", required=True, metavar="HOST:PORT")
    parser.add_argument("--root", default=DEFAULT_ROOT, help="the topic root (topic_root)")
    parser.add_argument("--bump", action="store_true", help="raise the version above the held one")
    parser.add_argument(
        "--wait", action="store_true", help="command: wait for and print its result"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="--wait: seconds (default 30)"
    )
    parser.add_argument(
        "--layouts-dir", type=Path, metavar="DIR", help="playlist: also these layout files"
    )
    parser.add_argument("--username", help="MQTT user name")
    parser.add_argument("--password-file", type=Path, metavar="FILE", help="MQTT password")
