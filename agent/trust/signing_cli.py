"""`signage-agent keys generate NAME [--out DIR]` and `signage-agent sign --key FILE.key
MESSAGE` (CONTRACT §7): what the city's key holders run, on their own machine.

Exit status: 0 done; 2 a NAME or key file name that cannot be a kid; 65 a key file or a
message that is not what it must be (EX_DATAERR); 66 a file that cannot be read
(EX_NOINPUT); 73 key files that cannot be created, or exist already (EX_CANTCREAT).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, TextIO

from agent.trust.signing import (
    BadKeyFile,
    BadKeyName,
    BadMessage,
    CannotRead,
    CannotWrite,
    KeyFileExists,
    SigningRefused,
    generate_key_files,
    load_signing_key,
    read_message,
    read_message_from,
    sign_message,
)

EX_USAGE = 2
EX_DATAERR = 65
EX_NOINPUT = 66
EX_CANTCREAT = 73

_EXIT_STATUS: dict[type[SigningRefused], int] = {
    BadKeyName: EX_USAGE,
    BadKeyFile: EX_DATAERR,
    BadMessage: EX_DATAERR,
    CannotRead: EX_NOINPUT,
    CannotWrite: EX_CANTCREAT,
    KeyFileExists: EX_CANTCREAT,
}


def generate_keys(name: str, out_dir: Path, out: TextIO, err: TextIO) -> int:
    try:
        files = generate_key_files(name, out_dir)
    except SigningRefused as exc:
        return _refused(exc, err)
    print(f"private key {files.private} (mode 0600): keep it offline", file=out)
    print(f"public key  {files.public} (kid {name}): for the boards' [trust] keys", file=out)
    return 0


def sign(key_path: Path, message: str, stdin: BinaryIO, out: TextIO, err: TextIO) -> int:
    """Print the JWS of MESSAGE (a file, or "-" for stdin) signed with the key in
    `key_path`, whose file name without `.key` is the kid."""
    try:
        key = load_signing_key(key_path)
        payload = read_message_from(stdin) if message == "-" else read_message(Path(message))
        jws = sign_message(key, payload)
    except BadMessage as exc:
        return _refused(exc, err, f"refusing to sign {'stdin' if message == '-' else message}: ")
    except SigningRefused as exc:
        return _refused(exc, err)
    print(jws, file=out)
    return 0


def _refused(exc: SigningRefused, err: TextIO, prefix: str = "") -> int:
    print(f"signage-agent: {prefix}{exc}", file=err)
    for problem in exc.problems:
        print(f"  {problem}", file=err)
    return _EXIT_STATUS[type(exc)]
