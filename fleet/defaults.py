"""The fleet's defaults and exit codes, in a module that imports nothing: the command
line reads them where the [fleet] extra may be missing."""

from __future__ import annotations

from typing import Final

DEFAULT_DB_URL: Final = "sqlite:///signage-fleet.db"  # a file in the working directory
DEFAULT_LISTEN: Final = "127.0.0.1:8080"
DEFAULT_ROOT: Final = "signage/v1"  # the boards' topic_root

# Exit codes (sysexits.h where one fits), one table for every subcommand.
EX_OK: Final = 0
EX_NOT_OK: Final = 1  # publish --wait: the board answered, and its result says not ok
EX_USAGE: Final = 2
EX_DATAERR: Final = 65  # the input (a message, a password file) is not acceptable
EX_NOINPUT: Final = 66  # an input file cannot be read
EX_UNAVAILABLE: Final = 69  # a broker or database cannot be reached, or refuses
EX_TEMPFAIL: Final = 75  # publish --wait: no result in time
