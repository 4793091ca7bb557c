"""Signals: SIGTERM and SIGINT stop the agent, SIGHUP reads the layouts again.

A handler runs between two bytecodes of the main thread, which may be holding the core
queue's lock at that moment: so a handler never puts on the queue itself, it hands its
message to a short-lived thread (`hand_over`), and the loop acts on it in its own turn.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Callable
from types import FrameType

from agent.core_queue import CoreMessage, Reload

log = logging.getLogger(__name__)


def hand_over(inbox: queue.Queue[CoreMessage], message: CoreMessage) -> None:
    """Put `message` on the core's queue from a thread of its own (safe in a handler)."""
    threading.Thread(target=inbox.put, args=(message,), daemon=True).start()


def install_handlers(inbox: queue.Queue[CoreMessage], stop: Callable[[], None]) -> None:
    """SIGTERM, SIGINT: `stop` (which must only set flags and hand over); SIGHUP, where
    the system has it: `Reload`."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop()

    def on_hangup(_signum: int, _frame: FrameType | None) -> None:
        hand_over(inbox, Reload())

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Windows has no SIGHUP: there the layouts are read again by the `reload` command.
    hangup = getattr(signal, "SIGHUP", None)
    if hangup is not None:
        signal.signal(hangup, on_hangup)
