"""What may go out through the outbox: the one place outbound size (64 KiB or the
broker's limit) and the board's own topics are enforced, for messages submitted and for
lines read back from the spool alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

log = logging.getLogger(__name__)

# Hard cap on any message through the outbox (the MQTT packet: payload, topic and header).
# A heartbeat is ~1 KiB and events are bounded to a few KiB (agent/messages.py), so only a
# bug can reach it; brokers and cellular links refuse or choke on large packets.
MAX_MESSAGE_BYTES = 64 * 1024
PACKET_OVERHEAD_BYTES = 16  # fixed header, topic length, packet id, properties length


def packet_bytes(topic: str, payload: bytes) -> int:
    """The size of the MQTT PUBLISH packet that carries `payload` on `topic`."""
    return len(payload) + len(topic.encode("utf-8", "surrogatepass")) + PACKET_OVERHEAD_BYTES


def topic_problem(topic: object, allowed: Collection[str] | None) -> str | None:
    """Why a message may not be published on `topic`, or None when it may."""
    if not isinstance(topic, str):
        return f"topic is {type(topic).__name__}, not text"
    if not topic:
        return "topic is empty"
    if "+" in topic or "#" in topic or "\0" in topic:
        return "topic contains a wildcard or NUL"
    if allowed is not None and topic not in allowed:
        return "topic is not one of the board's own outbound topics"
    return None


class SizeLimit:
    """The broker's limit on a message (`max_message_bytes()`: the hard cap, or less when
    the broker announced a smaller maximum packet size), and the count of messages
    dropped for it (`oversize`, since start): one message too large must not cost the
    connection."""

    def __init__(self, max_message_bytes: Callable[[], int] = lambda: MAX_MESSAGE_BYTES) -> None:
        self.max_message_bytes = max_message_bytes
        self.oversize = 0

    def too_large(self, topic: str, payload: bytes) -> bool:
        """Whether the message must be dropped; a dropped one is counted and logged."""
        size, limit = packet_bytes(topic, payload), self.max_message_bytes()
        if size <= limit:
            return False
        self.oversize += 1
        log.error(
            "outbox: dropped a %d-byte message for %s: the broker takes at most %d bytes "
            "(%d dropped so far, heartbeat mqtt.outbox_oversize)",
            size,
            topic,
            limit,
            self.oversize,
        )
        return True
