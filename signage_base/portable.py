"""What differs between the systems a preview or a check runs on (Linux boards; content
managers' Windows and macOS laptops): open flags only some systems have.

`os.O_NOFOLLOW`, `O_NONBLOCK`, `O_DIRECTORY` and `O_CLOEXEC` are POSIX; Windows has none
of them, and there `os.open` opens in text mode (CRLF turned into LF, Ctrl-Z taken as the
end) unless `O_BINARY` is given. A flag a system lacks counts as 0: what it guards against
(a FIFO that blocks, a link swapped in) has no equivalent there, or is checked otherwise.
"""

from __future__ import annotations

import os


def open_flags(*names: str) -> int:
    """The OR of the `os.O_*` flags named that this system has (the others are 0)."""
    flags = 0
    for name in names:
        flags |= getattr(os, name, 0)
    return flags


# Reading the bytes of a file: never blocking on a FIFO where FIFOs exist, binary wherever
# a text mode exists.
READ_FLAGS = os.O_RDONLY | open_flags("O_BINARY", "O_NONBLOCK", "O_CLOEXEC")
